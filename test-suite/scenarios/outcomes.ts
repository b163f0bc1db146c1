/*
 * One meaning per word (issue 27, item 10; docs/http-outcomes.md has the table): every response of a cached route
 * says HIT, MISS, STALE or BYPASS, and the X-Cache header, the Cache-Status field, the counters of stats() and the
 * decision log (the inspector's) all say the same thing about it, on the error paths too.
 *
 *   HIT     a fresh entry was served                       hits +1      'hit'     Cache-Status `hit`
 *   STALE   a stale copy was served                        stale +1     'stale'   `fwd=stale`
 *   MISS    looked up, no entry; the handler answered      misses +1    'miss'    `fwd=miss` (+ `detail` if refused)
 *           and then exactly one of: stored ('store'), not stored (a `notStoredReasons` key, 'not-stored');
 *           a HEAD miss is never stored and says neither
 *   BYPASS  not looked up (method, Authorization, no key,  bypasses +1  'bypass'  `fwd=bypass; detail`
 *           key function error, store unreadable)
 *
 * A STALE copy that stands in for a refill that failed (`staleIfError`) went through a lookup that missed: it
 * counts `misses` and `stale`, and the refill's `notStoredReasons['served-stale']`.
 */
import { InspectorFeed } from '../../lib/http/inspector-feed.js';
import type { CacheStats } from '../../lib/index.js';
import { assert } from '../assert.js';
import type { Harness, HarnessOptions, RouteSpec, Scenario } from '../harness.js';
import type { RawResponse } from '../http.js';
import { parseList } from './cache-status.js';

type Word = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';
type Counter = 'hits' | 'misses' | 'stale' | 'bypasses';

const COUNTER: Record<Word, Counter> = { HIT: 'hits', MISS: 'misses', STALE: 'stale', BYPASS: 'bypasses' };
const EVENT: Record<Word, string> = { HIT: 'hit', MISS: 'miss', STALE: 'stale', BYPASS: 'bypass' };

/** An error a handler throws that the framework answers with its status (Express, Koa and Fastify all read it). */
function httpError(status: number): Error {
  return Object.assign(new Error(`thrown ${status}`), { status, statusCode: status, expose: true });
}

function outcomeRoutes(control: { fail: boolean }): RouteSpec[] {
  const thrower =
    (status: number): RouteSpec['handle'] =>
    () => {
      throw httpError(status);
    };
  return [
    {
      method: 'get',
      path: '/thrown/404',
      cached: { keyFn: () => ({ key: 'thrown404', groups: ['thrown'] }) },
      handle: thrower(404),
    },
    {
      method: 'get',
      path: '/thrown/500',
      cached: { keyFn: () => ({ key: 'thrown500', groups: ['thrown'] }) },
      handle: thrower(500),
    },
    // A write on a cached route: passed by its method, and its error keeps the header too.
    {
      method: 'post',
      path: '/thrown/404',
      cached: { keyFn: () => ({ key: 'thrown404', groups: ['thrown'] }) },
      handle: thrower(404),
    },
    {
      method: 'get',
      path: '/flaky',
      cached: { keyFn: () => ({ key: 'flaky', groups: ['flaky'] }), options: { ttl: 10_000, staleIfError: 60_000 } },
      handle: () => {
        if (control.fail) throw httpError(500);
        return { status: 200, body: { ok: true } };
      },
    },
  ];
}

interface Expected {
  word: Word;
  /** The Cache-Status `detail`, and the `notStoredReasons` / `bypassReasons` key it names. */
  detail?: string;
  /** For a MISS: stored (true), refused (false), or neither (a HEAD miss: undefined). */
  stored?: boolean;
  /** A STALE that stood in for a failed refill: its lookup missed first. */
  afterMiss?: boolean;
}

type Totals = Record<Counter | 'stores' | 'notStored', number>;

function totals(stats: CacheStats): Totals {
  const notStored = Object.values(stats.notStoredReasons).reduce((sum, n) => sum + n, 0);
  return {
    hits: stats.hits,
    misses: stats.misses,
    stale: stats.stale,
    bypasses: stats.bypasses,
    stores: stats.stores,
    notStored,
  };
}

