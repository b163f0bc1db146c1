import { expect } from 'chai';
import { createCache, type GroupCache } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { type RedisClient, redisStore, tieredStore } from 'group-cache/redis';
import { express, getRaw, request, serve } from '../../helpers/express-app.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import {
  CLIENT_KINDS,
  type RedisServer,
  startRedisOrSkip,
  type TestClient,
  uniquePrefix,
  waitClientReady,
  waitReady,
} from '../../helpers/redis-server.js';
import { startProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

/*
 * Invariant 8 for a Redis that comes back older than the state the fleet wrote to: restarted from a snapshot taken
 * before a write, or a failover to a replica that missed the write. The write's expiry record is gone while the
 * entry and the epoch it doomed are back; every instance, one started after it happened included, must read the
 * entry as expired.
 */

interface Instance {
  url: string;
  cache: GroupCache;
  close(): Promise<void>;
}

/** The application's data: what a GET answers, and what a PUT writes. */
interface Db {
  name: string;
}

async function instance(client: RedisClient, prefix: string, db: Db, tiered = false): Promise<Instance> {
  const redis = redisStore({ client, prefix });
  const store = tiered ? tieredStore({ redis, strict: true }) : redis;
  const cache = createCache({ store, storeTimeout: 1_000, ttl: 60_000 });
  // Redis is killed on purpose here: the outage is reported, and that is not what these tests look at.
  cache.on('error', () => {});
  const app = express();
  app.use(express.json());
  app.use(expireGroups({ cache }));
  app.get(
    '/users/1',
    groupCache(() => ({ key: 'user_1', groups: ['user_group_1', 'users'] }), { cache }),
    (_req, res) => void res.json({ name: db.name }),
  );
  app.put('/users/1', (req, res) => {
    db.name = String(req.body.name);
    res.locals.expireGroups = ['user_group_1'];
    res.json({ ok: true });
  });
  const served = await serve(app);
  return {
    url: served.url,
    cache,
    async close() {
      await served.close();
      await cache.close();
    },
  };
}

async function read(target: Instance): Promise<[string, string | undefined]> {
  const res = await getRaw(target.url, '/users/1');
  expect(res.status).to.equal(200);
  return [(JSON.parse(res.body.toString()) as Db).name, res.headers['x-cache'] as string | undefined];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Until the instance's store took its fill (stored after the response finished, so after its client has it).
async function storedBy(target: Instance, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (target.cache.stats().stores < 1) {
    if (Date.now() > deadline) throw new Error('the fill was not stored');
    await sleep(5);
  }
}

// Reads until a read is answered through the store (its clients reconnect on their own), then answers that read.
async function readOnceBack(target: Instance, ms = 15_000): Promise<[string, string | undefined]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const errors = target.cache.stats().errors;
    const answer = await read(target);
    // A lookup the store failed is reported and served uncached.
    if ((answer[1] === 'HIT' || answer[1] === 'MISS') && target.cache.stats().errors === errors) return answer;
    if (Date.now() > deadline) throw new Error('the store did not answer again');
    await sleep(50);
  }
}

// The write, then the instances read it, so that the entry the snapshot holds is the only copy of the old data.
async function writeAndSee(writer: Instance, readers: readonly Instance[]): Promise<void> {
  expect((await request(writer.url).put('/users/1').send({ name: 'v1' })).status).to.equal(200);
  for (const reader of readers) expect((await read(reader))[0]).to.equal('v1');
}

