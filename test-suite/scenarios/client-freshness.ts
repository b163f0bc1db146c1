/*
 * What browsers and CDNs are told (issue 11): the cache never advertises its own TTL (the handler's Cache-Control
 * is replayed as sent), a route's `cacheControl` replaces it on misses and hits with `Age` capped by its max-age;
 * `ttl: 'headers'` reads the TTL off s-maxage / max-age / Expires; a route's `refresh` predicate lets a client
 * replace an entry. Times on the injected clock.
 */

import type { RouteOptions } from '../../lib/index.js';
import { assert, includes } from '../assert.js';
import type { Harness, RouteResponse, RouteSpec, Scenario } from '../harness.js';
import { expectSequence, json } from '../harness.js';

// What a cacheControl function is told (the type is not exported from the package root yet).
type CacheControlInfo = Parameters<Exclude<NonNullable<RouteOptions['cacheControl']>, string>>[0];

const START = 1_700_000_000_000;
const MAX_TTL = 31_536_000_000;

/** GET /page: key `page` in group `pages`; answers `headers` and its run count. */
function pageRoute(headers: () => Record<string, string>, options: Omit<RouteOptions, 'cache'> = {}) {
  const control = { runs: 0 };
  const route: RouteSpec = {
    method: 'get',
    path: '/page',
    cached: { keyFn: () => ({ key: 'page', groups: ['pages'] }), options },
    handle: (): RouteResponse => {
      control.runs++;
      return { status: 200, headers: headers(), body: { run: control.runs } };
    },
  };
  return { route, control };
}

async function withPage(
  setup: Parameters<Scenario[1]>[0],
  headers: Record<string, string>,
  options: Omit<RouteOptions, 'cache'> = {},
  cacheTtl = 60_000,
) {
  const { route, control } = pageRoute(() => headers, options);
  const h: Harness = await setup({ routes: [route], cacheOptions: { ttl: cacheTtl } });
  return { h, control };
}

/** A request header read off whatever the adapter hands `refresh` (Express req, Koa ctx, Fastify request). */
function requestHeader(req: unknown, name: string): unknown {
  if (typeof req !== 'object' || req === null || !('headers' in req)) return undefined;
  const headers: unknown = req.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  return (headers as Record<string, unknown>)[name];
}

/** Served (HIT) just before `ms` on the clock, refilled (MISS, or `after`) just after. */
async function expectTtl(h: Harness, ms: number, after = 'MISS'): Promise<void> {
  await expectSequence(h, '/page', ['MISS', 'HIT']);
  h.clock.advance(ms - 1);
  await expectSequence(h, '/page', ['HIT']);
  h.clock.advance(2);
  await expectSequence(h, '/page', [after]);
}

