/*
 * Issue 13, "Decisions you can read": the decision logs (DEBUG=group-cache*), stats counted by reason, and
 * cache.inspect(), on the memory store and on a real Redis.
 */
import { format } from 'node:util';
import { expect } from 'chai';
import createDebug from 'debug';
import { createCache, type GroupCache, memoryStore } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { redisStore } from 'group-cache/redis';
import { express, manualClock, request } from '../helpers/express-app.js';
import { useRedis } from '../helpers/redis-fixtures.js';
import { uniquePrefix } from '../helpers/redis-server.js';

// Strips the colours and the `+0ms` debug adds: the tests read the message.
function plain(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
  return line.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Captures what the group-cache loggers print while `enable` is on. */
function captureLogs(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const original = createDebug.log;
  createDebug.log = (...args: unknown[]) => {
    lines.push(plain(format(...args)));
  };
  createDebug.enable('group-cache*');
  return {
    lines,
    stop() {
      createDebug.disable();
      createDebug.log = original;
    },
  };
}

function app(cache: GroupCache): express.Express {
  const server = express();
  const route = groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
    cache,
  });
  server.get('/users/:id', route, (req, res) => {
    res.json({ id: req.params.id });
  });
  server.get(
    '/cookie',
    groupCache(() => 'cookie', { cache }),
    (_req, res) => {
      res.cookie('session', 'x').json({});
    },
  );
  server.get(
    '/broken',
    groupCache(() => 'broken', { cache }),
    (_req, res) => {
      res.status(500).json({ error: true });
    },
  );
  server.get(
    '/nostore',
    groupCache(() => 'nostore', { cache }),
    (_req, res) => {
      res.set('Cache-Control', 'no-store').json({});
    },
  );
  server.get(
    '/big',
    groupCache(() => 'big', { cache }),
    (_req, res) => {
      res.send('x'.repeat(2048));
    },
  );
  server.get(
    '/none',
    groupCache(() => null, { cache }),
    (_req, res) => {
      res.json({});
    },
  );
  return server;
}