for (const kind of CLIENT_KINDS) {
  describe(`Redis store: a Redis that comes back older than the fleet's writes (${kind})`, function () {
    this.timeout(60_000);
    const redis = useRedis(true);
    let db: Db;

    const client = (on?: RedisServer): Promise<TestClient> => redis.connect(kind, {}, on);
    const start = async (prefix: string, tiered = false, on?: RedisServer): Promise<Instance> =>
      redis.closeAfterEach(await instance((await client(on)).client, prefix, db, tiered));

    beforeEach(() => {
      db = { name: 'v0' };
    });

    // The fill's entry is written and its lock released after its response: wait for both before a snapshot.
    async function settled(prefix: string): Promise<void> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const entry = await redis.client.call('EXISTS', `${prefix}e:k:user_1`);
        const locks = (await redis.client.call('KEYS', `${prefix}lock:*`)) as unknown[];
        if (entry === 1 && locks.length === 0) return;
        if (Date.now() > deadline) throw new Error('the fill did not settle');
        await sleep(10);
      }
    }

    async function restartFromSnapshot(): Promise<void> {
      await redis.server.kill();
      await redis.server.restart();
      await waitReady(redis.client, 15_000);
    }

    it('restarted from a snapshot taken before a write: no instance serves the pre-write entry, one started after the restart included', async () => {
      const prefix = uniquePrefix('snapshot');
      const a = await start(prefix);
      const b = await start(prefix);
      expect(await read(a)).to.deep.equal(['v0', 'MISS']);
      await storedBy(a);
      expect(await read(b)).to.deep.equal(['v0', 'HIT']);
      await settled(prefix);
      // The periodic snapshot, taken before the write.
      expect(await redis.client.call('SAVE')).to.equal('OK');
      await writeAndSee(a, [a, b]);
      expect(await read(b)).to.deep.equal(['v1', 'HIT']);
      await restartFromSnapshot();
      // The entry of v0 is back, its group's expiry record is not.
      expect(await redis.client.call('EXISTS', `${prefix}e:k:user_1`)).to.equal(1);
      // The first to reach Redis after the restart is an instance that never saw it before.
      const late = await start(prefix);
      expect((await readOnceBack(late))[0], 'an instance started after the restart').to.equal('v1');
      expect((await readOnceBack(a))[0], 'instance A').to.equal('v1');
      expect((await readOnceBack(b))[0], 'instance B').to.equal('v1');
      expect(await read(b), 'filled again after the restart').to.deep.equal(['v1', 'HIT']);
    });

    it('restarted from a snapshot: a lookup from an instance that was running all along is the first to see it', async () => {
      const prefix = uniquePrefix('snapshot-running');
      const a = await start(prefix);
      const b = await start(prefix);
      await read(a);
      await settled(prefix);
      expect(await redis.client.call('SAVE')).to.equal('OK');
      await writeAndSee(b, [a, b]);
      await restartFromSnapshot();
      expect((await readOnceBack(b))[0]).to.equal('v1');
      expect((await readOnceBack(a))[0]).to.equal('v1');
    });

    it('restarted from a snapshot: strict tiered stores serve no pre-write copy, from their tier or from Redis', async () => {
      const prefix = uniquePrefix('snapshot-tiered');
      const a = await start(prefix, true);
      const b = await start(prefix, true);
      expect((await read(a))[0]).to.equal('v0');
      expect((await read(b))[0]).to.equal('v0');
      await settled(prefix);
      expect(await redis.client.call('SAVE')).to.equal('OK');
      await writeAndSee(a, [a, b]);
      await restartFromSnapshot();
      const late = await start(prefix, true);
      for (const [name, target] of [
        ['late', late],
        ['A', a],
        ['B', b],
      ] as const) {
        expect((await readOnceBack(target))[0], name).to.equal('v1');
        expect((await read(target))[0], name).to.equal('v1');
      }
    });

    it('a restart that loses nothing only costs a miss: the next fill is stored and served', async () => {
      const prefix = uniquePrefix('snapshot-whole');
      const a = await start(prefix);
      await read(a);
      await settled(prefix);
      expect(await redis.client.call('SAVE')).to.equal('OK');
      await restartFromSnapshot();
      expect(await readOnceBack(a)).to.deep.equal(['v0', 'MISS']);
      expect(await read(a)).to.deep.equal(['v0', 'HIT']);
    });

    it('a fill lock that came back with a snapshot holds nothing: it is taken over at once', async () => {
      const prefix = uniquePrefix('snapshot-lock');
      const holder = redisStore({ client: (await client()).client, prefix });
      expect(await holder.lockFill('k:a', 30_000)).to.be.a('string');
      expect(await redis.client.call('SAVE')).to.equal('OK');
      await restartFromSnapshot();
      const other = await client();
      await waitClientReady(other, 15_000);
      const store = redisStore({ client: other.client, prefix });
      expect(await redis.client.call('EXISTS', `${prefix}lock:k:a`), 'the lock is back').to.equal(1);
      const token = await store.lockFill('k:a', 30_000);
      expect(token, 'taken over').to.be.a('string');
      expect(await store.lockFill('k:a', 30_000), 'then held as usual').to.equal(undefined);
      await store.unlockFill('k:a', token as string);
      expect(await redis.client.call('EXISTS', `${prefix}lock:k:a`)).to.equal(0);
    });

    describe('failover to a replica that missed the write', () => {
      let replica: RedisServer;
      let master: RedisServer;
      let proxy: TcpProxy;

      beforeEach(async function () {
        master = await startRedisOrSkip(this, true);
        replica = await startRedisOrSkip(this, true);
        proxy = await startProxy(master.port);
        const follower = await client(replica);
        await follower.command('REPLICAOF', '127.0.0.1', String(master.port));
      });

      afterEach(async () => {
        await proxy?.close();
        await master?.stop();
        await replica?.stop();
      });

      it('the replica is promoted with the entry and without the expiry: every instance reads it as expired', async () => {
        const prefix = uniquePrefix('failover');
        // The application reaches Redis through one address that follows the master (Sentinel, a virtual IP).
        const via: RedisServer = { ...master, url: proxy.url, port: proxy.port };
        const onMaster = await client(master);
        const onReplica = await client(replica);
        const a = await start(prefix, false, via);
        const b = await start(prefix, false, via);
        expect(await read(a)).to.deep.equal(['v0', 'MISS']);
        // A's entry is stored once its response finished: B reads after it landed (a loaded CI host once read first).
        await storedBy(a);
        expect(await read(b)).to.deep.equal(['v0', 'HIT']);
        const deadline = Date.now() + 15_000;
        while (
          (await onMaster.command('EXISTS', `${prefix}e:k:user_1`)) !== 1 ||
          ((await onMaster.command('KEYS', `${prefix}lock:*`)) as unknown[]).length > 0
        ) {
          if (Date.now() > deadline) throw new Error('the fill did not settle');
          await sleep(10);
        }
        // The replica holds the entry (WAIT: it acknowledged every write so far)...
        while (Number(await onMaster.command('WAIT', '1', '1000')) < 1) {
          if (Date.now() > deadline) throw new Error('the replica did not sync');
        }
        // ...then stops receiving: it is frozen and its link dropped, so the write reaches the master alone.
        replica.pause();
        await onMaster.command('CLIENT', 'KILL', 'TYPE', 'replica');
        await writeAndSee(a, [a, b]);
        await master.kill();
        replica.resume();
        await waitClientReady(onReplica, 15_000);
        expect(await onReplica.command('REPLICAOF', 'NO', 'ONE')).to.equal('OK');
        expect(await onReplica.command('EXISTS', `${prefix}e:k:user_1`), 'the replica holds the old entry').to.equal(1);
        proxy.target(replica.port);
        const late = await start(prefix, false, via);
        expect((await readOnceBack(late))[0], 'an instance started after the failover').to.equal('v1');
        expect((await readOnceBack(a))[0], 'instance A').to.equal('v1');
        expect((await readOnceBack(b))[0], 'instance B').to.equal('v1');
      });
    });
  });
}
