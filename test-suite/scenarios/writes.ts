/*
 * Writes and fills under attack (issue 14, items 1, 5, 6 and 8): bad values in a write's groups, writes naming
 * more groups than one store call takes, post/redirect/get, and fills whose handler never settles.
 */
import { assert, atLeast, below } from '../assert.js';
import type { RouteSpec, Scenario } from '../harness.js';
import { expectSequence } from '../harness.js';
import { deferred, listen } from '../http.js';

/** A write route that names `groups` as they are, junk included. */
function writeRoute(path: string, groups: unknown, status = 200, headers?: Record<string, string>): RouteSpec {
  return {
    method: 'put',
    path,
    handle: () => ({ status, headers, body: status === 303 ? undefined : { ok: true }, expireGroups: groups }),
  };
}

const byId: RouteSpec = {
  method: 'get',
  path: '/ids/:id',
  cached: { keyFn: (req) => ({ key: `id_${req.params.id}`, groups: [String(req.params.id)] }) },
  handle: (req) => ({ status: 200, body: { id: req.params.id } }),
};

const JUNK: Array<[label: string, value: unknown]> = [
  ['an object', { id: 1 }],
  ["''", ''],
  ['NaN', Number.NaN],
  ['null inside the list', null],
];

export const WRITE_SCENARIOS: Scenario[] = [
  ...JUNK.map(
    ([label, junk]): Scenario => [
      `expireGroups holding ${label} beside valid groups: the valid ones are expired, the value reported (EINVALIDGROUP)`,
      async (setup) => {
        const h = await setup({ routes: [writeRoute('/junk', ['user_group_1', junk]), byId] });
        for (const path of ['/users/1', '/users/2']) await expectSequence(h, path, ['MISS']);
        const write = await h.put('/junk');
        assert.equal(write.status, 503, "onError 'fail' by default: one intended expiry did not happen");
        await expectSequence(h, '/users/1', ['MISS']);
        await expectSequence(h, '/users/2', ['HIT']);
        assert.deepEqual(
          h.errors.map((error) => error.code),
          ['EINVALIDGROUP'],
        );
      },
    ],
  ),
  [
    "expireGroups holding junk with onError: 'continue': the write answers 200, the valid groups are expired",
    async (setup) => {
      const h = await setup({ routes: [writeRoute('/junk', ['users', {}])], expire: { onError: 'continue' } });
      await expectSequence(h, '/users/1', ['MISS']);
      assert.equal((await h.put('/junk')).status, 200);
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.deepEqual(
        h.errors.map((error) => error.code),
        ['EINVALIDGROUP'],
      );
    },
  ],
  [
    'numbers in expireGroups name the group of their decimal string (an id straight from a database)',
    async (setup) => {
      const h = await setup({ routes: [writeRoute('/ids', [42, 7.5]), byId] });
      for (const path of ['/ids/42', '/ids/7.5', '/ids/43']) await expectSequence(h, path, ['MISS', 'HIT']);
      assert.equal((await h.put('/ids')).status, 200);
      await expectSequence(h, '/ids/42', ['MISS']);
      await expectSequence(h, '/ids/7.5', ['MISS']);
      await expectSequence(h, '/ids/43', ['HIT']);
      assert.deepEqual(h.errors, []);
    },
  ],
  [
    'a write naming 12,000 groups expires them all (in batches), the last one included',
    async (setup) => {
      const many = Array.from({ length: 12_000 }, (_, i) => `bulk_${i}`);
      many.push('users');
      const h = await setup({ routes: [writeRoute('/bulk', many)] });
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.equal((await h.put('/bulk')).status, 200);
      await expectSequence(h, '/users/1', ['MISS']);
      assert.deepEqual(h.errors, []);
    },
  ],
  [
    'a write answering with a redirect (303 after a form POST) expires its groups',
    async (setup) => {
      const h = await setup({ routes: [writeRoute('/form/1', ['user_group_1'], 303, { location: '/users/1' })] });
      await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      const write = await h.put('/form/1');
      assert.equal(write.status, 303);
      assert.equal(write.headers.location, '/users/1');
      await expectSequence(h, '/users/1', ['MISS']);
    },
  ],
  [
    'a fill whose handler never settles is released when its client goes: the next request does not wait',
    async (setup) => {
      const entered = deferred();
      let calls = 0;
      const hang: RouteSpec = {
        method: 'get',
        path: '/hang',
        cached: { keyFn: () => ({ key: 'hang', groups: ['hang'] }) },
        handle: () => {
          calls++;
          if (calls > 1) return { status: 404, body: { error: 'gone' } };
          entered.resolve();
          return new Promise(() => {}); // never settles
        },
      };
      const h = await setup({ routes: [hang], cacheOptions: { waitTimeout: 5_000 } });
      const server = await listen(h.app);
      try {
        const abort = new AbortController();
        const first = fetch(`${server.url}/hang`, { signal: abort.signal }).catch(() => 'aborted');
        await entered.promise;
        abort.abort();
        assert.equal(await first, 'aborted');
        await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the socket close
        for (let i = 0; i < 2; i++) {
          const started = Date.now();
          const res = await fetch(`${server.url}/hang`);
          assert.equal(res.status, 404);
          below(Date.now() - started, 1_000, `request ${i + 2} waited for the abandoned fill`);
        }
      } finally {
        await server.close();
      }
    },
  ],
  [
    'a fill still running after waitTimeout holds its key only once: later requests run their own handler at once',
    async (setup) => {
      const entered = deferred();
      const hold = deferred();
      let calls = 0;
      const slow: RouteSpec = {
        method: 'get',
        path: '/held',
        cached: { keyFn: () => ({ key: 'held', groups: ['held'] }) },
        handle: async () => {
          calls++;
          if (calls === 1) {
            entered.resolve();
            await hold.promise;
          }
          return { status: 404, body: { error: 'not stored' } };
        },
      };
      const h = await setup({ routes: [slow], cacheOptions: { waitTimeout: 300 } });
      const server = await listen(h.app);
      try {
        const first = fetch(`${server.url}/held`);
        await entered.promise;
        let started = Date.now();
        assert.equal((await fetch(`${server.url}/held`)).status, 404);
        atLeast(Date.now() - started, 250, 'the second request waited waitTimeout');
        started = Date.now();
        assert.equal((await fetch(`${server.url}/held`)).status, 404);
        below(Date.now() - started, 200, 'the third did not wait again');
        hold.resolve();
        assert.equal((await first).status, 404);
      } finally {
        hold.resolve();
        await server.close();
      }
    },
  ],
];