function delta<K extends string>(after: Record<K, number>, before: Record<K, number>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const key of Object.keys(after) as K[]) {
    const change = after[key] - before[key];
    if (change !== 0) out[key] = change;
  }
  return out;
}

/**
 * Sends one request and checks that every witness says `expected` about it: X-Cache, Cache-Status, the counters
 * (only the word's own moves, by one), what became of a miss, and the decision log. Returns the response.
 */
async function check(
  h: Harness,
  feed: InspectorFeed,
  send: () => Promise<RawResponse>,
  expected: Expected,
  label: string,
): Promise<RawResponse> {
  const before = h.cache.stats();
  const seq = feed.log.seq;
  const res = await send();
  const word = expected.word;
  const stored = expected.stored === true ? 1 : 0;
  const refused = expected.stored === false || expected.afterMiss === true ? 1 : 0;
  // A miss is stored or refused once the response finished, which may be after the client has it: wait for that.
  const deadline = Date.now() + 5_000;
  while (stored + refused > 0 && Date.now() < deadline) {
    const now = totals(h.cache.stats());
    const base = totals(before);
    if (now.stores + now.notStored > base.stores + base.notStored) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const after = h.cache.stats();
  const counts: Totals = {
    hits: 0,
    misses: 0,
    stale: 0,
    bypasses: 0,
    stores: 0,
    notStored: 0,
    ...delta(totals(after), totals(before)),
  };

  assert.equal(res.headers['x-cache'], word, `${label}: X-Cache`);
  const value = res.headers['cache-status'];
  assert.equal(typeof value, 'string', `${label}: Cache-Status`);
  const params = parseList(value as string)[0]?.params ?? {};
  if (word === 'HIT') assert.equal(params.hit, true, `${label}: Cache-Status hit`);
  else assert.equal((params.fwd as { token?: string } | undefined)?.token, word.toLowerCase(), `${label}: Cache-Status fwd`);
  assert.equal(params.detail, expected.detail, `${label}: Cache-Status detail`);

  const want: Record<Counter, number> = { hits: 0, misses: 0, stale: 0, bypasses: 0 };
  want[COUNTER[word]] = 1;
  if (expected.afterMiss === true) want.misses = 1;
  const got = { hits: counts.hits, misses: counts.misses, stale: counts.stale, bypasses: counts.bypasses };
  assert.deepEqual(got, want, `${label}: counters`);
  assert.deepEqual([counts.stores, counts.notStored], [stored, refused], `${label}: stores, not stored`);
  const reasons =
    word === 'BYPASS' ? delta(after.bypassReasons, before.bypassReasons) : delta(after.notStoredReasons, before.notStoredReasons);
  if (expected.detail !== undefined) assert.deepEqual(reasons, { [expected.detail]: 1 }, `${label}: reason counted`);
  if (expected.afterMiss === true) assert.deepEqual(reasons, { 'served-stale': 1 }, `${label}: reason counted`);

  // The decision log: the lookup's word, then what became of the fill (a not-stored decision names its key first).
  const events: string[] = expected.afterMiss === true ? ['miss', 'not-stored:served-stale', 'stale'] : [EVENT[word]];
  if (stored) events.push('store');
  if (refused && expected.afterMiss !== true) events.push(`not-stored:${expected.detail ?? ''}`);
  const decisions = feed.log.recent(seq).map((decision) => {
    if (decision.event !== 'not-stored') return decision.event;
    return expected.detail === undefined && expected.afterMiss !== true
      ? 'not-stored:'
      : `not-stored:${decision.reason?.split(':')[0]}`;
  });
  assert.deepEqual(decisions, events, `${label}: decision log`);
  return res;
}

async function harness(setup: (options?: HarnessOptions) => Promise<Harness>, options: HarnessOptions = {}) {
  const control = { fail: false };
  const h = await setup({
    ...options,
    cacheOptions: { cacheStatus: true, ttl: 10_000, ...options.cacheOptions },
    routes: outcomeRoutes(control),
  });
  // What the inspector records (its decision log), fed from the cache's events.
  const log = new InspectorFeed(h.cache, { decisions: 64, historyMinutes: 1, routes: 16 });
  log.start();
  return { h, log, control };
}

export const OUTCOME_SCENARIOS: Scenario[] = [
  [
    'outcomes: X-Cache, Cache-Status, stats() and the decision log agree on hits, misses and what a miss became',
    async (setup) => {
      const { h, log } = await harness(setup);
      try {
        await check(h, log, () => h.get('/users/1'), { word: 'MISS', stored: true }, 'first GET');
        await check(h, log, () => h.get('/users/1'), { word: 'HIT' }, 'second GET');
        await check(h, log, () => h.head('/users/2'), { word: 'MISS' }, 'HEAD miss');
        await check(h, log, () => h.get('/fixed/missing'), { word: 'MISS', stored: false, detail: 'status' }, '404');
        await check(h, log, () => h.get('/fixed/error'), { word: 'MISS', stored: false, detail: 'status' }, '500');
        await check(h, log, () => h.get('/fixed/cookie'), { word: 'MISS', stored: false, detail: 'set-cookie' }, 'Set-Cookie');
      } finally {
        log.stop();
      }
    },
  ],
  [
    'outcomes: a handler that throws (404, 500) is a MISS with its status as the reason, header included, on every adapter',
    async (setup) => {
      const { h, log } = await harness(setup);
      try {
        const miss = { word: 'MISS', stored: false, detail: 'status' } as const;
        assert.equal((await check(h, log, () => h.get('/thrown/404'), miss, 'thrown 404')).status, 404);
        assert.equal((await check(h, log, () => h.get('/thrown/500'), miss, 'thrown 500')).status, 500);
        // Not looked up (a POST), and its error response still says so.
        const write = await check(h, log, () => h.post('/thrown/404'), { word: 'BYPASS', detail: 'method' }, 'POST');
        assert.equal(write.status, 404);
      } finally {
        log.stop();
      }
    },
  ],
  [
    'outcomes: BYPASS is "not looked up", counted as a bypass with its reason (method, authorization, no key, key function, store)',
    async (setup) => {
      const { h, log } = await harness(setup);
      try {
        await check(h, log, () => h.post('/users/1'), { word: 'BYPASS', detail: 'method' }, 'POST');
        await check(
          h,
          log,
          () => h.get('/users/1', { authorization: 'Bearer t' }),
          { word: 'BYPASS', detail: 'authorization' },
          'Authorization',
        );
        h.cache.store.get = () => {
          throw new Error('store down');
        };
        await check(h, log, () => h.get('/users/1'), { word: 'BYPASS', detail: 'store-unavailable' }, 'store down');
      } finally {
        log.stop();
      }
      const none = await harness(setup, { keyFn: () => null });
      try {
        await check(none.h, none.log, () => none.h.get('/users/1'), { word: 'BYPASS', detail: 'no-key' }, 'no key');
      } finally {
        none.log.stop();
      }
      const thrown = await harness(setup, {
        keyFn: () => {
          throw new Error('no id');
        },
      });
      try {
        await check(
          thrown.h,
          thrown.log,
          () => thrown.h.get('/users/1'),
          { word: 'BYPASS', detail: 'key-function' },
          'key function threw',
        );
      } finally {
        thrown.log.stop();
      }
    },
  ],
  [
    'outcomes: a stale copy in place of a failed refill is STALE, counted as the miss it was and the stale copy it served',
    async (setup) => {
      const { h, log, control } = await harness(setup);
      try {
        await check(h, log, () => h.get('/flaky'), { word: 'MISS', stored: true }, 'fill');
        h.clock.advance(12_000);
        control.fail = true;
        const stale = await check(h, log, () => h.get('/flaky'), { word: 'STALE', afterMiss: true }, 'stale for a 500');
        assert.equal(stale.status, 200);
      } finally {
        log.stop();
      }
    },
  ],
];
