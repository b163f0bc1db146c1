/*
 * The adapter conformance suite: one table of behaviours every framework adapter must show, written once.
 * An adapter joins with a driver (ours are in test/drivers/) that turns an AppBlueprint into a real app of its
 * framework; a store joins by passing its own `makeCache`. Topic rows live in scenarios/, one file a topic.
 */
import { randomBytes } from 'node:crypto';
import { createCache, type GroupCache, type GroupCacheError, type KeyResult, type RouteOptions } from '../lib/index.js';
import { assert, below, includes } from './assert.js';
import {
  type AdapterDriver,
  type Calls,
  type ConformanceOptions,
  expectSequence,
  type Harness,
  type HarnessOptions,
  interceptExpire,
  json,
  type RouteResponse,
  type RouteSpec,
  type Scenario,
  type ViewKeyFunction,
} from './harness.js';
import { deferred, type Listening, listen, type RawResponse, send } from './http.js';
import { resolveRunner, type SuiteContext } from './runner.js';
import { SCENARIOS as TOPIC_SCENARIOS } from './scenarios/index.js';

export const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
const BIG_LIMIT = 1024;

/** Responses the storage policy must refuse (or, for binary, store byte for byte). */
const FIXTURES: Record<string, { response: RouteResponse; options?: Omit<RouteOptions, 'cache'> }> = {
  binary: { response: { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: BINARY } },
  cookie: { response: { status: 200, headers: { 'set-cookie': 'session=abc; Path=/' }, body: { ok: true } } },
  'no-store': { response: { status: 200, headers: { 'cache-control': 'no-store' }, body: { ok: true } } },
  private: { response: { status: 200, headers: { 'cache-control': 'private, max-age=60' }, body: { ok: true } } },
  'vary-star': { response: { status: 200, headers: { vary: '*' }, body: { ok: true } } },
  error: { response: { status: 500, body: { error: 'boom' } } },
  missing: { response: { status: 404, body: { error: 'not found' } } },
  big: { response: { status: 200, body: 'x'.repeat(BIG_LIMIT * 2) }, options: { maxEntryBytes: BIG_LIMIT } },
};

const userKey: ViewKeyFunction = (req) => ({
  key: `user_${req.params.id}`,
  groups: [`user_group_${req.params.id}`, 'users'],
});

