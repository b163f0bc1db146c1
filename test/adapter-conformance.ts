/*
 * The adapter conformance suite: one table of behaviours every framework adapter must show, written once.
 * An adapter joins with a driver (test/drivers/*) that turns an AppBlueprint into a real app of its framework,
 * and one line in test/adapters.test.ts. A store joins by passing its own `makeCache`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import { expect } from 'chai';
import {
  type CacheOptions,
  type CacheStore,
  createCache,
  type ExpireOptions,
  type GroupCache,
  type GroupCacheError,
  type KeyResult,
  type RouteOptions,
} from 'group-cache';
import request from 'supertest';
import { deferred, listen, type RawResponse, sendRaw } from './helpers/http.js';

/** What a scenario's key function and handlers see of a request, whatever the framework. */
export interface RequestView {
  params: Readonly<Record<string, string>>;
  method: string;
  headers: IncomingHttpHeaders;
}

export type ViewKeyFunction = (req: RequestView) => KeyResult | Promise<KeyResult>;

/** A handler's answer, which the driver writes with its framework's own idioms. */
export interface RouteResponse {
  status: number;
  headers?: Readonly<Record<string, string>>;
  /** A string or Buffer is sent as is, an object as JSON, undefined as no body. */
  body?: string | Buffer | object;
  /** Put in `res.locals.expireGroups` / `ctx.state.expireGroups` before responding (junk too, on purpose). */
  expireGroups?: unknown;
  /**
   * Copied into `res.locals` / `ctx.state` (a framework's own place for them) before responding: what the handler
   * decides about its entry, `cacheGroups`, `cacheTtl`, `cacheSkip` (junk too, on purpose).
   */
  locals?: Readonly<Record<string, unknown>>;
}

export interface RouteSpec {
  method: 'get' | 'put' | 'post';
  /** An Express / @koa/router pattern (`/users/:id`). */
  path: string;
  /** Mount `groupCache(keyFn, { ...options, cache })` before the handler. */
  cached?: { keyFn: ViewKeyFunction; options?: Omit<RouteOptions, 'cache'> };
  handle(req: RequestView): RouteResponse | Promise<RouteResponse>;
}

/** What a driver builds: an app with `expireGroups({ cache })` mounted app-wide, then these routes. */
export interface AppBlueprint {
  cache: GroupCache;
  routes: readonly RouteSpec[];
  /** Options of the app-wide `expireGroups({ ...expire, cache })`. */
  expire?: Omit<ExpireOptions, 'cache'>;
}

export interface AdapterDriver {
  /** Shown in the test names: `Express 5`, `Koa 2`... */
  name: string;
  /** A Node request listener serving the blueprint (for supertest and for one real server). */
  build(blueprint: AppBlueprint): RequestListener;
}

export interface ConformanceOptions {
  /** Makes a fresh, isolated cache from the suite's options (clock, ttl...). Default `createCache`. */
  makeCache?: (options: CacheOptions) => GroupCache | Promise<GroupCache>;
  /** Releases a cache after its scenario. Default `cache.close()`. */
  disposeCache?: (cache: GroupCache) => void | Promise<void>;
  /** False when the store keeps its own time, so the injected clock cannot drive TTLs. Default true. */
  injectedClock?: boolean;
  /** Prefix of the describe block, e.g. the store's name. */
  label?: string;
  /** Runs once before the scenarios (start a server; `context.skip()` to skip them all). */
  setup?: (context: Mocha.Context) => void | Promise<void>;
  /** Runs once after the scenarios. */
  teardown?: () => void | Promise<void>;
  /** More rows, from scenario files under test/scenarios/ (registered in test/adapters.test.ts). */
  scenarios?: readonly Scenario[];
}

type Calls = Record<string, number>;

export interface Harness {
  app: RequestListener;
  cache: GroupCache;
  calls: Calls;
  clock: { advance(ms: number): void };
  errors: GroupCacheError[];
  /** Holds GET /slow/:id until released. */
  gate: { release(): void; entered: Promise<void> };
  get(path: string, headers?: Record<string, string>): Promise<RawResponse>;
  head(path: string, headers?: Record<string, string>): Promise<RawResponse>;
  put(path: string): Promise<RawResponse>;
  post(path: string): Promise<RawResponse>;
}