describe('decisions you can read', () => {
  describe('decision logs (DEBUG=group-cache*)', () => {
    let logs: ReturnType<typeof captureLogs>;
    beforeEach(() => {
      logs = captureLogs();
    });
    afterEach(() => logs.stop());

    it('logs one line per lookup outcome, per fill not stored with its reason, and per expiry', async () => {
      const cache = createCache({ maxEntryBytes: 1024 });
      const server = app(cache);
      await request(server).get('/users/1').expect('X-Cache', 'MISS');
      await request(server).get('/users/1').expect('X-Cache', 'HIT');
      await request(server).get('/users/1').set('Authorization', 'Bearer x').expect('X-Cache', 'BYPASS');
      await request(server).get('/cookie').expect(200);
      await request(server).get('/broken').expect(500);
      await cache.expireGroups('users');

      const route = logs.lines.filter((line) => line.includes('group-cache:route'));
      expect(
        route.some((line) => /user_1 miss/.test(line)),
        route.join('\n'),
      ).to.equal(true);
      expect(
        route.some((line) => /user_1 hit age=\d+ms/.test(line)),
        route.join('\n'),
      ).to.equal(true);
      expect(
        route.some((line) => /bypass: Authorization header/.test(line)),
        route.join('\n'),
      ).to.equal(true);
      expect(
        route.some((line) => /cookie not stored \(set-cookie\): Set-Cookie header/.test(line)),
        route.join('\n'),
      ).to.equal(true);
      expect(
        route.some((line) => /broken not stored \(status\): status 500/.test(line)),
        route.join('\n'),
      ).to.equal(true);
      const expire = logs.lines.filter((line) => line.includes('group-cache:expire'));
      expect(expire).to.have.length(1);
      expect(expire[0]).to.match(/expired groups \["users"\] keys \[\] in \d+\.\d+ ms/);
    });

    it('logs store failures under group-cache:store', async () => {
      const store = memoryStore();
      store.get = () => {
        throw new Error('store down');
      };
      const cache = createCache({ store });
      cache.on('error', () => {});
      await request(app(cache)).get('/users/1').expect('X-Cache', 'BYPASS');
      expect(logs.lines.some((line) => line.includes('group-cache:store') && line.includes('store down'))).to.equal(true);
      expect(logs.lines.some((line) => /bypass: store unavailable/.test(line))).to.equal(true);
    });

    it('prints nothing when the namespaces are off', async () => {
      logs.stop();
      const lines: string[] = [];
      const original = createDebug.log;
      createDebug.log = (...args: unknown[]) => {
        lines.push(format(...args));
      };
      try {
        const cache = createCache();
        await request(app(cache)).get('/users/1').expect('X-Cache', 'MISS');
        await request(app(cache)).get('/users/1').expect('X-Cache', 'HIT');
        await cache.expireGroups('users');
      } finally {
        createDebug.log = original;
      }
      expect(lines).to.deep.equal([]);
    });
  });

  describe('stats by reason', () => {
    it('counts bypasses and fills not stored by a short reason, every key present', async () => {
      const cache = createCache({ maxEntryBytes: 1024 });
      const refusals: string[] = [];
      cache.on('notStored', ({ key, where, reason, detail }) => {
        expect(where).to.be.a('string');
        expect(detail).to.be.a('string').and.not.equal('');
        refusals.push(`${key} ${reason}`);
      });
      const server = app(cache);
      await request(server).get('/cookie').expect(200);
      await request(server).get('/cookie').expect(200);
      await request(server).get('/broken').expect(500);
      await request(server).get('/nostore').expect(200);
      await request(server).get('/big').expect(200);
      await request(server).get('/users/1').set('Authorization', 'Bearer x').expect(200);
      await request(server).get('/none').expect(200);
      await request(server).get('/users/2').expect('X-Cache', 'MISS');
      const stats = cache.stats();
      expect(stats.notStoredReasons).to.include({ 'set-cookie': 2, status: 1, 'no-store': 1, 'too-large': 1, other: 0 });
      // The same refusals, one notStored event each, with the reason stats() counts them under.
      expect(refusals.map((line) => line.split(' ')[1]).sort()).to.deep.equal([
        'no-store',
        'set-cookie',
        'set-cookie',
        'status',
        'too-large',
      ]);
      expect(stats.bypassReasons).to.include({ authorization: 1, 'no-key': 1, method: 0, other: 0 });
      expect(stats.bypasses).to.equal(2);
      expect(stats.stores).to.equal(1);
      // A fixed key set: reasons carrying numbers (a status, a size) never grow the maps.
      expect(Object.keys(stats.notStoredReasons)).to.include.members(['refused-by-store', 'aborted', 'handler-threw']);
      expect(Object.keys(stats.bypassReasons)).to.have.length(6);
    });

    it('counts a fill the store refused, and data loader outcomes', async () => {
      const cache = createCache();
      cache.on('error', () => {});
      const store = cache.store;
      const set = store.set.bind(store);
      store.set = () => false;
      await cache.getOrSet('refused', () => 1);
      store.set = set;
      await cache.getOrSet('undefined', () => undefined);
      await cache.getOrSet('fn', () => (() => 1) as unknown as number);
      await cache.getOrSet('thrower', () => Promise.reject(new Error('nope'))).catch(() => {});
      expect(cache.stats().notStoredReasons).to.include({
        'refused-by-store': 1,
        'undefined-value': 1,
        'not-json': 1,
        'loader-threw': 1,
      });
    });
  });

  describe('cache.inspect() on the memory store', () => {
    it('reports status, headers, size, groups, age and state without the body, fresh then stale', async () => {
      const clock = manualClock();
      const cache = createCache({ now: clock.now, ttl: 1_000 });
      await request(app(cache)).get('/users/1').expect('X-Cache', 'MISS');
      clock.advance(250);
      const fresh = await cache.inspect('user_1');
      expect(fresh).to.include({ key: 'user_1', id: 'k:user_1', status: 200, age: 250, state: 'fresh' });
      expect(fresh?.groups).to.deep.equal(['user_group_1', 'users']);
      expect(fresh?.headers.some(([name]) => name.toLowerCase() === 'content-type')).to.equal(true);
      expect(fresh?.bodyBytes).to.equal(Buffer.byteLength('{"id":"1"}'));
      expect(fresh?.size).to.be.greaterThan(fresh?.bodyBytes ?? 0);
      expect(fresh).not.to.have.property('body');
      expect((await cache.inspect('user_1', { body: true }))?.body?.toString()).to.equal('{"id":"1"}');
      // Kept past its TTL only inside a stale window.
      await cache.getOrSet('value', () => 1, { staleWhileRevalidate: 5_000 });
      clock.advance(1_000);
      expect(await cache.inspect('user_1'), 'past its TTL with no stale window: gone').to.equal(undefined);
      const stale = await cache.inspect('value', { data: true });
      expect(stale).to.include({ state: 'stale', why: 'past freshUntil by 0 ms' });
      expect(await cache.inspect('user_2')).to.equal(undefined);
      // Inspecting served nothing and counted nothing.
      expect(cache.stats()).to.include({ hits: 0, misses: 2 });
    });

    it('says which group invalidated an entry, and inspects data keys apart', async () => {
      const cache = createCache();
      await request(app(cache)).get('/users/1').expect('X-Cache', 'MISS');
      await cache.getOrSet('user_1', () => ({ id: 1 }), { groups: ['profiles'] });
      await cache.expireGroups('user_group_1');
      const invalidated = await cache.inspect('user_1');
      expect(invalidated?.state).to.equal('invalidated');
      expect(invalidated?.expiredBy).to.deep.equal(['group "user_group_1"']);
      expect(invalidated?.why).to.equal('expired after its fill started: group "user_group_1"');
      const data = await cache.inspect('user_1', { data: true });
      expect(data).to.include({ id: 'd:user_1', state: 'fresh' });
      expect(data?.groups).to.deep.equal(['profiles']);
      await cache.expireKey('user_1');
      // expireKey deletes the response's entry; the value stays, invalidated by its key tag.
      expect(await cache.inspect('user_1')).to.equal(undefined);
      expect(await cache.inspect('user_1', { data: true })).to.include({
        state: 'invalidated',
        why: 'expired after its fill started: key "user_1"',
      });
    });

    it('leaves recency alone: the entry inspected is still the one evicted', async () => {
      const cache = createCache({ store: memoryStore({ maxEntries: 2 }) });
      await cache.getOrSet('a', () => 'a');
      await cache.getOrSet('b', () => 'b');
      expect(await cache.inspect('a', { data: true })).to.include({ state: 'fresh' });
      await cache.getOrSet('c', () => 'c');
      expect(await cache.inspect('a', { data: true }), 'a, least recently used, was evicted').to.equal(undefined);
      expect(await cache.inspect('b', { data: true })).to.include({ state: 'fresh' });
      expect(cache.stats().evictions).to.equal(1);
    });

    it('falls back to get() on a store without peek', async () => {
      const store = memoryStore();
      const cache = createCache({ store: { ...bindAll(store), peek: undefined } });
      await cache.getOrSet('a', () => 'a', { groups: ['g'] });
      await cache.expireGroups('g');
      expect(await cache.inspect('a', { data: true })).to.include({
        state: 'invalidated',
        why: 'a group or key of it was expired after its fill started (this store does not say which)',
      });
    });
  });

  describe('cache.inspect() on Redis', () => {
    const redis = useRedis();

    it('reports a fresh entry, then one invalidated by a group', async () => {
      const cache = createCache({ store: redisStore({ client: redis.client, prefix: uniquePrefix('inspect') }) });
      await request(app(cache)).get('/users/7').expect('X-Cache', 'MISS');
      const fresh = await cache.inspect('user_7');
      expect(fresh).to.include({ status: 200, state: 'fresh' });
      expect(fresh?.groups).to.deep.equal(['user_group_7', 'users']);
      expect(fresh).not.to.have.property('body');
      await cache.expireGroups('users');
      const invalidated = await cache.inspect('user_7');
      expect(invalidated?.state).to.equal('invalidated');
      expect(invalidated?.why).to.match(/expired after its fill started/);
      expect(await cache.inspect('user_8')).to.equal(undefined);
      expect(cache.stats()).to.include({ hits: 0, misses: 1 });
    });
  });
});

// The store's methods as own properties (a class instance spread loses them).
function bindAll(store: ReturnType<typeof memoryStore>) {
  return {
    name: store.name,
    get: store.get.bind(store),
    set: store.set.bind(store),
    expire: store.expire.bind(store),
    delete: store.delete.bind(store),
    clear: store.clear.bind(store),
    stats: store.stats.bind(store),
  };
}
