/*
 * Cache-Status (RFC 9211, issue 11): with `cacheStatus: true` every response says what the cache did, beside
 * X-Cache, as a structured field list (RFC 8941 §3.1). Parsed here by a small sf-list parser, not by string
 * comparison, so that a valid spelling of the same field would pass and an invalid one would not.
 */
import { expect } from 'chai';
import type { Harness, RouteSpec, Scenario } from '../adapter-conformance.js';
import { expectSequence } from '../adapter-conformance.js';
import type { RawResponse } from '../helpers/http.js';

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
  expect(value, 'Cache-Status').to.be.a('string');
  const list = parseList(value as string);
  expect(list, 'one member: a hit replays no stored Cache-Status').to.have.length(1);
  expect(list[0]?.item).to.deep.equal({ token: 'group-cache' });
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
      expect(miss?.headers['cache-status']).to.equal(undefined);
      expect(hit?.headers['cache-status']).to.equal(undefined);
      expect((await h.get('/fixed/cookie')).headers['cache-status']).to.equal(undefined);
    },
  ],
  [
    'cacheStatus: true: a miss is `group-cache; fwd=miss` (never `stored`), a hit `hit; ttl=<seconds left>`',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true, ttl: 60_000 } });
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      expect(ours(miss as RawResponse)).to.deep.equal({ fwd: fwd('miss') });
      expect(ours(hit as RawResponse)).to.deep.equal({ hit: true, ttl: 60 });
      h.clock.advance(5_500);
      expect(await statusOf(h, '/users/1')).to.deep.equal({ hit: true, ttl: 54 });
      // A 304 and a HEAD answered from the entry are hits too.
      const etag = String(hit?.headers.etag);
      const notModified = await h.get('/users/1', { 'if-none-match': etag });
      expect(notModified.status).to.equal(304);
      expect(ours(notModified)).to.deep.equal({ hit: true, ttl: 54 });
      expect(ours(await h.head('/users/1'))).to.deep.equal({ hit: true, ttl: 54 });
      // The X-Cache header may be off; Cache-Status stands on its own.
      const alone = await setup({ cacheOptions: { cacheStatus: true, header: false } });
      const first = await alone.get('/users/1');
      expect(first.headers['x-cache']).to.equal(undefined);
      expect(ours(first)).to.deep.equal({ fwd: fwd('miss') });
      expect(ours(await alone.get('/users/1'))).to.include({ hit: true });
    },
  ],
  [
    'cacheStatus: a HEAD miss (not stored) is fwd=miss',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true } });
      const head = await h.head('/users/1');
      expect(head.headers['x-cache']).to.equal('MISS');
      expect(ours(head)).to.deep.equal({ fwd: fwd('miss') });
    },
  ],
  ...FIXTURE_DETAILS.map(
    ([fixture, detail]): Scenario => [
      `cacheStatus: a response refused for ${fixture} is fwd=bypass; detail="${detail}"`,
      async (setup) => {
        const h = await setup({ cacheOptions: { cacheStatus: true } });
        for (let i = 0; i < 2; i++) {
          const res = await h.get(`/fixed/${fixture}`);
          expect(res.headers['x-cache']).to.equal('BYPASS');
          expect(ours(res)).to.deep.equal({ fwd: fwd('bypass'), detail });
        }
        expect(h.cache.stats().stores).to.equal(0);
      },
    ],
  ),
  [
    'cacheStatus: requests passed before the lookup say why (method, authorization, no-key, key-function)',
    async (setup) => {
      const h = await setup({ cacheOptions: { cacheStatus: true } });
      expect(ours(await h.post('/users/1'))).to.deep.equal({ fwd: fwd('bypass'), detail: 'method' });
      expect(await statusOf(h, '/users/1', { authorization: 'Bearer x' })).to.deep.equal({
        fwd: fwd('bypass'),
        detail: 'authorization',
      });
      const none = await setup({ cacheOptions: { cacheStatus: true }, keyFn: () => null });
      expect(await statusOf(none, '/users/1')).to.deep.equal({ fwd: fwd('bypass'), detail: 'no-key' });
      const thrown = await setup({
        cacheOptions: { cacheStatus: true },
        keyFn: () => {
          throw new Error('no id');
        },
      });
      expect(await statusOf(thrown, '/users/1')).to.deep.equal({ fwd: fwd('bypass'), detail: 'key-function' });
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
      expect(res.status).to.equal(200);
      expect(res.headers['x-cache']).to.equal('BYPASS');
      expect(ours(res)).to.deep.equal({ fwd: fwd('bypass'), detail: 'store-unavailable' });
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
      expect(stale?.status).to.equal(200);
      expect(ours(stale as RawResponse)).to.deep.equal({ fwd: fwd('stale'), ttl: -2 });
    },
  ],
  [
    'cacheStatus as a route option overrides the cache-wide one, both ways',
    async (setup) => {
      const on = await setup({ usersOptions: { cacheStatus: true } });
      expect(await statusOf(on, '/users/1')).to.deep.equal({ fwd: fwd('miss') });
      expect((await on.get('/profiles/1')).headers['cache-status'], 'other routes keep the default').to.equal(undefined);
      const off = await setup({ cacheOptions: { cacheStatus: true }, usersOptions: { cacheStatus: false } });
      await expectSequence(off, '/users/1', ['MISS', 'HIT']);
      expect((await off.get('/users/1')).headers['cache-status']).to.equal(undefined);
      expect(await statusOf(off, '/profiles/1')).to.deep.equal({ fwd: fwd('miss') });
    },
  ],
];
