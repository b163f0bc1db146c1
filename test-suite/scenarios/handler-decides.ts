/*
 * Groups and TTL decided by the handler (issue 11): after loading its data a handler adds groups
 * (`res.locals.cacheGroups` / `ctx.state.cacheGroups`), sets its entry's TTL (`cacheTtl`) or refuses storing
 * (`cacheSkip`). Added groups are stamped with the fill's start like the key function's: a group expired while the
 * handler ran dooms the fill (DESIGN invariant 2).
 */
import { assert, includes } from '../assert.js';
import type { Harness, RouteResponse, RouteSpec, Scenario } from '../harness.js';
import { expectSequence, json } from '../harness.js';
import { deferred } from '../http.js';

/** GET /list: key `list` in group `lists`; the handler answers with `locals` (what it decided) and its run count. */
function listRoute(locals: () => Record<string, unknown>) {
  const control = { runs: 0, gate: undefined as Promise<void> | undefined, entered: deferred() };
  const route: RouteSpec = {
    method: 'get',
    path: '/list',
    cached: { keyFn: () => ({ key: 'list', groups: ['lists'] }) },
    handle: async (): Promise<RouteResponse> => {
      control.runs++;
      const run = control.runs;
      control.entered.resolve();
      if (control.gate !== undefined) await control.gate;
      return { status: 200, body: { run }, locals: locals() };
    },
  };
  return { route, control };
}

async function withList(setup: Parameters<Scenario[1]>[0], locals: Record<string, unknown>, cacheOptions = {}) {
  const { route, control } = listRoute(() => locals);
  const h: Harness = await setup({ routes: [route], cacheOptions });
  return { h, control };
}

const JUNK_GROUPS: Array<[label: string, value: unknown]> = [
  ['an object', { id: 1 }],
  ["''", ''],
  ['NaN in a list', ['user_1', Number.NaN]],
  ['null in a list', ['user_1', null]],
];

const JUNK_OTHER: Array<[label: string, locals: Record<string, unknown>]> = [
  ['cacheTtl -1', { cacheTtl: -1 }],
  ["cacheTtl '60s'", { cacheTtl: '60s' }],
  ["cacheSkip 'yes'", { cacheSkip: 'yes' }],
];

