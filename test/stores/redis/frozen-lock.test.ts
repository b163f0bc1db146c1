import { expect } from 'chai';
import { type CacheStore, createCache } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { type RedisStore, redisStore } from 'group-cache/redis';
import { express, getRaw, serve } from '../../helpers/express-app.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { answers, CLIENT_KINDS, type RedisServer, uniquePrefix } from '../../helpers/redis-server.js';

/*
 * Issue 27, item 3: Redis frozen while a fill lock is on its way. The instance gives up after storeTimeout and fills
 * without the lock; the lock command still runs when Redis wakes. It must not then hold the key with nobody behind
 * it, making every other instance wait for an entry that never comes (up to waitTimeout).
 */

const STORE_TIMEOUT = 300;
const FREEZE = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

// The Redis store, with Redis frozen for FREEZE ms just as the first fill lock is asked for (after the lookup).
function freezingAtLock(redis: RedisStore, server: RedisServer): CacheStore {
  let frozen = false;
  return {
    name: 'redis',
    get: (key) => redis.get(key),
    set: (key, entry) => redis.set(key, entry),
    expire: (tags) => redis.expire(tags),
    delete: (key) => redis.delete(key),
    clear: () => redis.clear(),
    lockFill(key, ms, within) {
      if (!frozen) {
        frozen = true;
        server.pause();
        setTimeout(() => server.resume(), FREEZE);
      }
      return redis.lockFill(key, ms, within);
    },
    unlockFill: (key, token) => redis.unlockFill(key, token),
    close: () => redis.close(),
  };
}

for (const kind of CLIENT_KINDS) {
  describe(`fill lock: Redis frozen while a lock is asked for (${kind})`, function () {
    this.timeout(60_000);
    const redis = useRedis(true);

    async function instance(prefix: string, freeze: boolean): Promise<{ url: string; runs: () => number }> {
      const client = await redis.connect(kind);
      const direct = redisStore({ client: client.client, prefix });
      const store = freeze ? freezingAtLock(direct, redis.server) : direct;
      const cache = createCache({ store, storeTimeout: STORE_TIMEOUT, waitTimeout: 10_000, ttl: 60_000 });
      cache.on('error', () => {});
      let runs = 0;
      const app = express();
      app.get(
        '/item',
        groupCache(() => ({ key: 'item', groups: ['items'] }), { cache }),
        (_req, res) => {
          runs++;
          // The first answer is not storable: no entry arrives to end the others' wait, as when a fill fails.
          if (runs === 1 && freeze) res.setHeader('Cache-Control', 'no-store');
          res.send(`run ${runs}`);
        },
      );
      const served = redis.closeAfterEach(await serve(app));
      redis.closeAfterEach(cache);
      return { url: served.url, runs: () => runs };
    }

    it('a lock that reaches Redis after its instance gave up holds nothing: another instance fills at once', async () => {
      const prefix = uniquePrefix('frozen-lock');
      const a = await instance(prefix, true);
      const b = await instance(prefix, false);
      const started = Date.now();
      const first = await getRaw(a.url, '/item');
      // A gave up on the lock after storeTimeout and answered by its handler, during the freeze.
      expect(first.status).to.equal(200);
      expect(Date.now() - started).to.be.below(FREEZE);
      await until('Redis answers again', () => answers(redis.server));
      const woke = Date.now();
      const second = await getRaw(b.url, '/item');
      expect(second.status).to.equal(200);
      expect(second.headers['x-cache']).to.equal('MISS');
      // Waiting for a lock nobody holds would last waitTimeout (10 s); one storeTimeout is the bound allowed.
      expect(Date.now() - woke, 'B waited for a lock nobody held').to.be.below(STORE_TIMEOUT + 1_000);
      expect(b.runs()).to.equal(1);
      await until(
        'B released its lock',
        async () => ((await redis.client.call('KEYS', `${prefix}lock:*`)) as unknown[]).length === 0,
      );
    });
  });
}
