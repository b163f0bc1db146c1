import { expect } from 'chai';
import express from 'express';
import { type CacheOptions, createCache, type GroupCache } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { redisStore } from 'group-cache/redis';
import { type Cluster, Redis } from 'ioredis';
import { expressDriver } from '../../drivers/express.js';
import { adapterConformance } from '../../helpers/adapter-conformance.js';
import { entryStoredNow } from '../../helpers/entries.js';
import { connectCluster, sharedCluster } from '../../helpers/redis-cluster.js';
import { uniquePrefix } from '../../helpers/redis-server.js';
import { storeConformance } from '../../helpers/store-conformance.js';

// One cluster (3 masters, 3 replicas) for the whole file: the store suite, the adapter table and the failover test.
// Every node runs on this machine, on one clock, so the stores here allow no clock skew (clockSkew: 0) except where
// a test is about the skew.
// The three blocks below share it; the last to finish stops it.
const shared = sharedCluster(3);

// Counts the CROSSSLOT errors any cluster client of this file saw (there must be none).
const crossSlot: string[] = [];
function watch(cache: GroupCache): void {
  cache.on('error', (error: unknown) => {
    if (error instanceof Error && /CROSSSLOT/.test(error.message)) crossSlot.push(error.message);
  });
}

describe('Redis Cluster', function () {
  this.timeout(60_000);

  storeConformance('redisStore on Redis Cluster (ioredis Cluster)', {
    async setup(context) {
      await shared.open(context);
    },
    create(options) {
      const store = redisStore({ client: shared.client, prefix: uniquePrefix('cluster'), clockSkew: 0, ...options });
      return { store, records: () => store.records(), cleanup: async () => void (await store.clear()) };
    },
    teardown: shared.release,
  });

  adapterConformance(expressDriver('Express 5', express), {
    label: 'redisStore on Redis Cluster',
    async setup(context) {
      await shared.open(context);
    },
    makeCache(options: CacheOptions): GroupCache {
      const store = redisStore({ client: shared.client, prefix: uniquePrefix('cluster-table'), clockSkew: 0 });
      const cache = createCache({ ...options, store });
      watch(cache);
      return cache;
    },
    async disposeCache(cache) {
      await cache.clear();
      await cache.close();
    },
    teardown: shared.release,
  });

  describe('layout, clock and failover', () => {
    let redis: Cluster;
    before(async function () {
      redis = await shared.open(this);
    });
    after(shared.release);

    it('spreads group records over several slots, and one entry with tags in many buckets is invalidated by any', async () => {
      const prefix = uniquePrefix('spread');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      const groups = Array.from({ length: 40 }, (_, i) => `g:spread-${i}`);
      const { stamp } = await store.get('k:spread');
      expect(await store.set('k:spread', entryOf(stamp, ['k:spread', ...groups]))).to.equal(true);
      await store.expire(groups.slice(0, 39));
      // The records of 39 groups sit in several buckets, on more than one master.
      const slots = new Set<number>();
      const masters = new Set<string>();
      for (let n = 0; n < 16; n++) {
        if ((await redis.zcard(`{${prefix}${n}}r`)) > 1) {
          const slot = Number(await redis.cluster('KEYSLOT', `{${prefix}${n}}r`));
          slots.add(slot);
          masters.add(String((await shared.cluster.masterOf(slot)).port));
        }
      }
      expect(slots.size).to.be.greaterThan(4);
      expect(masters.size).to.be.greaterThan(1);
      // Fill again after the expiry, then expire only the last group: its record's bucket alone says so.
      const again = await store.get('k:spread');
      expect(again.expiredAt).to.be.at.least(again.entry!.startedAt);
      expect(await store.set('k:spread', entryOf(again.stamp, ['k:spread', ...groups]))).to.equal(true);
      const fresh = await store.get('k:spread');
      expect(fresh.expiredAt).to.be.below(fresh.entry!.startedAt);
      await store.expire(['g:spread-39']);
      const stale = await store.get('k:spread');
      expect(stale.expiredAt).to.be.at.least(stale.entry!.startedAt);
      await store.clear();
    });

    it('a bucket that lost its records (its epoch gone) reads as "everything before now expired" for its tags only', async () => {
      const prefix = uniquePrefix('lost');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      // Two entries, each with one group in a different bucket.
      const [a, b] = twoBuckets(prefix);
      for (const [id, group] of [
        ['k:lost-a', a],
        ['k:lost-b', b],
      ] as const) {
        const { stamp } = await store.get(id);
        expect(await store.set(id, entryOf(stamp, [group]))).to.equal(true);
      }
      // The bucket of a loses its records (as a node restarted empty would): no record, no epoch.
      await redis.unlink(`{${prefix}${bucketNumber(prefix, a)}}r`);
      const lostA = await store.get('k:lost-a');
      expect(lostA.entry).to.not.equal(undefined);
      expect(lostA.expiredAt, 'an entry tagged in the lost bucket reads as invalidated').to.be.at.least(lostA.entry!.startedAt);
      const keptB = await store.get('k:lost-b');
      expect(keptB.expiredAt, 'the other bucket is untouched').to.be.below(keptB.entry!.startedAt);
      await store.clear();
    });

    it('with a clock skew allowed, an expiry is stamped that far ahead: a fill dated by a node whose clock runs ahead still loses to it', async () => {
      // The same sequence on a store that allows a 5 s skew and on one that allows none; the epochs of both
      // prefixes are made first by a store with no skew, so that only the expiry's stamp differs.
      const run = async (clockSkew: number): Promise<boolean> => {
        const prefix = uniquePrefix(`skew-${clockSkew}`);
        await redisStore({ client: redis, prefix, clockSkew: 0 }).get('k:skew');
        const store = redisStore({ client: redis, prefix, clockSkew });
        const { stamp } = await store.get('k:skew');
        await store.expire(['g:skew']);
        // The fill is dated 4 s ahead, as by a node whose clock runs 4 s ahead of the group's node.
        const stored = await store.set('k:skew', entryOf(stamp + 4_000_000, ['g:skew', 'k:skew']));
        await store.clear();
        return stored;
      };
      expect(await run(5_000), 'the expiry after the fill started dooms it').to.equal(false);
      expect(await run(0), 'control: with no skew allowed, the fill dated ahead survives the expiry').to.equal(true);
    });

    it('set() checks the records of the buckets other than its own, and a lookup reads them again', async () => {
      const prefix = uniquePrefix('remote');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      // A group that lives in another bucket than the entry.
      const id = 'k:remote';
      let group = 'g:remote-0';
      for (let i = 1; bucketNumber(prefix, group) === bucketNumber(prefix, id); i++) group = `g:remote-${i}`;
      const { stamp } = await store.get(id);
      await store.expire([group]);
      expect(await store.set(id, entryOf(stamp, [group, id])), 'refused by the other bucket').to.equal(false);
      expect((await store.get(id)).entry, 'nothing written').to.equal(undefined);
      // An entry stored, then its group expired in the other bucket: the lookup reads that bucket too.
      const later = await store.get(id);
      expect(await store.set(id, entryOf(later.stamp, [group, id]))).to.equal(true);
      await store.expire([group]);
      const read = await store.get(id);
      expect(read.expiredAt).to.be.at.least(read.entry!.startedAt);
      await store.clear();
    });

    it('waitReplicas: an expiry its connected replica has not acknowledged fails (and is retried by the cache), instead of being lost by a failover', async () => {
      const prefix = uniquePrefix('wait');
      const store = redisStore({ client: redis, prefix, clockSkew: 0, waitReplicas: 1, replicaTimeout: 200 });
      const loose = redisStore({ client: redis, prefix, clockSkew: 0 });
      await store.expire(['g:wait']);
      const slot = Number(await redis.cluster('KEYSLOT', `{${prefix}${bucketNumber(prefix, 'g:wait')}}r`));
      const replica = await shared.cluster.replicaOf(await shared.cluster.masterOf(slot));
      replica.pause();
      try {
        let failed: unknown;
        await store.expire(['g:wait']).catch((error: unknown) => {
          failed = error;
        });
        expect(String(failed)).to.match(/reached 0 of 1 replicas/);
        // Control: without waitReplicas the same expiry answers.
        expect(await loose.expire(['g:wait'])).to.be.a('number');
      } finally {
        replica.resume();
      }
      await store.clear();
    });

    it('a hit runs one script on its own bucket and one per other bucket of its tags, nothing else', async () => {
      const prefix = uniquePrefix('trips');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      const scripts = async (): Promise<number> => {
        let calls = 0;
        for (const node of redis.nodes('master')) {
          const stats = await node.info('commandstats');
          for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
        }
        return calls;
      };
      const id = 'k:trips';
      const home = bucketNumber(prefix, id);
      const elsewhere: string[] = [];
      for (let i = 0; elsewhere.length < 2; i++) {
        const group = `g:trips-${i}`;
        const n = bucketNumber(prefix, group);
        if (n !== home && !elsewhere.some((other) => bucketNumber(prefix, other) === n)) elsewhere.push(group);
      }
      const { stamp } = await store.get(id);
      expect(await store.set(id, entryOf(stamp, [id, ...elsewhere]))).to.equal(true);
      await store.get(id);
      const before = await scripts();
      const hit = await store.get(id);
      expect(hit.expiredAt).to.be.below(hit.entry!.startedAt);
      expect((await scripts()) - before, 'the entry bucket, then the two other buckets').to.equal(3);
      const local = 'k:trips-local';
      const { stamp: again } = await store.get(local);
      expect(await store.set(local, entryOf(again, [local]))).to.equal(true);
      const alone = await scripts();
      await store.get(local);
      expect((await scripts()) - alone, 'tags all in its own bucket: one script').to.equal(1);
      await store.clear();
    });

    it('a prefix holding a hash tag is refused on a cluster (the store places its keys itself)', () => {
      expect(() => redisStore({ client: redis, prefix: '{gc}:' })).to.throw(TypeError, /prefix/);
    });

    it('no script raised CROSSSLOT in the adapter table', () => {
      expect(crossSlot).to.deep.equal([]);
    });

    it('waitReplicas after a failover the client has not seen: the expiry follows the MOVED to the new master', async function () {
      this.timeout(60_000);
      const prefix = uniquePrefix('moved');
      // A client of its own, whose slot map this test makes stale.
      const own = await connectCluster(shared.cluster);
      try {
        const store = redisStore({ client: own, prefix, clockSkew: 0, waitReplicas: 1, replicaTimeout: 500 });
        expect(await store.expire(['g:moved'])).to.be.a('number');
        const slot = Number(await own.cluster('KEYSLOT', `{${prefix}${bucketNumber(prefix, 'g:moved')}}r`));
        const master = await shared.cluster.masterOf(slot);
        const replica = await shared.cluster.replicaOf(master);
        // A graceful manual failover: the replica becomes the master, the old master its replica. Nothing this
        // client sends learns of it but a MOVED.
        const direct = new Redis({ host: '127.0.0.1', port: replica.port, lazyConnect: true });
        try {
          await direct.connect();
          await direct.cluster('FAILOVER');
        } finally {
          direct.disconnect();
        }
        const deadline = Date.now() + 20_000;
        while ((await shared.cluster.masterOf(slot)).port !== replica.port) {
          if (Date.now() > deadline) throw new Error('the manual failover did not happen');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await shared.cluster.waitOk(20_000);
        // The expiry's pipeline (script, ROLE, WAIT) goes to the old master first, whose MOVED is followed.
        expect(await store.expire(['g:moved'])).to.be.a('number');
        await store.clear();
      } finally {
        own.disconnect();
      }
    });

    it('failover to a replica that missed an expiry (its link cut before the write): the entry reads as expired', async function () {
      this.timeout(90_000);
      const prefix = uniquePrefix('lagging');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      // The entry lives in the bucket of its own group: the promoted replica then holds the entry, its epoch and
      // none of the expiry, everything a lookup reads.
      const group = 'g:lagging';
      const bucket = bucketNumber(prefix, group);
      let id = '';
      for (let i = 0; bucketNumber(prefix, id) !== bucket || id === ''; i++) id = `k:lagging-${i}`;
      const { stamp } = await store.get(id);
      expect(await store.set(id, entryOf(stamp, [group]))).to.equal(true);
      const slot = Number(await redis.cluster('KEYSLOT', `{${prefix}${bucket}}r`));
      const victim = await shared.cluster.masterOf(slot);
      const replica = await shared.cluster.replicaOf(victim);
      const direct = new Redis({ host: '127.0.0.1', port: victim.port, lazyConnect: true });
      direct.on('error', () => {});
      try {
        await direct.connect();
        // The replica has every write so far...
        const deadline = Date.now() + 20_000;
        while (Number(await direct.wait(1, 1_000)) < 1) {
          if (Date.now() > deadline) throw new Error('the replica did not acknowledge');
        }
        // ...then receives nothing more: frozen, its link cut, so the expiry reaches the master alone.
        replica.pause();
        await direct.client('KILL', 'TYPE', 'replica');
        expect(await store.expire([group])).to.be.a('number');
        expect((await store.get(id)).expiredAt, 'expired on the master').to.be.at.least(stamp);
      } finally {
        direct.disconnect();
      }
      await victim.kill();
      replica.resume();
      try {
        await shared.cluster.waitOk(30_000);
        const deadline = Date.now() + 30_000;
        while ((await shared.cluster.masterOf(slot, 30_000)).port !== replica.port) {
          if (Date.now() > deadline) throw new Error('the replica did not take over');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await readsExpired();
      } finally {
        // Leave the cluster whole: the old master comes back empty, as the new master's replica.
        if (!victim.alive()) await victim.restart();
      }
      await shared.cluster.waitOk(30_000);
      expect((await shared.cluster.replicaOf(replica)).port).to.equal(victim.port);
      const synced = Date.now() + 30_000;
      while (
        !(
          await redis
            .nodes('master')
            .find((node) => node.options.port === replica.port)
            ?.info('replication')
        )?.includes('state=online')
      ) {
        if (Date.now() > synced) throw new Error('the old master did not sync as a replica');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await store.clear();

      async function readsExpired(): Promise<void> {
        let lookup: Awaited<ReturnType<typeof store.get>> | undefined;
        for (let tries = 0; lookup === undefined; tries++) {
          lookup = await store.get(id).catch(async (error: unknown) => {
            if (tries > 100) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
            return undefined;
          });
        }
        expect(lookup.entry, 'the promoted replica holds the entry').to.not.equal(undefined);
        expect(lookup.expiredAt, 'read as expired, never as fresh').to.be.at.least(lookup.entry!.startedAt);
      }
    });

    it('a master restarted empty (its replica paused, so none takes over): entries tagged in its buckets read as invalidated, over HTTP too', async function () {
      this.timeout(60_000);
      const prefix = uniquePrefix('restart');
      const store = redisStore({ client: redis, prefix, clockSkew: 0 });
      const cache = createCache({ store, storeTimeout: 1_000, ttl: 60_000 });
      cache.on('error', () => {});
      // The victim serves the bucket of the group 'g:doomed'; the entries themselves live on other masters, so that
      // they survive and only their group's record is lost with the node.
      const slotOf = async (n: number): Promise<number> => Number(await redis.cluster('KEYSLOT', `{${prefix}${n}}r`));
      const victim = await shared.cluster.masterOf(await slotOf(bucketNumber(prefix, 'g:doomed')));
      // A name whose tag (`k:` a key, `g:` a group) lives in a bucket another master serves.
      const elsewhere = async (kind: 'k' | 'g', base: string): Promise<string> => {
        for (let i = 0; ; i++) {
          const name = `${base}-${i}`;
          if ((await shared.cluster.masterOf(await slotOf(bucketNumber(prefix, `${kind}:${name}`)))).port !== victim.port)
            return name;
        }
      };
      const doomedKey = await elsewhere('k', 'doomed');
      const keptKey = await elsewhere('k', 'kept');
      const keptGroup = await elsewhere('g', 'kept-group');
      let version = 0;
      const app = express();
      app.get(
        '/doomed',
        groupCache(() => ({ key: doomedKey, groups: ['doomed'] }), { cache }),
        (_req, res) => void res.json({ version }),
      );
      app.get(
        '/kept',
        groupCache(() => ({ key: keptKey, groups: [keptGroup] }), { cache }),
        (_req, res) => void res.json({ version }),
      );
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const address = server.address();
      const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      const read = async (path: string): Promise<[number, string | null]> => {
        const response = await fetch(`${base}${path}`);
        const body = (await response.json()) as { version: number };
        return [body.version, response.headers.get('x-cache')];
      };
      const replica = await shared.cluster.replicaOf(victim);
      try {
        expect(await read('/doomed')).to.deep.equal([0, 'MISS']);
        expect(await read('/kept')).to.deep.equal([0, 'MISS']);
        expect(await read('/doomed')).to.deep.equal([0, 'HIT']);
        // The data changes while the victim is away; nothing expires a group (the write's expiry is what was lost).
        replica.pause();
        await victim.kill();
        version = 1;
        await victim.restart();
        await shared.cluster.waitOk(30_000);
        // The restarted node is empty: the group's record and its bucket's epoch are gone.
        const doomedBucket = `{${prefix}${bucketNumber(prefix, 'g:doomed')}}r`;
        let records = -1;
        for (let tries = 0; records < 0 && tries < 100; tries++)
          records = await redis.zcard(doomedBucket).catch(async () => {
            await new Promise((resolve) => setTimeout(resolve, 100));
            return -1;
          });
        expect(records, 'the victim came back without its records').to.equal(0);
        // The entry itself survived on its own master: the lost bucket alone makes it read as invalidated.
        const lookup = await store.get(`k:${doomedKey}`);
        expect(lookup.entry, 'the entry is still held').to.not.equal(undefined);
        expect(lookup.expiredAt, 'read as "everything before now expired"').to.be.at.least(lookup.entry!.startedAt);
        expect(await read('/doomed'), 'no copy from before the loss').to.deep.equal([1, 'MISS']);
        expect(await read('/kept'), 'control: a group on another master keeps its entry').to.deep.equal([0, 'HIT']);
        expect(await read('/doomed'), 'filled again after the loss').to.deep.equal([1, 'HIT']);
      } finally {
        replica.resume();
        await new Promise((resolve) => server.close(resolve));
        await cache.clear().catch(() => undefined);
        await cache.close();
      }
      // Leave the cluster whole for the tests after this one: the replica copies its (empty) master again.
      await shared.cluster.waitOk(30_000);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const info = await redis
          .nodes('master')
          .find((node) => node.options.port === victim.port)
          ?.info('replication');
        if (info?.includes('state=online')) break;
        if (Date.now() > deadline) throw new Error('the replica of the restarted master did not sync again');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    it('failover: a master is killed while traffic runs; no request fails, and no invalidated copy is served afterwards', async function () {
      this.timeout(70_000);
      const prefix = uniquePrefix('failover');
      const store = redisStore({ client: redis, prefix, clockSkew: 0, waitReplicas: 1, replicaTimeout: 500 });
      const cache = createCache({ store, storeTimeout: 1_000, ttl: 60_000 });
      watch(cache);
      const errors: unknown[] = [];
      cache.on('error', (error: unknown) => errors.push(error));
      let version = 0;
      const app = express();
      app.use(expireGroups({ cache }));
      for (let i = 0; i < 8; i++) {
        app.get(
          `/item/${i}`,
          groupCache(() => ({ key: `item_${i}`, groups: ['items', `item_${i}`] }), { cache }),
          (_req, res) => {
            res.json({ i, version });
          },
        );
      }
      app.post('/write', (_req, res) => {
        version++;
        res.locals.expireGroups = ['items'];
        res.json({ version });
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const address = server.address();
      const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      const failures: string[] = [];
      const stale: string[] = [];
      let writes = 0;
      // Each round: a write (its answer is awaited), then every item is read and must show that write or a later one.
      const round = async (): Promise<void> => {
        const written = await fetch(`${base}/write`, { method: 'POST' });
        if (written.status !== 200) {
          // A write whose expiry could not be made durable answers 503: allowed, and it says so.
          if (written.status !== 503) failures.push(`write answered ${written.status}`);
          return;
        }
        const { version: seen } = (await written.json()) as { version: number };
        writes++;
        await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            const response = await fetch(`${base}/item/${i}`);
            if (response.status !== 200) {
              failures.push(`read answered ${response.status}`);
              return;
            }
            const body = (await response.json()) as { version: number };
            if (body.version < seen)
              stale.push(`item ${i}: version ${body.version} after write ${seen} (${response.headers.get('x-cache')})`);
          }),
        );
      };
      try {
        for (let r = 0; r < 5; r++) await round();
        // Kill the master of the bucket that holds the 'items' record, while rounds keep running.
        const itemsBucket = bucketNumber(prefix, 'g:items');
        const slot = Number(await redis.cluster('KEYSLOT', `{${prefix}${itemsBucket}}r`));
        const victim = await shared.cluster.masterOf(slot);
        let running = true;
        const traffic = (async () => {
          while (running) await round();
        })();
        await victim.kill();
        await shared.cluster.waitOk(20_000);
        // Traffic goes on until a write lands on the new master and reads follow it.
        const landed = writes;
        const deadline = Date.now() + 30_000;
        while (writes < landed + 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        running = false;
        await traffic;
        for (let r = 0; r < 5; r++) await round();
        expect(writes, 'writes landed after the failover').to.be.at.least(landed + 5);
        expect(failures).to.deep.equal([]);
        expect(stale).to.deep.equal([]);
        expect(crossSlot).to.deep.equal([]);
        expect(errors.length, 'the outage was reported').to.be.greaterThan(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
        await cache.close();
      }
    });
  });
});

function entryOf(startedAt: number, tags: string[]) {
  return entryStoredNow(startedAt, tags);
}

// The bucket a tag lives in, as the store computes it (FNV-1a over the tag, 16 buckets).
function bucketNumber(_prefix: string, tag: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tag.length; i++) {
    hash ^= tag.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 16;
}

function twoBuckets(prefix: string): [string, string] {
  const first = 'g:lost-0';
  for (let i = 1; ; i++) {
    const other = `g:lost-${i}`;
    if (bucketNumber(prefix, other) !== bucketNumber(prefix, first)) return [first, other];
  }
}