/** The seed's users API: user_N and user_profile_N in user_group_N and users; writes expire groups. */
function usersRoutes(options: HarnessOptions, calls: Calls, gate: Promise<void>, entered: () => void): RouteSpec[] {
  const versions = new Map<string, number>();
  const version = (id: string) => versions.get(id) ?? 0;
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const routes: RouteSpec[] = [
    {
      method: 'get',
      path: '/users/:id',
      cached: { keyFn: options.keyFn ?? userKey, options: options.usersOptions },
      handle: (req) => {
        count('users');
        return { status: 200, body: { id: req.params.id, version: version(String(req.params.id)) } };
      },
    },
    {
      method: 'get',
      path: '/profiles/:id',
      cached: {
        keyFn: (req) => ({ key: `user_profile_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }),
      },
      handle: (req) => {
        count('profiles');
        return { status: 200, body: { profile: req.params.id, version: version(String(req.params.id)) } };
      },
    },
    {
      method: 'get',
      path: '/slow/:id',
      cached: { keyFn: userKey },
      handle: async (req) => {
        count('slow');
        const seen = version(String(req.params.id)); // read before waiting: computed from pre-write data
        entered();
        await gate;
        return { status: 200, headers: options.slowHeaders, body: { id: req.params.id, version: seen } };
      },
    },
    {
      method: 'post',
      path: '/users/:id',
      cached: { keyFn: userKey },
      handle: (req) => {
        count('post');
        return { status: 200, body: { id: req.params.id } };
      },
    },
    {
      method: 'put',
      path: '/users/:id',
      handle: (req) => {
        const id = String(req.params.id);
        versions.set(id, version(id) + 1);
        return { status: 200, body: { id, version: version(id) }, expireGroups: [`user_group_${id}`] };
      },
    },
    { method: 'put', path: '/users', handle: () => ({ status: 200, body: { ok: true }, expireGroups: 'users' }) },
    {
      method: 'put',
      path: '/fail/:id',
      handle: (req) => ({ status: 422, body: { error: 'invalid' }, expireGroups: [`user_group_${req.params.id}`] }),
    },
  ];
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    routes.push({
      method: 'get',
      path: `/fixed/${name}`,
      cached: { keyFn: () => ({ key: `fixed_${name}`, groups: ['fixed'] }), options: fixture.options },
      handle: () => {
        count(name);
        return fixture.response;
      },
    });
  }
  if (options.routes) routes.push(...options.routes);
  return routes;
}

const KEY_SHAPES: Array<[label: string, keyFn: ViewKeyFunction]> = [
  ['an object { key, groups }', (req) => ({ key: `user_${req.params.id}`, groups: ['users'] })],
  ['a [key, groups] pair', (req) => [`user_${req.params.id}`, ['users']]],
  ['a bare key string', (req) => `user_${req.params.id}`],
  ['a promise of { key, groups }', async (req) => ({ key: `user_${req.params.id}`, groups: 'users' })],
];

const BYPASSES: Array<[label: string, keyFn: ViewKeyFunction]> = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['false', () => false],
  ['a promise of null', async () => null],
];

const BAD_KEYS: Array<[label: string, keyFn: ViewKeyFunction]> = [
  [
    'throws',
    () => {
      throw new Error('no id');
    },
  ],
  ['rejects', () => Promise.reject(new Error('no id'))],
  ['returns 42', () => 42 as unknown as KeyResult],
  ['returns {}', () => ({}) as KeyResult],
  ["returns { key: '' }", () => ({ key: '' })],
  ['returns groups: [1]', () => ({ key: 'k', groups: [1] }) as unknown as KeyResult],
];

const NOT_STORED: Array<[fixture: string, why: string]> = [
  ['cookie', 'Set-Cookie'],
  ['no-store', 'Cache-Control: no-store'],
  ['private', 'Cache-Control: private'],
  ['vary-star', 'Vary: *'],
  ['error', 'a 500'],
  ['missing', 'a 404'],
  ['big', 'a body over maxEntryBytes'],
];

const SCENARIOS: Scenario[] = [
  [
    'miss then hit: the handler runs once and the hit replays status, body and headers',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.equal(h.calls.users, 1);
      assert.equal(hit?.status, 200);
      assert.equal(hit?.body.equals(miss?.body ?? Buffer.alloc(0)), true);
      assert.deepEqual(json(hit as RawResponse), { id: '1', version: 0 });
      assert.equal(hit?.headers['content-type'], miss?.headers['content-type']);
      assert.equal(hit?.headers['content-length'], String(miss?.body.length));
      assert.equal(typeof hit?.headers.etag, 'string');
      // The handler's own ETag (Express sets one) is kept; otherwise the cache computes one from the body.
      if (miss?.headers.etag !== undefined) assert.equal(hit?.headers.etag, miss.headers.etag);
    },
  ],
  ...KEY_SHAPES.map(
    ([label, keyFn]): Scenario => [
      `key function returning ${label} caches under that key and its groups`,
      async (setup) => {
        const h = await setup({ keyFn });
        await expectSequence(h, '/users/1', ['MISS', 'HIT']);
        assert.equal(h.calls.users, 1);
        await h.cache.expireKey('user_1');
        await expectSequence(h, '/users/1', ['MISS']);
        if (label !== 'a bare key string') {
          await h.cache.expireGroups('users');
          await expectSequence(h, '/users/1', ['MISS']);
        }
      },
    ],
  ),
  ...BYPASSES.map(
    ([label, keyFn]): Scenario => [
      `key function returning ${label} bypasses the cache`,
      async (setup) => {
        const h = await setup({ keyFn });
        await expectSequence(h, '/users/1', ['BYPASS', 'BYPASS']);
        assert.equal(h.calls.users, 2);
        assert.equal(h.cache.stats().stores, 0);
      },
    ],
  ),
  ...BAD_KEYS.map(
    ([label, keyFn]): Scenario => [
      `a key function that ${label}: served 200 by the handler, BYPASS, EKEYFUNCTION naming the route, nothing stored`,
      async (setup) => {
        const h = await setup({ keyFn });
        const [first] = await expectSequence(h, '/users/1', ['BYPASS', 'BYPASS']);
        assert.equal(first?.status, 200);
        assert.deepEqual(json(first as RawResponse), { id: '1', version: 0 });
        assert.equal(h.calls.users, 2);
        assert.equal(h.errors.length, 2);
        assert.equal(h.errors[0]?.code, 'EKEYFUNCTION');
        includes(h.errors[0]?.message, 'GET /users/:id');
        assert.equal(h.cache.stats().stores, 0);
      },
    ],
  ),
  [
    'keys and groups live in separate name spaces',
    async (setup) => {
      const h = await setup({ keyFn: () => ({ key: 'users', groups: ['other'] }) });
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      await h.cache.expireGroups('users');
      await expectSequence(h, '/users/1', ['HIT']);
      await h.cache.expireKey('other');
      await expectSequence(h, '/users/1', ['HIT']);
      await h.cache.expireKey('users');
      await expectSequence(h, '/users/1', ['MISS']);
    },
  ],
  [
    'huge keys and odd group names work and stay distinct',
    async (setup) => {
      const long = 'k'.repeat(20_000);
      const h = await setup({ keyFn: (req) => ({ key: `${long}${req.params.id}`, groups: [`${long}/ü ✓\n${req.params.id}`] }) });
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      await expectSequence(h, '/users/2', ['MISS', 'HIT']);
      await h.cache.expireGroups(`${long}/ü ✓\n1`);
      await expectSequence(h, '/users/1', ['MISS']);
      await expectSequence(h, '/users/2', ['HIT']);
      await h.cache.expireKey(`${long}2`);
      await expectSequence(h, '/users/2', ['MISS']);
    },
  ],
  [
    'a write expires its groups on success: user_group_1 members miss, user_2 still hits',
    async (setup) => {
      const h = await setup();
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS']);
      const write = await h.put('/users/1');
      assert.equal(write.status, 200);
      await expectSequence(h, '/profiles/1', ['MISS']);
      await expectSequence(h, '/users/2', ['HIT']);
      const [fresh] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.deepEqual(json(fresh as RawResponse), { id: '1', version: 1 });
    },
  ],
  [
    'a write expiring the family group (users) expires every member',
    async (setup) => {
      const h = await setup();
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS']);
      assert.equal((await h.put('/users')).status, 200);
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS', 'HIT']);
    },
  ],
  [
    'a failed write (4xx) expires nothing',
    async (setup) => {
      const h = await setup();
      await expectSequence(h, '/users/1', ['MISS']);
      assert.equal((await h.put('/fail/1')).status, 422);
      await expectSequence(h, '/users/1', ['HIT']);
    },
  ],
  [
    'expiry from code: cache.expireGroups() and cache.expireKey() (the master key alone)',
    async (setup) => {
      const h = await setup();
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS']);
      await h.cache.expireKey('user_1');
      await expectSequence(h, '/users/1', ['MISS']);
      await expectSequence(h, '/profiles/1', ['HIT']);
      await expectSequence(h, '/users/2', ['HIT']);
      await h.cache.expireGroups('user_group_2');
      await expectSequence(h, '/users/2', ['MISS']);
      await expectSequence(h, '/profiles/1', ['HIT']);
      await expectSequence(h, '/users/1', ['HIT']);
      await h.cache.expireGroups(['users']);
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS']);
    },
  ],
  [
    'read-your-writes: the write’s response waits until the store has recorded the expiry',
    async (setup) => {
      const h = await setup();
      await expectSequence(h, '/users/1', ['MISS']);
      let recorded = false;
      interceptExpire(h.cache, async (original, tags) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await original(tags);
        recorded = true;
      });
      const write = await h.put('/users/1');
      assert.equal(write.status, 200);
      assert.equal(recorded, true, 'expiry recorded before the response arrived');
      await expectSequence(h, '/users/1', ['MISS']);
    },
  ],
  [
    "onError: 'continue': a write whose expiry the store refuses is answered, reported (EEXPIRE), and its groups are not served",
    async (setup) => {
      const h = await setup({ expire: { onError: 'continue' } });
      await expectSequence(h, '/users/1', ['MISS']);
      interceptExpire(h.cache, () => Promise.reject(new Error('store down')));
      const write = await h.put('/users/1');
      assert.equal(write.status, 200);
      assert.deepEqual(json(write), { id: '1', version: 1 });
      includes(
        h.errors.map((error) => error.code),
        'EEXPIRE',
      );
      // The expiry is queued for retry; meanwhile this process serves no entry of that group.
      const [next] = await expectSequence(h, '/users/1', ['MISS']);
      assert.deepEqual(json(next as RawResponse), { id: '1', version: 1 });
    },
  ],
  [
    'by default a write whose expiry could not be recorded is a 503: no client is told it is visible everywhere',
    async (setup) => {
      const h = await setup();
      await expectSequence(h, '/users/1', ['MISS']);
      interceptExpire(h.cache, () => Promise.reject(new Error('store down')));
      const write = await h.put('/users/1');
      assert.equal(write.status, 503);
      includes(
        h.errors.map((error) => error.code),
        'EEXPIRE',
      );
      assert.equal(h.cache.stats().pendingExpiries, 1, 'still queued for retry');
    },
  ],
  [
    "onError: 'fail' turns a write whose expiry could not be recorded into a 503",
    async (setup) => {
      const h = await setup({ expire: { onError: 'fail' } });
      interceptExpire(h.cache, () => Promise.reject(new Error('store down')));
      const write = await h.put('/users/1');
      assert.equal(write.status, 503);
      assert.match(String(write.headers['content-type']), /^text\/plain/);
      assert.match(write.body.toString(), /cache invalidation could not be recorded/);
      assert.equal((await h.put('/fail/1')).status, 422, 'a failed write expires nothing, so nothing fails');
    },
  ],
  [
    'the vary option keeps one entry per request header value',
    async (setup) => {
      const h = await setup({ usersOptions: { vary: ['accept-language'] } });
      const xcache = async (lang: string) => (await h.get('/users/1', { 'accept-language': lang })).headers['x-cache'];
      assert.equal(await xcache('en'), 'MISS');
      assert.equal(await xcache('fr'), 'MISS');
      assert.equal(await xcache('en'), 'HIT');
      assert.equal(await xcache('fr'), 'HIT');
      assert.equal(h.calls.users, 2);
    },
  ],
  [
    'two groups expire independently',
    async (setup) => {
      const h = await setup();
      for (const path of ['/users/1', '/users/2']) await expectSequence(h, path, ['MISS']);
      await h.put('/users/1');
      await expectSequence(h, '/users/2', ['HIT']);
      await expectSequence(h, '/users/1', ['MISS']);
      await h.put('/users/2');
      await expectSequence(h, '/users/1', ['HIT']);
      await expectSequence(h, '/users/2', ['MISS']);
    },
  ],
  [
    'stale write-back race: a GET started before a write is not served as fresh after it',
    async (setup) => {
      const h = await setup();
      const slow = h.get('/slow/1');
      await h.gate.entered;
      assert.equal((await h.put('/users/1')).status, 200);
      h.gate.release();
      const old = await slow;
      assert.deepEqual(json(old), { id: '1', version: 0 });
      const [next] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.deepEqual(json(next as RawResponse), { id: '1', version: 1 });
    },
  ],
  [
    'single fill: 50 concurrent cold requests run the handler once and get the same body',
    async (setup) => {
      const h = await setup();
      const server = await listen(h.app);
      try {
        const responses = Array.from({ length: 50 }, () =>
          fetch(`${server.url}/slow/7`).then(async (res) => ({ status: res.status, body: await res.text() })),
        );
        await h.gate.entered;
        // Release only once the 49 others are waiting on the running fill.
        for (let i = 0; i < 500 && h.cache.stats().waits < 49; i++) await new Promise((r) => setTimeout(r, 2));
        assert.equal(h.cache.stats().waits, 49);
        h.gate.release();
        const all = await Promise.all(responses);
        assert.equal(h.calls.slow, 1);
        assert.deepEqual(
          new Set(all.map((res) => `${res.status} ${res.body}`)),
          new Set([`200 ${JSON.stringify({ id: '7', version: 0 })}`]),
        );
      } finally {
        await server.close();
      }
    },
  ],
  [
    'waiters on a fill whose response cannot be stored run their own handler at once',
    async (setup) => {
      const h = await setup({ slowHeaders: { 'set-cookie': 'session=abc' }, cacheOptions: { waitTimeout: 5_000 } });
      const server = await listen(h.app);
      try {
        const responses = Array.from({ length: 5 }, () => fetch(`${server.url}/slow/3`).then((res) => res.status));
        await h.gate.entered;
        for (let i = 0; i < 500 && h.cache.stats().waits < 4; i++) await new Promise((r) => setTimeout(r, 2));
        assert.equal(h.cache.stats().waits, 4);
        const released = Date.now();
        h.gate.release();
        assert.deepEqual(await Promise.all(responses), [200, 200, 200, 200, 200]);
        below(Date.now() - released, 2_000, 'waiters were not held until waitTimeout');
        assert.equal(h.calls.slow, 5);
        assert.equal(h.cache.stats().stores, 0);
      } finally {
        await server.close();
      }
    },
  ],
  [
    'POST is not cached',
    async (setup) => {
      const h = await setup();
      for (let i = 0; i < 2; i++) assert.equal((await h.post('/users/1')).headers['x-cache'], 'BYPASS');
      assert.equal(h.calls.post, 2);
      assert.equal(h.cache.stats().stores, 0);
    },
  ],
  [
    'a request with Authorization bypasses the cache',
    async (setup) => {
      const h = await setup();
      for (let i = 0; i < 2; i++) {
        assert.equal((await h.get('/users/1', { authorization: 'Bearer t' })).headers['x-cache'], 'BYPASS');
      }
      assert.equal(h.calls.users, 2);
      assert.equal(h.cache.stats().stores, 0);
    },
  ],
  [
    'allowAuthorization: requests with Authorization are cached',
    async (setup) => {
      const h = await setup({ usersOptions: { allowAuthorization: true } });
      const auth = { authorization: 'Bearer t' };
      assert.equal((await h.get('/users/1', auth)).headers['x-cache'], 'MISS');
      assert.equal((await h.get('/users/1', auth)).headers['x-cache'], 'HIT');
      assert.equal(h.calls.users, 1);
    },
  ],
  ...NOT_STORED.map(
    ([fixture, why]): Scenario => [
      `${why} is served but not stored: a MISS every time`,
      async (setup) => {
        const h = await setup();
        const [first] = await expectSequence(h, `/fixed/${fixture}`, ['MISS', 'MISS']);
        assert.equal(first?.status, FIXTURES[fixture]?.response.status);
        if (fixture === 'big') assert.equal(first?.body.length, BIG_LIMIT * 2);
        assert.equal(h.calls[fixture], 2);
        assert.equal(h.cache.stats().stores, 0);
      },
    ],
  ),
  [
    'a HEAD miss is answered by the handler and not stored as the GET',
    async (setup) => {
      const h = await setup();
      const head = await h.head('/users/1');
      assert.equal(head.status, 200);
      assert.equal(head.headers['x-cache'], 'MISS');
      assert.equal(head.body.length, 0);
      const [get] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.deepEqual(json(get as RawResponse), { id: '1', version: 0 });
      assert.equal(h.cache.stats().stores, 1);
    },
  ],
  [
    'HEAD is answered from the GET entry, with no body',
    async (setup) => {
      const h = await setup();
      const [miss] = await expectSequence(h, '/users/1', ['MISS']);
      const head = await h.head('/users/1');
      assert.equal(head.status, 200);
      assert.equal(head.headers['x-cache'], 'HIT');
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['content-length'], String(miss?.body.length));
      assert.equal(head.headers['content-type'], miss?.headers['content-type']);
      assert.equal(h.calls.users, 1);
    },
  ],
  [
    '304 on If-None-Match for a hit: strong, weak and a list; 200 when it does not match',
    async (setup) => {
      const h = await setup();
      const [, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      const tag = String(hit?.headers.etag);
      const strong = tag.replace(/^W\//, '');
      for (const value of [tag, strong, `W/${strong}`, `"nope", ${tag}`, '*']) {
        const res = await h.get('/users/1', { 'if-none-match': value });
        assert.equal(res.status, 304, value);
        assert.equal(res.body.length, 0, value);
        assert.equal(res.headers.etag, tag, value);
        assert.equal(res.headers['x-cache'], 'HIT', value);
      }
      const other = await h.get('/users/1', { 'if-none-match': '"nope"' });
      assert.equal(other.status, 200);
      assert.deepEqual(json(other), { id: '1', version: 0 });
      assert.equal(h.calls.users, 1);
    },
  ],
  [
    'binary bodies replay byte-identical',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/fixed/binary', ['MISS', 'HIT']);
      assert.equal(miss?.body.equals(BINARY), true);
      assert.equal(hit?.body.equals(BINARY), true);
      assert.equal(hit?.headers['content-type'], 'application/octet-stream');
      assert.equal(h.calls.binary, 1);
    },
  ],
  [
    'Age on hits counts whole seconds since the response was stored',
    async (setup) => {
      const h = await setup();
      const [miss] = await expectSequence(h, '/users/1', ['MISS']);
      assert.equal(miss?.headers.age, undefined);
      h.clock.advance(5_500);
      const [hit] = await expectSequence(h, '/users/1', ['HIT']);
      assert.equal(hit?.headers.age, '5');
    },
  ],
  [
    'the status header name is configurable and can be turned off',
    async (setup) => {
      const named = await setup({ cacheOptions: { header: 'X-Group-Cache' } });
      assert.equal((await named.get('/users/1')).headers['x-group-cache'], 'MISS');
      const hit = await named.get('/users/1');
      assert.equal(hit.headers['x-group-cache'], 'HIT');
      assert.equal(hit.headers['x-cache'], undefined);
      const off = await setup({ cacheOptions: { header: false } });
      await off.get('/users/1');
      assert.equal((await off.get('/users/1')).headers['x-cache'], undefined);
      assert.equal(off.calls.users, 1);
    },
  ],
];

/** Scenarios that drive TTLs with the injected clock (skipped for stores that keep their own time). */
const CLOCK_SCENARIOS: Scenario[] = [
  [
    'TTL: served until the ttl passes on the injected clock, then missed',
    async (setup) => {
      const h = await setup({ cacheOptions: { ttl: 10_000 } });
      await expectSequence(h, '/users/1', ['MISS']);
      h.clock.advance(9_999);
      await expectSequence(h, '/users/1', ['HIT']);
      h.clock.advance(2);
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
    },
  ],
  [
    'TTL from the route option and from the key function',
    async (setup) => {
      const route = await setup({ usersOptions: { ttl: 1_000 }, cacheOptions: { ttl: 60_000 } });
      await expectSequence(route, '/users/1', ['MISS']);
      route.clock.advance(1_001);
      await expectSequence(route, '/users/1', ['MISS']);
      const keyed = await setup({ keyFn: () => ({ key: 'k', ttl: 2_000 }), usersOptions: { ttl: 60_000 } });
      await expectSequence(keyed, '/users/1', ['MISS']);
      keyed.clock.advance(1_999);
      await expectSequence(keyed, '/users/1', ['HIT']);
      keyed.clock.advance(2);
      await expectSequence(keyed, '/users/1', ['MISS']);
    },
  ],
];

/**
 * Registers the whole table against one adapter driver. Every scenario gets its own cache from `makeCache`
 * and its own app, so the table also runs against any store.
 */
export function adapterConformance(driver: AdapterDriver, options: ConformanceOptions = {}): void {
  const makeCache = options.makeCache ?? createCache;
  const dispose = options.disposeCache ?? ((cache: GroupCache) => cache.close());
  const scenarios = [
    ...SCENARIOS,
    ...(options.injectedClock === false ? [] : CLOCK_SCENARIOS),
    ...TOPIC_SCENARIOS,
    ...(options.scenarios ?? []),
  ];
  const { describe, it, before, after, afterEach } = resolveRunner(options.runner, 'adapterConformance');

  describe(`${options.label ? `${options.label}: ` : ''}${driver.name} adapter conformance`, () => {
    const caches: GroupCache[] = [];
    const servers: Listening[] = [];
    if (options.setup) {
      before(async function setUpSuite(this: SuiteContext | undefined) {
        await options.setup?.(this);
      });
    }
    if (options.teardown) {
      after(async () => {
        await options.teardown?.();
      });
    }
    afterEach(async () => {
      for (const server of servers.splice(0)) await server.close();
      for (const cache of caches.splice(0)) await dispose(cache);
    });

    async function setup(harnessOptions: HarnessOptions = {}): Promise<Harness> {
      let time = 1_700_000_000_000;
      const cache = await makeCache({ ...harnessOptions.cacheOptions, now: () => time });
      caches.push(cache);
      const errors: GroupCacheError[] = [];
      cache.on('error', (error) => errors.push(error));
      const calls: Calls = {};
      const hold = deferred();
      const entered = deferred();
      const routes = usersRoutes(harnessOptions, calls, hold.promise, () => entered.resolve());
      const app = await driver.build({ cache, routes, expire: harnessOptions.expire });
      const server = await listen(app);
      servers.push(server);
      const { url } = server;
      return {
        app,
        url,
        cache,
        calls,
        errors,
        clock: {
          advance(ms: number) {
            time += ms;
          },
        },
        gate: { release: () => hold.resolve(), entered: entered.promise },
        get: (path, headers) => send(url, 'GET', path, headers),
        head: (path, headers) => send(url, 'HEAD', path, headers),
        put: (path) => send(url, 'PUT', path),
        post: (path) => send(url, 'POST', path),
      };
    }

    for (const [name, run] of scenarios) it(name, () => run(setup));
  });
}