export interface HarnessOptions {
  /** Key function of GET /users/:id (default: user_<id> in user_group_<id> and users). */
  keyFn?: ViewKeyFunction;
  usersOptions?: Omit<RouteOptions, 'cache'>;
  cacheOptions?: CacheOptions;
  expire?: Omit<ExpireOptions, 'cache'>;
  /** Headers GET /slow/:id answers with (e.g. a Set-Cookie that makes it unstorable). */
  slowHeaders?: Readonly<Record<string, string>>;
  /** More routes, mounted after the users API (a scenario file's own fixtures). */
  routes?: readonly RouteSpec[];
}

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

const send = sendRaw;

export const json = (res: RawResponse): unknown => JSON.parse(res.body.toString('utf8'));

/** One row of the table: a name and a run that builds as many harnesses as it needs. */
export type Scenario = [name: string, run: (setup: (options?: HarnessOptions) => Promise<Harness>) => Promise<void>];

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

/** Replaces the cache's `store.expire` (on this instance only, whatever the store) to delay or fail it. */
export function interceptExpire(
  cache: GroupCache,
  around: (original: CacheStore['expire'], tags: readonly string[]) => Promise<void>,
): void {
  const store = cache.store;
  const original = store.expire.bind(store);
  store.expire = (tags) => around(original, tags);
}

/** Asserts a run of X-Cache values for GET `path`. */
export async function expectSequence(h: Harness, path: string, expected: string[]): Promise<RawResponse[]> {
  const responses: RawResponse[] = [];
  for (const value of expected) {
    const res = await h.get(path);
    expect(res.headers['x-cache'], `${path} (${responses.length + 1})`).to.equal(value);
    responses.push(res);
  }
  return responses;
}

