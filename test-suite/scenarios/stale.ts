/*
 * Serving stale (issue 9): staleWhileRevalidate serves a stale copy at once while one request refills the key;
 * staleIfError lets a stale copy stand in for a refill that throws, answers 5xx or outlasts handlerTimeout.
 * Invalidated entries are never served, unless a route opts in with staleIfErrorAfterExpire. Every adapter, every
 * store; times on the injected clock.
 */

import type { RouteOptions } from '../../lib/index.js';
import { assert, atLeast } from '../assert.js';
import type { Harness, RouteSpec, Scenario } from '../harness.js';
import { json } from '../harness.js';
import { deferred, listen, type RawResponse } from '../http.js';

type Mode = 'ok' | 'throw' | '500' | 'hang' | 'gate';

/** A route at /s whose handler does what `control.mode` says, counting runs and versioning its answers. */
function staleRoute(options: Omit<RouteOptions, 'cache'>) {
  const control = { mode: 'ok' as Mode, runs: 0, gate: deferred(), entered: deferred() };
  const route: RouteSpec = {
    method: 'get',
    path: '/s',
    cached: { keyFn: () => ({ key: 'stale_key', groups: ['stale_group'] }), options: { ttl: 10_000, ...options } },
    handle: async () => {
      control.runs++;
      const version = control.runs;
      switch (control.mode) {
        case 'throw':
          throw new Error('database down');
        case '500':
          return { status: 500, body: { error: 'database down' } };
        case 'hang':
          return new Promise(() => {});
        case 'gate':
          control.entered.resolve();
          await control.gate.promise;
          return { status: 200, body: { version } };
        default:
          return { status: 200, body: { version } };
      }
    },
  };
  return { route, control };
}

const version = (res: RawResponse): unknown => (json(res) as { version?: number }).version;

async function primed(setup: Parameters<Scenario[1]>[0], options: Omit<RouteOptions, 'cache'>) {
  const { route, control } = staleRoute(options);
  const h: Harness = await setup({ routes: [route] });
  const first = await h.get('/s');
  assert.equal(first.headers['x-cache'], 'MISS');
  assert.equal((await h.get('/s')).headers['x-cache'], 'HIT');
  return { h, control };
}

const FAILURES: Array<[label: string, mode: Mode, extra: Omit<RouteOptions, 'cache'>]> = [
  ['throws (or calls next(err))', 'throw', {}],
  ['answers 500', '500', {}],
  ['outlasts handlerTimeout', 'hang', { handlerTimeout: 100 }],
];

