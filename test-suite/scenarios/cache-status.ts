/*
 * Cache-Status (RFC 9211, issue 11): with `cacheStatus: true` every response says what the cache did, beside
 * X-Cache, as a structured field list (RFC 8941 §3.1). Parsed here by a small sf-list parser, not by string
 * comparison, so that a valid spelling of the same field would pass and an invalid one would not.
 */
import { assert, includes } from '../assert.js';
import type { Harness, RouteSpec, Scenario } from '../harness.js';
import { expectSequence } from '../harness.js';
import type { RawResponse } from '../http.js';

type BareItem = string | number | boolean | { token: string };
interface Member {
  item: BareItem;
  params: Record<string, BareItem>;
}

/** Parses an sf-list of bare items with parameters (RFC 8941 §4.2.1; inner lists are not used by RFC 9211). */
export function parseList(input: string): Member[] {
  let at = 0;
  const text = input.trim();
  const fail = (what: string): never => {
    throw new Error(`invalid sf-list at ${at} (${what}): ${JSON.stringify(input)}`);
  };
  const ows = () => {
    while (text[at] === ' ' || text[at] === '\t') at++;
  };
  const sp = () => {
    while (text[at] === ' ') at++;
  };
  const key = (): string => {
    const match = /^[a-z*][a-z0-9_\-.*]*/.exec(text.slice(at));
    if (!match) fail('key');
    at += (match as RegExpExecArray)[0].length;
    return (match as RegExpExecArray)[0];
  };
  const bareItem = (): BareItem => {
    const rest = text.slice(at);
    if (rest.startsWith('"')) {
      let value = '';
      at++;
      while (at < text.length) {
        const char = text[at++] as string;
        if (char === '\\') {
          const next = text[at++];
          if (next !== '"' && next !== '\\') fail('escape');
          value += next;
        } else if (char === '"') {
          return value;
        } else if (char < ' ' || char > '~') {
          fail('string character');
        } else {
          value += char;
        }
      }
      return fail('unterminated string');
    }
    const number = /^-?[0-9]{1,15}(\.[0-9]{1,3})?/.exec(rest);
    if (number) {
      at += number[0].length;
      return Number(number[0]);
    }
    if (rest.startsWith('?1') || rest.startsWith('?0')) {
      at += 2;
      return rest[1] === '1';
    }
    const token = /^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*/.exec(rest);
    if (token) {
      at += token[0].length;
      return { token: token[0] };
    }
    return fail('bare item');
  };
  const members: Member[] = [];
  while (at < text.length) {
    const item = bareItem();
    const params: Record<string, BareItem> = {};
    while (text[at] === ';') {
      at++;
      sp();
      const name = key();
      if (text[at] === '=') {
        at++;
        params[name] = bareItem();
      } else {
        params[name] = true;
      }
    }
    members.push({ item, params });
    ows();
    if (at >= text.length) break;
    if (text[at] !== ',') fail('comma');
    at++;
    ows();
    if (at >= text.length) fail('trailing comma');
  }
  return members;
}

/** The one member of a response's Cache-Status, checked to be ours. */
function ours(res: RawResponse): Record<string, BareItem> {
  const value = res.headers['cache-status'];
  assert.equal(typeof value, 'string', 'Cache-Status');
  const list = parseList(value as string);
  assert.equal(list?.length, 1, 'one member: a hit replays no stored Cache-Status');
  assert.deepEqual(list[0]?.item, { token: 'group-cache' });
  return list[0]?.params ?? {};
}

const fwd = (token: string) => ({ token });

async function statusOf(h: Harness, path: string, headers?: Record<string, string>): Promise<Record<string, BareItem>> {
  return ours(await h.get(path, headers));
}

function failingRoute(): { route: RouteSpec; control: { fail: boolean } } {
  const control = { fail: false };
  const route: RouteSpec = {
    method: 'get',
    path: '/flaky',
    cached: { keyFn: () => ({ key: 'flaky', groups: ['flaky'] }), options: { ttl: 10_000, staleIfError: 60_000 } },
    handle: () => (control.fail ? { status: 500, body: { error: 'down' } } : { status: 200, body: { ok: true } }),
  };
  return { route, control };
}

const FIXTURE_DETAILS: Array<[fixture: string, detail: string]> = [
  ['cookie', 'set-cookie'],
  ['no-store', 'no-store'],
  ['private', 'private'],
  ['vary-star', 'vary-star'],
  ['error', 'status'],
  ['missing', 'status'],
  ['big', 'too-large'],
];