export const HANDLER_DECIDES_SCENARIOS: Scenario[] = [
  [
    'cacheGroups: groups the handler adds (a string, a list, numbers as decimal strings) expire its entry',
    async (setup) => {
      for (const [added, expire] of [
        ['user_7', 'user_7'],
        [['user_7', 8], '8'],
        [['user_7', 8], 8],
      ] as const) {
        const { h, control } = await withList(setup, { cacheGroups: added });
        await expectSequence(h, '/list', ['MISS', 'HIT']);
        await h.cache.expireGroups(expire);
        await expectSequence(h, '/list', ['MISS', 'HIT']);
        // The key function's groups still hold.
        await h.cache.expireGroups('lists');
        await expectSequence(h, '/list', ['MISS']);
        assert.equal(control.runs, 3);
        assert.deepEqual(h.errors, []);
      }
    },
  ],
  [
    'cacheGroups race: a group the handler adds, expired while the handler runs, dooms the fill (never a HIT after)',
    async (setup) => {
      const { h, control } = await withList(setup, { cacheGroups: ['late'] });
      const gate = deferred();
      control.gate = gate.promise;
      const running = h.get('/list');
      await control.entered.promise;
      await h.cache.expireGroups('late');
      gate.resolve();
      const first = await running;
      assert.equal(first.headers['x-cache'], 'MISS');
      assert.deepEqual(json(first), { run: 1 });
      control.gate = undefined;
      const after = await h.get('/list');
      assert.equal(after.headers['x-cache'], 'MISS', 'the doomed fill was not stored');
      assert.deepEqual(json(after), { run: 2 });
      assert.equal((await h.get('/list')).headers['x-cache'], 'HIT');
      // Control: the same expiry before the fill starts changes nothing.
      const { h: calm } = await withList(setup, { cacheGroups: ['late'] });
      await calm.cache.expireGroups('late');
      await expectSequence(calm, '/list', ['MISS', 'HIT']);
    },
  ],
  [
    'cacheTtl: the handler sets its entry TTL in ms; one over MAX_TTL is held to it',
    async (setup) => {
      const { h } = await withList(setup, { cacheTtl: 2_000 }, { ttl: 60_000 });
      await expectSequence(h, '/list', ['MISS']);
      h.clock.advance(1_999);
      await expectSequence(h, '/list', ['HIT']);
      h.clock.advance(2);
      await expectSequence(h, '/list', ['MISS']);
      const { h: long } = await withList(setup, { cacheTtl: Number.MAX_SAFE_INTEGER }, { cacheStatus: true });
      await expectSequence(long, '/list', ['MISS']);
      const [hit] = await expectSequence(long, '/list', ['HIT']);
      assert.equal(hit?.headers['cache-status'], 'group-cache; hit; ttl=31536000');
      assert.deepEqual(long.errors, []);
    },
  ],
  [
    'cacheSkip = true: served to the client, never stored, a MISS (detail "cache-skip")',
    async (setup) => {
      const { h, control } = await withList(setup, { cacheSkip: true, cacheGroups: ['x'] }, { cacheStatus: true });
      const [first] = await expectSequence(h, '/list', ['MISS', 'MISS']);
      assert.equal(first?.status, 200);
      assert.equal(first?.headers['cache-status'], 'group-cache; fwd=miss; detail="cache-skip"');
      assert.equal(control.runs, 2);
      assert.equal(h.cache.stats().stores, 0);
      assert.deepEqual(h.errors, []);
      const { h: kept } = await withList(setup, { cacheSkip: false });
      await expectSequence(kept, '/list', ['MISS', 'HIT']);
    },
  ],
  ...JUNK_GROUPS.map(
    ([label, value]): Scenario => [
      `cacheGroups holding ${label}: the response is served, not stored, EINVALIDGROUP reported`,
      async (setup) => {
        const { h, control } = await withList(setup, { cacheGroups: value }, { cacheStatus: true });
        const [first] = await expectSequence(h, '/list', ['MISS', 'MISS']);
        assert.equal(first?.status, 200);
        assert.equal(first?.headers['cache-status'], 'group-cache; fwd=miss; detail="invalid-value"');
        assert.equal(control.runs, 2);
        assert.equal(h.cache.stats().stores, 0);
        assert.deepEqual(
          h.errors.map((error) => error.code),
          ['EINVALIDGROUP', 'EINVALIDGROUP'],
        );
        includes(h.errors[0]?.message, 'GET /list');
      },
    ],
  ),
  ...JUNK_OTHER.map(
    ([label, locals]): Scenario => [
      `${label}: the response is served, not stored, ERESPONSE reported`,
      async (setup) => {
        const { h } = await withList(setup, locals);
        const [first] = await expectSequence(h, '/list', ['MISS', 'MISS']);
        assert.equal(first?.status, 200);
        assert.equal(h.cache.stats().stores, 0);
        assert.deepEqual(
          h.errors.map((error) => error.code),
          ['ERESPONSE', 'ERESPONSE'],
        );
      },
    ],
  ),
  ...(['cacheGroups', 'cacheTtl', 'cacheSkip'] as const).map(
    (name): Scenario => [
      `a ${name} getter that throws: the response is served, not stored (MISS, detail "invalid-value"), ERESPONSE names it`,
      async (setup) => {
        const locals = Object.defineProperty({}, name, {
          enumerable: true,
          get() {
            throw new Error('getter broke');
          },
        });
        const { h, control } = await withList(setup, locals, { cacheStatus: true });
        const [first] = await expectSequence(h, '/list', ['MISS', 'MISS']);
        assert.equal(first?.status, 200);
        assert.deepEqual(json(first as NonNullable<typeof first>), { run: 1 });
        assert.equal(first?.headers['cache-status'], 'group-cache; fwd=miss; detail="invalid-value"');
        assert.equal(control.runs, 2);
        assert.equal(h.cache.stats().stores, 0);
        assert.equal(h.cache.stats().notStoredReasons['invalid-value'], 2);
        assert.deepEqual(
          h.errors.map((error) => error.code),
          ['ERESPONSE', 'ERESPONSE'],
        );
        includes(h.errors[0]?.message, `reading ${name} of GET /list threw: getter broke`);
      },
    ],
  ),
  [
    'cacheGroups past maxGroups (with the key function groups) is refused: not stored, EINVALIDGROUP',
    async (setup) => {
      const { h } = await withList(setup, { cacheGroups: ['a', 'b', 'lists'] }, { maxGroups: 3 });
      await expectSequence(h, '/list', ['MISS', 'HIT']); // 'lists' is the key function's own: 3 groups in all
      const { h: over } = await withList(setup, { cacheGroups: ['a', 'b', 'c'] }, { maxGroups: 3 });
      await expectSequence(over, '/list', ['MISS']);
      assert.deepEqual(
        over.errors.map((error) => error.code),
        ['EINVALIDGROUP'],
      );
      includes(over.errors[0]?.message, 'maxGroups 3');
    },
  ],
];