export const STALE_SCENARIOS: Scenario[] = [
  [
    'staleWhileRevalidate: one request refills, the others meanwhile get the stale copy at once, with its Age',
    async (setup) => {
      const { h, control } = await primed(setup, { staleWhileRevalidate: 5_000 });
      h.clock.advance(12_000);
      control.mode = 'gate';
      const server = await listen(h.app);
      try {
        const refill = fetch(`${server.url}/s`).then(async (res) => ({
          xcache: res.headers.get('x-cache'),
          body: await res.json(),
        }));
        await control.entered.promise;
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${server.url}/s`);
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('x-cache'), 'STALE');
          assert.equal(res.headers.get('age'), '12');
          assert.deepEqual(await res.json(), { version: 1 });
        }
        assert.equal(control.runs, 2, 'exactly one refill ran');
        control.gate.resolve();
        assert.deepEqual(await refill, { xcache: 'MISS', body: { version: 2 } });
      } finally {
        control.gate.resolve();
        await server.close();
      }
      const after = await h.get('/s');
      assert.equal(after.headers['x-cache'], 'HIT');
      assert.equal(version(after), 2);
      assert.equal(h.cache.stats().stale, 3);
    },
  ],
  [
    'staleWhileRevalidate: past the window the entry is a plain miss',
    async (setup) => {
      const { h, control } = await primed(setup, { staleWhileRevalidate: 5_000 });
      h.clock.advance(15_001);
      const res = await h.get('/s');
      assert.equal(res.headers['x-cache'], 'MISS');
      assert.equal(version(res), 2);
      assert.equal(control.runs, 2);
      assert.equal(h.cache.stats().stale, 0);
    },
  ],
  [
    'staleWhileRevalidate never serves an invalidated entry: a concurrent request waits for the refill',
    async (setup) => {
      const { h, control } = await primed(setup, { staleWhileRevalidate: 60_000 });
      h.clock.advance(12_000);
      await h.cache.expireGroups('stale_group');
      control.mode = 'gate';
      const server = await listen(h.app);
      try {
        const refill = fetch(`${server.url}/s`).then((res) => res.headers.get('x-cache'));
        await control.entered.promise;
        const waiting = fetch(`${server.url}/s`).then(async (res) => ({
          xcache: res.headers.get('x-cache'),
          body: await res.json(),
        }));
        await new Promise((resolve) => setTimeout(resolve, 50));
        control.gate.resolve();
        assert.equal(await refill, 'MISS');
        assert.deepEqual(await waiting, { xcache: 'HIT', body: { version: 2 } });
      } finally {
        control.gate.resolve();
        await server.close();
      }
      assert.equal(h.cache.stats().stale, 0);
      atLeast(h.cache.stats().invalidated, 1);
    },
  ],
  ...FAILURES.map(
    ([label, mode, extra]): Scenario => [
      `staleIfError: a refill that ${label} answers the stale copy (STALE), and the entry stays`,
      async (setup) => {
        const { h, control } = await primed(setup, { staleIfError: 60_000, ...extra });
        h.clock.advance(12_000);
        control.mode = mode;
        const res = await h.get('/s');
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-cache'], 'STALE');
        assert.equal(res.headers.age, '12');
        assert.equal(version(res), 1);
        assert.equal(h.cache.stats().stale, 1);
        control.mode = 'ok';
        const healed = await h.get('/s');
        assert.equal(healed.headers['x-cache'], 'MISS');
        assert.equal(version(healed), control.runs);
        assert.equal((await h.get('/s')).headers['x-cache'], 'HIT');
      },
    ],
  ),
  [
    'staleIfError: a fresh entry is not involved, and past the window the error reaches the client',
    async (setup) => {
      const { h, control } = await primed(setup, { staleIfError: 5_000 });
      h.clock.advance(15_001);
      control.mode = '500';
      const res = await h.get('/s');
      assert.equal(res.status, 500);
      assert.notEqual(res.headers['x-cache'], 'STALE');
    },
  ],
  [
    'staleIfError never serves an invalidated entry by default: the error reaches the client',
    async (setup) => {
      const { h, control } = await primed(setup, { staleIfError: 60_000 });
      await h.cache.expireGroups('stale_group');
      control.mode = '500';
      const res = await h.get('/s');
      assert.equal(res.status, 500);
      assert.equal(h.cache.stats().stale, 0);
    },
  ],
  [
    'staleIfErrorAfterExpire: the route may serve an invalidated copy on error (read-your-writes given up)',
    async (setup) => {
      const { h, control } = await primed(setup, { staleIfError: 60_000, staleIfErrorAfterExpire: true });
      await h.cache.expireGroups('stale_group');
      control.mode = 'throw';
      const res = await h.get('/s');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-cache'], 'STALE');
      assert.equal(version(res), 1);
      control.mode = 'ok';
      const next = await h.get('/s');
      assert.equal(next.headers['x-cache'], 'MISS');
      assert.equal(version(next), control.runs);
    },
  ],
  [
    'without a stale option a failing refill answers its error, and the old entry is not served',
    async (setup) => {
      const { h, control } = await primed(setup, {});
      h.clock.advance(12_000);
      control.mode = '500';
      assert.equal((await h.get('/s')).status, 500);
      assert.equal(h.cache.stats().stale, 0);
    },
  ],
];