export const CACHE_STATUS_SCENARIOS: Scenario[] = [
  [
    'Cache-Status is off by default: no header on a miss, a hit or a bypass',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.equal(miss?.headers['cache-status'], undefined);
      assert.equal(hit?.headers['cache-status'], undefined);
      assert.equal((await h.get('/fixed/cookie')).headers['cache-status'], undefined);
    },
  ],
  [
    'cacheStatus: true: a miss is `group-cache; fwd=miss` (never `stored`), a hit `hit; ttl=<seconds left>`',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true, ttl: 60_000 } });
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.deepEqual(ours(miss as RawResponse), { fwd: fwd('miss') });
      assert.deepEqual(ours(hit as RawResponse), { hit: true, ttl: 60 });
      h.clock.advance(5_500);
      assert.deepEqual(await statusOf(h, '/users/1'), { hit: true, ttl: 54 });
      // A 304 and a HEAD answered from the entry are hits too.
      const etag = String(hit?.headers.etag);
      const notModified = await h.get('/users/1', { 'if-none-match': etag });
      assert.equal(notModified.status, 304);
      assert.deepEqual(ours(notModified), { hit: true, ttl: 54 });
      assert.deepEqual(ours(await h.head('/users/1')), { hit: true, ttl: 54 });
      // The X-Cache header may be off; Cache-Status stands on its own.
      const alone = await setup({ cacheOptions: { cacheStatus: true, header: false } });
      const first = await alone.get('/users/1');
      assert.equal(first.headers['x-cache'], undefined);
      assert.deepEqual(ours(first), { fwd: fwd('miss') });
      includes(ours(await alone.get('/users/1')), { hit: true });
    },
  ],
  [
    'cacheStatus: a HEAD miss (not stored) is fwd=miss',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true } });
      const head = await h.head('/users/1');
      assert.equal(head.headers['x-cache'], 'MISS');
      assert.deepEqual(ours(head), { fwd: fwd('miss') });
    },
  ],
  ...FIXTURE_DETAILS.map(
    ([fixture, detail]): Scenario => [
      `cacheStatus: a response refused for ${fixture} is a miss that says why: fwd=miss; detail="${detail}"`,
      async (setup) => {
        const h = await setup({ cacheOptions: { cacheStatus: true } });
        for (let i = 0; i < 2; i++) {
          const res = await h.get(`/fixed/${fixture}`);
          assert.equal(res.headers['x-cache'], 'MISS');
          assert.deepEqual(ours(res), { fwd: fwd('miss'), detail });
        }
        assert.equal(h.cache.stats().stores, 0);
      },
    ],
  ),
  [
    'cacheStatus: requests passed before the lookup say why (method, authorization, no-key, key-function)',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true } });
      assert.deepEqual(ours(await h.post('/users/1')), { fwd: fwd('bypass'), detail: 'method' });
      assert.deepEqual(await statusOf(h, '/users/1', { authorization: 'Bearer x' }), {
        fwd: fwd('bypass'),
        detail: 'authorization',
      });
      const none = await setup({ cacheOptions: { cacheStatus: true }, keyFn: () => null });
      assert.deepEqual(await statusOf(none, '/users/1'), { fwd: fwd('bypass'), detail: 'no-key' });
      const thrown = await setup({
        cacheOptions: { cacheStatus: true },
        keyFn: () => {
          throw new Error('no id');
        },
      });
      assert.deepEqual(await statusOf(thrown, '/users/1'), { fwd: fwd('bypass'), detail: 'key-function' });
    },
  ],
  [
    'cacheStatus: a store that cannot be read is fwd=bypass; detail="store-unavailable"',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true } });
      h.cache.store.get = () => {
        throw new Error('store down');
      };
      const res = await h.get('/users/1');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-cache'], 'BYPASS');
      assert.deepEqual(ours(res), { fwd: fwd('bypass'), detail: 'store-unavailable' });
    },
  ],
  [
    'cacheStatus: a stale copy (X-Cache STALE) is fwd=stale with the negative ttl of its staleness',
    async (setup) => {
      const { route, control } = failingRoute();
      const h = await setup({ routes: [route], cacheOptions: { cacheStatus: true } });
      await expectSequence(h, '/flaky', ['MISS', 'HIT']);
      h.clock.advance(12_000);
      control.fail = true;
      const [stale] = await expectSequence(h, '/flaky', ['STALE']);
      assert.equal(stale?.status, 200);
      assert.deepEqual(ours(stale as RawResponse), { fwd: fwd('stale'), ttl: -2 });
    },
  ],
  [
    'cacheStatus as a route option overrides the cache-wide one, both ways',
    async (setup) => {
      const on = await setup({ usersOptions: { cacheStatus: true } });
      assert.deepEqual(await statusOf(on, '/users/1'), { fwd: fwd('miss') });
      assert.equal((await on.get('/profiles/1')).headers['cache-status'], undefined, 'other routes keep the default');
      const off = await setup({ cacheOptions: { cacheStatus: true }, usersOptions: { cacheStatus: false } });
      await expectSequence(off, '/users/1', ['MISS', 'HIT']);
      assert.equal((await off.get('/users/1')).headers['cache-status'], undefined);
      assert.deepEqual(await statusOf(off, '/profiles/1'), { fwd: fwd('miss') });
    },
  ],
];
