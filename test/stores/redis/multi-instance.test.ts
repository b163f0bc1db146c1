import { expect } from 'chai';
import { createCache, type GroupCache, type RouteOptions } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { type RedisClient, redisStore } from 'group-cache/redis';
import { express, getRaw, request, serve } from '../../helpers/express-app.js';
import { deferred } from '../../helpers/http.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { CLIENT_KINDS, type TestClient, uniquePrefix } from '../../helpers/redis-server.js';

interface Instance {
  url: string;
  cache: GroupCache;
  calls: () => number;
  close(): Promise<void>;
}

/** One "database" shared by every app instance, as real instances share theirs. */
interface Db {
  users: Map<string, string>;
  /** When set, a GET handler reads the user, then waits for this before answering (a slow fill). */
  hold?: Promise<void>;
}

async function instance(
  client: RedisClient,
  prefix: string,
  db: Db,
  options: { now?: () => number; route?: Omit<RouteOptions, 'cache'> } = {},
): Promise<Instance> {
  const cache = createCache({ store: redisStore({ client, prefix }), storeTimeout: 1_000, now: options.now });
  let calls = 0;
  const app = express();
  app.use(express.json());
  app.use(expireGroups({ cache }));
  app.get(
    '/users/:id',
    groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
      ...options.route,
      cache,
    }),
    async (req, res) => {
      calls++;
      const user = db.users.get(String(req.params.id));
      const hold = db.hold;
      if (hold !== undefined) await hold;
      res.json({ id: req.params.id, name: user });
    },
  );
  app.put('/users/:id', (req, res) => {
    db.users.set(String(req.params.id), String(req.body.name));
    res.locals.expireGroups = [`user_group_${req.params.id}`];
    res.json({ ok: true });
  });
  const server = await serve(app);
  return {
    url: server.url,
    cache,
    calls: () => calls,
    async close() {
      await server.close();
      await cache.close();
    },
  };
}

for (const kind of CLIENT_KINDS) {
  describe(`Redis store: two app instances on one Redis (${kind})`, () => {
    const redis = useRedis();
    let plain: TestClient;
    let ready: TestClient;
    let a: Instance;
    let b: Instance;
    let db: Db;

    beforeEach(async () => {
      const prefix = uniquePrefix('multi');
      db = { users: new Map([['1', 'Ada']]) };
      // A: a client with the package's queueing defaults, used before it even connected (as an app does at
      // start-up); B: connected first, failing fast.
      plain = await redis.connect(kind, { lazy: true, queue: true });
      ready = await redis.connect(kind);
      a = redis.closeAfterEach(await instance(plain.client, prefix, db));
      b = redis.closeAfterEach(await instance(ready.client, prefix, db));
    });

    it('a fill on A is a hit on B', async () => {
      const filled = await getRaw(a.url, '/users/1');
      expect(filled.headers['x-cache']).to.equal('MISS');
      const shared = await getRaw(b.url, '/users/1');
      expect(shared.headers['x-cache']).to.equal('HIT');
      expect(shared.body.toString()).to.equal(filled.body.toString());
      expect(b.calls()).to.equal(0);
    });

    // A fill is stored after its response went out: a read that must hit waits for the store.
    async function stored(target: Instance, count: number): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (target.cache.stats().stores < count) {
        if (Date.now() > deadline) throw new Error(`the fill was not stored (${count})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    /*
     * A fill that starts right after an expiry is dated on an estimate of Redis's clock that errs early (store-clock.ts):
     * on a loaded machine the store may refuse it as started before the expiry, safe but a refill. Waits until `count`
     * fills are stored, reading again after each refusal.
     */
    async function storedAfterWrite(target: Instance, count: number): Promise<void> {
      const deadline = Date.now() + 5_000;
      let refused = 0;
      target.cache.on('notStored', () => refused++);
      while (target.cache.stats().stores < count) {
        if (Date.now() > deadline) throw new Error(`the fill was not stored (${count})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (refused > 0) {
          refused = 0;
          await getRaw(target.url, '/users/1');
        }
      }
    }

    it("a write on A makes B's next read a miss with the written data", async () => {
      await getRaw(b.url, '/users/1');
      await stored(b, 1);
      expect((await getRaw(b.url, '/users/1')).headers['x-cache']).to.equal('HIT');
      const write = await request(a.url).put('/users/1').send({ name: 'Grace' });
      expect(write.status).to.equal(200);
      // Sent only once the write's response arrived: read-your-writes across instances.
      const read = await getRaw(b.url, '/users/1');
      expect(read.headers['x-cache']).to.equal('MISS');
      expect(JSON.parse(read.body.toString())).to.deep.equal({ id: '1', name: 'Grace' });
      await storedAfterWrite(b, 2);
      expect((await getRaw(a.url, '/users/1')).headers['x-cache']).to.equal('HIT');
    });

    it('the race: a slow GET on A that read before a write on B is never stored as fresh', async () => {
      const release = deferred();
      db.hold = release.promise;
      const slow = getRaw(a.url, '/users/1');
      // Wait until A's handler has read the old data and is held.
      while (a.calls() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      db.hold = undefined;
      const write = await request(b.url).put('/users/1').send({ name: 'Grace' });
      expect(write.status).to.equal(200);
      release.resolve();
      const stale = await slow;
      expect(JSON.parse(stale.body.toString()).name).to.equal('Ada');
      // A's store call runs after its response finished: wait for it, then it must have been refused.
      for (let i = 0; i < 100 && a.cache.stats().refused + a.cache.stats().stores === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(a.cache.stats().refused).to.equal(1);
      expect(a.cache.stats().stores).to.equal(0);
      const read = await getRaw(b.url, '/users/1');
      expect(read.headers['x-cache']).to.equal('MISS');
      expect(JSON.parse(read.body.toString()).name).to.equal('Grace');
    });

    it('staleWhileRevalidate: while A refills a stale entry (holding the fill lock), B answers the stale copy at once', async () => {
      let time = 1_700_000_000_000;
      const now = () => time;
      const prefix = uniquePrefix('swr');
      const route = { ttl: 1_000, staleWhileRevalidate: 60_000 };
      const sa = await instance(plain.client, prefix, db, { now, route });
      const sb = await instance(ready.client, prefix, db, { now, route });
      try {
        expect((await getRaw(sa.url, '/users/1')).headers['x-cache']).to.equal('MISS');
        time += 1_500;
        const release = deferred();
        db.hold = release.promise;
        const refill = getRaw(sa.url, '/users/1');
        while (sa.calls() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
        const started = Date.now();
        const stale = await getRaw(sb.url, '/users/1');
        expect(stale.headers['x-cache']).to.equal('STALE');
        expect(Date.now() - started, 'B did not wait for A’s refill').to.be.below(1_000);
        expect(sb.calls()).to.equal(0);
        db.hold = undefined;
        release.resolve();
        expect((await refill).headers['x-cache']).to.equal('MISS');
      } finally {
        await sa.close();
        await sb.close();
      }
    });

    it('expireGroups() on A through the cache API is seen by B at once', async () => {
      await getRaw(b.url, '/users/1');
      await a.cache.expireGroups('users');
      expect((await getRaw(b.url, '/users/1')).headers['x-cache']).to.equal('MISS');
    });
  });
}