export const CLIENT_FRESHNESS_SCENARIOS: Scenario[] = [
  [
    "a hit replays the handler's Cache-Control exactly and never adds the cache's TTL as max-age",
    async (setup) => {
      const sent = 'public, max-age=5, stale-while-revalidate=30';
      const { h } = await withPage(setup, { 'cache-control': sent });
      const [miss, hit] = await expectSequence(h, '/page', ['MISS', 'HIT']);
      assert.equal(miss!.headers['cache-control'], sent);
      assert.equal(hit!.headers['cache-control'], sent);
      h.clock.advance(30_000);
      const [later] = await expectSequence(h, '/page', ['HIT']);
      assert.equal(later!.headers['cache-control'], sent);
      assert.equal(later!.headers.age, '30');
      // Without a Cache-Control from the handler, none is made up from the cache's TTL.
      const bare = await withPage(setup, {});
      const [, bareHit] = await expectSequence(bare.h, '/page', ['MISS', 'HIT']);
      assert.equal(bareHit!.headers['cache-control'], undefined);
    },
  ],
  [
    "cacheControl (a string) replaces the handler's on the miss, the hit and a 304; Age capped at its max-age",
    async (setup) => {
      const policy = 'public, max-age=0, must-revalidate';
      const { h, control } = await withPage(setup, { 'cache-control': 'public, max-age=600' }, { cacheControl: policy });
      const [miss, hit] = await expectSequence(h, '/page', ['MISS', 'HIT']);
      assert.equal(miss!.headers['cache-control'], policy);
      assert.deepEqual(json(miss!), { run: 1 });
      assert.equal(hit!.headers['cache-control'], policy);
      assert.deepEqual(json(hit!), { run: 1 });
      h.clock.advance(5_000);
      const [older] = await expectSequence(h, '/page', ['HIT']);
      assert.equal(older!.headers['cache-control'], policy);
      assert.equal(older!.headers.age, '0', 'never above the policy max-age');
      const revalidated = await h.get('/page', { 'if-none-match': String(hit!.headers.etag) });
      assert.equal(revalidated.status, 304);
      assert.equal(revalidated.headers['cache-control'], policy);
      assert.equal(revalidated.headers.age, '0');
      assert.equal(control.runs, 1);

      // The smaller of s-maxage and max-age caps Age; below it, Age is the entry's.
      const capped = await withPage(setup, {}, { cacheControl: 'public, max-age=10, s-maxage=3' });
      await expectSequence(capped.h, '/page', ['MISS']);
      capped.h.clock.advance(2_000);
      assert.equal((await capped.h.get('/page')).headers.age, '2');
      capped.h.clock.advance(5_000);
      assert.equal((await capped.h.get('/page')).headers.age, '3');
    },
  ],
  [
    "cacheControl: a policy saying private still lets the cache store; a handler's private or no-store still bypasses",
    async (setup) => {
      const { h } = await withPage(setup, {}, { cacheControl: 'private, max-age=0' });
      const [miss, hit] = await expectSequence(h, '/page', ['MISS', 'HIT']);
      assert.equal(miss!.headers['cache-control'], 'private, max-age=0');
      assert.equal(hit!.headers['cache-control'], 'private, max-age=0');
      for (const refused of ['private, max-age=60', 'no-store']) {
        const own = await withPage(setup, { 'cache-control': refused }, { cacheControl: 'public, max-age=60' });
        const [first] = await expectSequence(own.h, '/page', ['MISS', 'MISS']);
        assert.equal(first!.headers['cache-control'], refused, 'a refused response keeps the handler header');
      }
    },
  ],
  [
    'cacheControl (a function) gets hit, age, ttlLeft and groups; one that throws is reported and the handler header kept',
    async (setup) => {
      const seen: CacheControlInfo[] = [];
      const policy = (info: CacheControlInfo) => {
        seen.push({ ...info, groups: [...info.groups] });
        return `public, max-age=${Math.floor(info.ttlLeft / 1000)}`;
      };
      const { h } = await withPage(setup, { 'cache-control': 'no-cache="x"' }, { ttl: 10_000, cacheControl: policy });
      const [miss] = await expectSequence(h, '/page', ['MISS']);
      assert.equal(miss!.headers['cache-control'], 'public, max-age=10');
      h.clock.advance(4_000);
      const [hit] = await expectSequence(h, '/page', ['HIT']);
      assert.equal(hit!.headers['cache-control'], 'public, max-age=6');
      assert.equal(hit!.headers.age, '4');
      assert.deepEqual(seen, [
        { hit: false, age: 0, ttlLeft: 10_000, groups: ['pages'] },
        { hit: true, age: 4, ttlLeft: 6_000, groups: ['pages'] },
      ]);

      const throwing = await withPage(
        setup,
        { 'cache-control': 'public, max-age=7' },
        {
          cacheControl: () => {
            throw new Error('no policy today');
          },
        },
      );
      const [a, b] = await expectSequence(throwing.h, '/page', ['MISS', 'HIT']);
      assert.equal(a!.headers['cache-control'], 'public, max-age=7');
      assert.equal(b!.headers['cache-control'], 'public, max-age=7');
      assert.deepEqual(
        throwing.h.errors.map((error) => error.code),
        ['ERESPONSE', 'ERESPONSE'],
      );
      includes(throwing.h.errors[0]!.message, 'no policy today');
    },
  ],
  [
    "ttl 'headers': s-maxage wins over max-age",
    async (setup) => {
      const { h } = await withPage(setup, { 'cache-control': 'public, max-age=100, s-maxage=5' }, { ttl: 'headers' });
      await expectTtl(h, 5_000);
    },
  ],
  [
    "ttl 'headers': max-age sets the TTL",
    async (setup) => {
      const { h } = await withPage(setup, { 'cache-control': 'public, max-age=3' }, { ttl: 'headers' });
      await expectTtl(h, 3_000);
    },
  ],
  [
    "ttl 'headers': Expires relative to Date, or to now without a Date",
    async (setup) => {
      const date = Date.UTC(2020, 0, 1);
      const dated = await withPage(
        setup,
        { date: new Date(date).toUTCString(), expires: new Date(date + 4_000).toUTCString() },
        { ttl: 'headers' },
      );
      await expectTtl(dated.h, 4_000);
      const undated = await withPage(setup, { expires: new Date(START + 6_000).toUTCString() }, { ttl: 'headers' });
      // The refill at now + 6 s answers the same Expires, now past: no freshness lifetime, not stored.
      await expectTtl(undated.h, 6_000, 'MISS');
    },
  ],
  [
    "ttl 'headers': the cache's ttl without freshness headers; the key function's ttl wins; clamped to one year",
    async (setup) => {
      const none = await withPage(setup, {}, { ttl: 'headers' }, 7_000);
      await expectTtl(none.h, 7_000);

      const { route } = pageRoute(() => ({ 'cache-control': 'max-age=100' }), { ttl: 'headers' });
      const keyed: RouteSpec = { ...route, cached: { keyFn: () => ({ key: 'page', ttl: 2_000 }), options: { ttl: 'headers' } } };
      const h = await setup({ routes: [keyed] });
      await expectTtl(h, 2_000);

      const lefts: number[] = [];
      const clamped = await withPage(
        setup,
        { 'cache-control': 'public, max-age=99999999999' },
        {
          ttl: 'headers',
          cacheControl: (info) => {
            lefts.push(info.ttlLeft);
            return 'no-cache';
          },
        },
      );
      await expectSequence(clamped.h, '/page', ['MISS', 'HIT']);
      assert.deepEqual(lefts, [MAX_TTL, MAX_TTL]);
    },
  ],
  [
    "ttl 'headers': no freshness lifetime (max-age=0, no-cache, a past Expires) and no-store / private are never stored",
    async (setup) => {
      const cases: Array<Record<string, string>> = [
        { 'cache-control': 'public, max-age=0' },
        { 'cache-control': 'no-cache' },
        { expires: new Date(START - 1_000).toUTCString() },
        { expires: 'not a date' },
        { 'cache-control': 'no-store, max-age=60' },
        { 'cache-control': 'private, max-age=60' },
      ];
      for (const headers of cases) {
        const { h, control } = await withPage(setup, headers, { ttl: 'headers' });
        await expectSequence(h, '/page', ['MISS', 'MISS']);
        assert.equal(control.runs, 2, JSON.stringify(headers));
      }
    },
  ],
  [
    'refresh: a predicate returning true runs the handler and replaces a fresh entry; false or throwing: HIT',
    async (setup) => {
      const errors: string[] = [];
      const { h, control } = await withPage(
        setup,
        {},
        {
          refresh: (req) => {
            const value = requestHeader(req, 'x-refresh');
            if (value === 'boom') throw new Error('bad predicate');
            return value === 'secret';
          },
        },
      );
      await expectSequence(h, '/page', ['MISS', 'HIT']);
      const refreshed = await h.get('/page', { 'x-refresh': 'secret' });
      assert.equal(refreshed.headers['x-cache'], 'MISS');
      assert.deepEqual(json(refreshed), { run: 2 });
      const [next] = await expectSequence(h, '/page', ['HIT']);
      assert.deepEqual(json(next!), { run: 2 }, 'the next request gets the new data');
      for (const value of ['wrong', 'boom']) {
        const refused = await h.get('/page', { 'x-refresh': value });
        assert.equal(refused.headers['x-cache'], 'HIT', value);
        assert.deepEqual(json(refused), { run: 2 });
      }
      const noCache = await h.get('/page', { 'cache-control': 'no-cache', 'x-refresh': 'wrong' });
      assert.equal(noCache.headers['x-cache'], 'HIT');
      assert.equal(control.runs, 2);
      for (const error of h.errors) errors.push(`${error.code}: ${error.message}`);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /^EKEYFUNCTION: refresh predicate of .* threw: bad predicate/);
    },
  ],
  [
    'refresh: without a predicate, Cache-Control: no-cache and Pragma from a client are still a HIT',
    async (setup) => {
      const { h, control } = await withPage(setup, {});
      await expectSequence(h, '/page', ['MISS', 'HIT']);
      const asks: Array<Record<string, string>> = [
        { 'cache-control': 'no-cache' },
        { 'cache-control': 'max-age=0' },
        { pragma: 'no-cache' },
      ];
      for (const headers of asks) {
        const res = await h.get('/page', headers);
        assert.equal(res.headers['x-cache'], 'HIT', JSON.stringify(headers));
      }
      assert.equal(control.runs, 1);
    },
  ],
];
