import { expect } from 'chai';
import { createCache, type GroupCache, type GroupCacheError } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { type RedisClient, redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { express, getRaw, request } from '../../helpers/express-app.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { CLIENT_KINDS, connect, type TestClient, uniquePrefix, waitClientReady } from '../../helpers/redis-server.js';

const STORE_TIMEOUT = 300;

interface App {
  server: express.Express;
  cache: GroupCache;
  errors: GroupCacheError[];
  calls: () => number;
}

function app(client: RedisClient, prefix: string): App {
  const cache = createCache({ store: redisStore({ client, prefix }), storeTimeout: STORE_TIMEOUT, retryInterval: 50 });
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  let calls = 0;
  const server = express();
  server.get(
    '/items/:id',
    groupCache((req) => ({ key: `item_${req.params.id}`, groups: ['items'] }), { cache }),
    (req, res) => {
      calls++;
      res.send(`item ${req.params.id} #${calls}`);
    },
  );
  const write = (_req: express.Request, res: express.Response) => {
    res.locals.expireGroups = 'items';
    res.send('written');
  };
  server.put('/items/:id', expireGroups({ cache }), write);
  server.put('/lenient/:id', expireGroups({ cache, onError: 'continue' }), write);
  return { server, cache, errors, calls: () => calls };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const kind of CLIENT_KINDS) {
  describe(`Redis store: faults on a real redis-server (${kind})`, () => {
    const redis = useRedis(true);
    let admin: Redis;
    let prefix: string;
    // The client made last, to wait for its reconnection.
    let latest: TestClient;

    // Both clients' defaults (an offline queue, retries) would queue commands while Redis is down: these clients keep
    // them, so failing fast is shown to be the store's doing. They are disconnected after each test.
    async function client(): Promise<RedisClient> {
      latest = await redis.connect(kind, { queue: true });
      return latest.client;
    }

    beforeEach(async () => {
      prefix = uniquePrefix('faults');
      admin = await connect(redis.server, { enableOfflineQueue: true, maxRetriesPerRequest: 20 });
    });

    afterEach(() => {
      admin.disconnect();
    });

    it('Redis killed and restarted: served uncached at once, expiry queued then landed, caching resumes by itself', async () => {
      const a = app(await client(), prefix);
      const b = app(await client(), prefix);
      expect((await getRaw(a.server, '/items/1')).headers['x-cache']).to.equal('MISS');
      // The store call runs after the response finished.
      await until('A stored the fill', () => a.cache.stats().stores === 1);
      expect((await getRaw(b.server, '/items/1')).headers['x-cache']).to.equal('HIT');
      // Keep the entry across the restart, so that only the queued expiry can make it stale.
      await admin.save();
      await redis.server.kill();

      const started = Date.now();
      const during = await getRaw(a.server, '/items/1');
      expect(Date.now() - started).to.be.below(STORE_TIMEOUT / 2);
      expect(during.status).to.equal(200);
      expect(during.headers['x-cache']).to.equal('BYPASS');
      expect(during.body.toString()).to.equal('item 1 #2');
      expect(a.errors[0]?.code).to.equal('ESTORE');
      expect(a.errors[0]?.message).to.match(/store\.get failed: redis client is not ready/);

      // By default the write is not answered as a success: instance B may still serve the old entry until the
      // queued expiry lands, so a 200 here would be a promise the cache cannot keep.
      const write = await request(a.server).put('/items/1');
      expect(write.status).to.equal(503);
      expect(a.cache.stats().pendingExpiries).to.equal(1);
      expect(a.errors.some((error) => error.code === 'EEXPIRE' && /group "items"/.test(error.message))).to.equal(true);
      const lenient = await request(a.server).put('/lenient/1');
      expect(lenient.status, "onError: 'continue' is the explicit opt-out").to.equal(200);
      expect(lenient.text).to.equal('written');

      await redis.server.restart();
      await until('the queued expiry landed', () => a.cache.stats().pendingExpiries === 0);
      // B never knew of the expiry: only the record the retry wrote in Redis can make its read a miss.
      await waitClientReady(latest);
      const after = await getRaw(b.server, '/items/1');
      expect(after.headers['x-cache']).to.equal('MISS');
      expect((await getRaw(b.server, '/items/2')).headers['x-cache']).to.equal('MISS');
      expect((await getRaw(a.server, '/items/2')).headers['x-cache']).to.equal('HIT');
    });

    it('Redis frozen (slow): answered by the handler after about storeTimeout, ETIMEOUT reported', async () => {
      const a = app(await client(), prefix);
      await getRaw(a.server, '/items/1');
      redis.server.pause();
      try {
        const started = Date.now();
        const res = await getRaw(a.server, '/items/1');
        const elapsed = Date.now() - started;
        expect(elapsed).to.be.within(STORE_TIMEOUT - 20, STORE_TIMEOUT + 400);
        expect(res.status).to.equal(200);
        expect(res.headers['x-cache']).to.equal('BYPASS');
        expect(a.errors[0]?.code).to.equal('ETIMEOUT');
      } finally {
        redis.server.resume();
      }
      await until('caching resumed', async () => (await getRaw(a.server, '/items/1')).headers['x-cache'] === 'HIT');
    });

    it('losing the expiry records (evicted key) makes every older entry a miss, even one whose group was expired', async () => {
      const a = app(await client(), prefix);
      const b = app(await client(), prefix);
      await getRaw(a.server, '/items/1');
      await getRaw(a.server, '/items/2');
      await b.cache.expireGroups('items');
      // Item 1's group record goes with the key; without the epoch it would read fresh again.
      expect(await admin.del(`${prefix}expiries`)).to.equal(1);
      expect((await getRaw(a.server, '/items/1')).headers['x-cache']).to.equal('MISS');
      expect((await getRaw(b.server, '/items/2')).headers['x-cache']).to.equal('MISS');
      expect((await getRaw(b.server, '/items/2')).headers['x-cache']).to.equal('HIT');
    });

    it('FLUSHALL on the test server: old entries are misses and caching starts again', async () => {
      const a = app(await client(), prefix);
      await getRaw(a.server, '/items/1');
      expect((await getRaw(a.server, '/items/1')).headers['x-cache']).to.equal('HIT');
      await admin.flushall();
      expect((await getRaw(a.server, '/items/1')).headers['x-cache']).to.equal('MISS');
      expect((await getRaw(a.server, '/items/1')).headers['x-cache']).to.equal('HIT');
    });
  });
}