const SCENARIOS: Scenario[] = [
  [
    'miss then hit: the handler runs once and the hit replays status, body and headers',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      expect(h.calls.users).to.equal(1);
      expect(hit?.status).to.equal(200);
      expect(hit?.body.equals(miss?.body ?? Buffer.alloc(0))).to.equal(true);
      expect(json(hit as RawResponse)).to.deep.equal({ id: '1', version: 0 });
      expect(hit?.headers['content-type']).to.equal(miss?.headers['content-type']);
      expect(hit?.headers['content-length']).to.equal(String(miss?.body.length));
      expect(hit?.headers.etag).to.be.a('string');
      // The handler's own ETag (Express sets one) is kept; otherwise the cache computes one from the body.
      if (miss?.headers.etag !== undefined) expect(hit?.headers.etag).to.equal(miss.headers.etag);
    },
  ],
  ...KEY_SHAPES.map(
    ([label, keyFn]): Scenario => [
      `key function returning ${label} caches under that key and its groups`,
      async (setup) => {
        const h = await setup({ keyFn });
        await expectSequence(h, '/users/1', ['MISS', 'HIT']);
        expect(h.calls.users).to.equal(1);
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
        expect(h.calls.users).to.equal(2);
        expect(h.cache.stats().stores).to.equal(0);
      },
    ],
  ),
  ...BAD_KEYS.map(
    ([label, keyFn]): Scenario => [
      `a key function that ${label}: served 200 by the handler, BYPASS, EKEYFUNCTION naming the route, nothing stored`,
      async (setup) => {
        const h = await setup({ keyFn });
        const [first] = await expectSequence(h, '/users/1', ['BYPASS', 'BYPASS']);
        expect(first?.status).to.equal(200);
        expect(json(first as RawResponse)).to.deep.equal({ id: '1', version: 0 });
        expect(h.calls.users).to.equal(2);
        expect(h.errors).to.have.length(2);
        expect(h.errors[0]?.code).to.equal('EKEYFUNCTION');
        expect(h.errors[0]?.message).to.include('GET /users/:id');
        expect(h.cache.stats().stores).to.equal(0);
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
      expect(write.status).to.equal(200);
      await expectSequence(h, '/profiles/1', ['MISS']);
      await expectSequence(h, '/users/2', ['HIT']);
      const [fresh] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      expect(json(fresh as RawResponse)).to.deep.equal({ id: '1', version: 1 });
    },
  ],
  [
    'a write expiring the family group (users) expires every member',
    async (setup) => {
      const h = await setup();
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS']);
      expect((await h.put('/users')).status).to.equal(200);
      for (const path of ['/users/1', '/profiles/1', '/users/2']) await expectSequence(h, path, ['MISS', 'HIT']);
    },
  ],
  [
    'a failed write (4xx) expires nothing',
    async (setup) => {
      const h = await setup();
      await expectSequence(h, '/users/1', ['MISS']);
      expect((await h.put('/fail/1')).status).to.equal(422);
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
      expect(write.status).to.equal(200);
      expect(recorded, 'expiry recorded before the response arrived').to.equal(true);
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
      expect(write.status).to.equal(200);
      expect(json(write)).to.deep.equal({ id: '1', version: 1 });
      expect(h.errors.map((error) => error.code)).to.include('EEXPIRE');
      // The expiry is queued for retry; meanwhile this process serves no entry of that group.
      const [next] = await expectSequence(h, '/users/1', ['MISS']);
      expect(json(next as RawResponse)).to.deep.equal({ id: '1', version: 1 });
    },
  ],
  [
    'by default a write whose expiry could not be recorded is a 503: no client is told it is visible everywhere',
    async (setup) => {
      const h = await setup();
      await expectSequence(h, '/users/1', ['MISS']);
      interceptExpire(h.cache, () => Promise.reject(new Error('store down')));
      const write = await h.put('/users/1');
      expect(write.status).to.equal(503);
      expect(h.errors.map((error) => error.code)).to.include('EEXPIRE');
      expect(h.cache.stats().pendingExpiries, 'still queued for retry').to.equal(1);
    },
  ],
  [
    "onError: 'fail' turns a write whose expiry could not be recorded into a 503",
    async (setup) => {
      const h = await setup({ expire: { onError: 'fail' } });
      interceptExpire(h.cache, () => Promise.reject(new Error('store down')));
      const write = await h.put('/users/1');
      expect(write.status).to.equal(503);
      expect(write.headers['content-type']).to.match(/^text\/plain/);
      expect(write.body.toString()).to.match(/cache invalidation could not be recorded/);
      expect((await h.put('/fail/1')).status, 'a failed write expires nothing, so nothing fails').to.equal(422);
    },
  ],
  [
    'the vary option keeps one entry per request header value',
    async (setup) => {
      const h = await setup({ usersOptions: { vary: ['accept-language'] } });
      const xcache = async (lang: string) => (await h.get('/users/1', { 'accept-language': lang })).headers['x-cache'];
      expect(await xcache('en')).to.equal('MISS');
      expect(await xcache('fr')).to.equal('MISS');
      expect(await xcache('en')).to.equal('HIT');
      expect(await xcache('fr')).to.equal('HIT');
      expect(h.calls.users).to.equal(2);
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
      expect((await h.put('/users/1')).status).to.equal(200);
      h.gate.release();
      const old = await slow;
      expect(json(old)).to.deep.equal({ id: '1', version: 0 });
      const [next] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      expect(json(next as RawResponse)).to.deep.equal({ id: '1', version: 1 });
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
        expect(h.cache.stats().waits).to.equal(49);
        h.gate.release();
        const all = await Promise.all(responses);
        expect(h.calls.slow).to.equal(1);
        expect(new Set(all.map((res) => `${res.status} ${res.body}`))).to.deep.equal(
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
        expect(h.cache.stats().waits).to.equal(4);
        const released = Date.now();
        h.gate.release();
        expect(await Promise.all(responses)).to.deep.equal([200, 200, 200, 200, 200]);
        expect(Date.now() - released, 'waiters were not held until waitTimeout').to.be.below(2_000);
        expect(h.calls.slow).to.equal(5);
        expect(h.cache.stats().stores).to.equal(0);
      } finally {
        await server.close();
      }
    },
  ],
  [
    'POST is not cached',
    async (setup) => {
      const h = await setup();
      for (let i = 0; i < 2; i++) expect((await h.post('/users/1')).headers['x-cache']).to.equal('BYPASS');
      expect(h.calls.post).to.equal(2);
      expect(h.cache.stats().stores).to.equal(0);
    },
  ],
  [
    'a request with Authorization bypasses the cache',
    async (setup) => {
      const h = await setup();
      for (let i = 0; i < 2; i++) {
        expect((await h.get('/users/1', { authorization: 'Bearer t' })).headers['x-cache']).to.equal('BYPASS');
      }
      expect(h.calls.users).to.equal(2);
      expect(h.cache.stats().stores).to.equal(0);
    },
  ],
  [
    'allowAuthorization: requests with Authorization are cached',
    async (setup) => {
      const h = await setup({ usersOptions: { allowAuthorization: true } });
      const auth = { authorization: 'Bearer t' };
      expect((await h.get('/users/1', auth)).headers['x-cache']).to.equal('MISS');
      expect((await h.get('/users/1', auth)).headers['x-cache']).to.equal('HIT');
      expect(h.calls.users).to.equal(1);
    },
  ],
  ...NOT_STORED.map(
    ([fixture, why]): Scenario => [
      `${why} is served but not stored, marked BYPASS`,
      async (setup) => {
        const h = await setup();
        const [first] = await expectSequence(h, `/fixed/${fixture}`, ['BYPASS', 'BYPASS']);
        expect(first?.status).to.equal(FIXTURES[fixture]?.response.status);
        if (fixture === 'big') expect(first?.body.length).to.equal(BIG_LIMIT * 2);
        expect(h.calls[fixture]).to.equal(2);
        expect(h.cache.stats().stores).to.equal(0);
      },
    ],
  ),
  [
    'a HEAD miss is answered by the handler and not stored as the GET',
    async (setup) => {
      const h = await setup();
      const head = await h.head('/users/1');
      expect(head.status).to.equal(200);
      expect(head.headers['x-cache']).to.equal('MISS');
      expect(head.body.length).to.equal(0);
      const [get] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      expect(json(get as RawResponse)).to.deep.equal({ id: '1', version: 0 });
      expect(h.cache.stats().stores).to.equal(1);
    },
  ],
  [
    'HEAD is answered from the GET entry, with no body',
    async (setup) => {
      const h = await setup();
      const [miss] = await expectSequence(h, '/users/1', ['MISS']);
      const head = await h.head('/users/1');
      expect(head.status).to.equal(200);
      expect(head.headers['x-cache']).to.equal('HIT');
      expect(head.body.length).to.equal(0);
      expect(head.headers['content-length']).to.equal(String(miss?.body.length));
      expect(head.headers['content-type']).to.equal(miss?.headers['content-type']);
      expect(h.calls.users).to.equal(1);
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
        expect(res.status, value).to.equal(304);
        expect(res.body.length, value).to.equal(0);
        expect(res.headers.etag, value).to.equal(tag);
        expect(res.headers['x-cache'], value).to.equal('HIT');
      }
      const other = await h.get('/users/1', { 'if-none-match': '"nope"' });
      expect(other.status).to.equal(200);
      expect(json(other)).to.deep.equal({ id: '1', version: 0 });
      expect(h.calls.users).to.equal(1);
    },
  ],
  [
    'binary bodies replay byte-identical',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/fixed/binary', ['MISS', 'HIT']);
      expect(miss?.body.equals(BINARY)).to.equal(true);
      expect(hit?.body.equals(BINARY)).to.equal(true);
      expect(hit?.headers['content-type']).to.equal('application/octet-stream');
      expect(h.calls.binary).to.equal(1);
    },
  ],
  [
    'Age on hits counts whole seconds since the response was stored',
    async (setup) => {
      const h = await setup();
      const [miss] = await expectSequence(h, '/users/1', ['MISS']);
      expect(miss?.headers.age).to.equal(undefined);
      h.clock.advance(5_500);
      const [hit] = await expectSequence(h, '/users/1', ['HIT']);
      expect(hit?.headers.age).to.equal('5');
    },
  ],
  [
    'the status header name is configurable and can be turned off',
    async (setup) => {
      const named = await setup({ cacheOptions: { header: 'X-Group-Cache' } });
      expect((await named.get('/users/1')).headers['x-group-cache']).to.equal('MISS');
      const hit = await named.get('/users/1');
      expect(hit.headers['x-group-cache']).to.equal('HIT');
      expect(hit.headers['x-cache']).to.equal(undefined);
      const off = await setup({ cacheOptions: { header: false } });
      await off.get('/users/1');
      expect((await off.get('/users/1')).headers['x-cache']).to.equal(undefined);
      expect(off.calls.users).to.equal(1);
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
  const scenarios = [...SCENARIOS, ...(options.injectedClock === false ? [] : CLOCK_SCENARIOS), ...(options.scenarios ?? [])];

  describe(`${options.label ? `${options.label}: ` : ''}${driver.name} adapter conformance`, () => {
    const caches: GroupCache[] = [];
    if (options.setup) {
      const setupSuite = options.setup;
      before(function setUpStore() {
        return setupSuite(this);
      });
    }
    if (options.teardown) after(options.teardown);
    afterEach(async () => {
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
      const app = driver.build({ cache, routes, expire: harnessOptions.expire });
      return {
        app,
        cache,
        calls,
        errors,
        clock: {
          advance(ms: number) {
            time += ms;
          },
        },
        gate: { release: () => hold.resolve(), entered: entered.promise },
        get: (path, headers) => send(request(app).get(path), headers),
        head: (path, headers) => send(request(app).head(path), headers),
        put: (path) => send(request(app).put(path)),
        post: (path) => send(request(app).post(path)),
      };
    }

    for (const [name, run] of scenarios) it(name, () => run(setup));
  });
}
