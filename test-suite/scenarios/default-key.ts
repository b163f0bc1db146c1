/*
 * A key function that gives groups only gets the request's method and URL as its key, query parameters sorted
 * (issue 15): the common `groupCache(() => 'search')` ignores the query string; this default does not.
 */
import { assert } from '../assert.js';
import type { RouteSpec, Scenario } from '../harness.js';
import { expectSequence, json } from '../harness.js';

function searchRoute(calls: { count: number }): RouteSpec {
  return {
    method: 'get',
    path: '/search',
    cached: { keyFn: () => ({ groups: ['search'] }) },
    handle: () => {
      calls.count++;
      return { status: 200, body: { run: calls.count } };
    },
  };
}

export const DEFAULT_KEY_SCENARIOS: Scenario[] = [
  [
    'groups without a key: the URL is the key, query parameters sorted, and the groups still expire it',
    async (setup) => {
      const calls = { count: 0 };
      const h = await setup({ routes: [searchRoute(calls)] });
      const [first] = await expectSequence(h, '/search?q=cats&page=2', ['MISS', 'HIT']);
      await expectSequence(h, '/search?page=2&q=cats', ['HIT']);
      await expectSequence(h, '/search?q=dogs&page=2', ['MISS', 'HIT']);
      await expectSequence(h, '/search', ['MISS', 'HIT']);
      assert.equal(calls.count, 3);
      const head = await h.head('/search?page=2&q=cats');
      assert.equal(head.headers['x-cache'], 'HIT', 'HEAD reads the GET entry');
      await h.cache.expireGroups('search');
      const [fresh] = await expectSequence(h, '/search?q=cats&page=2', ['MISS']);
      assert.notDeepEqual(json(fresh!), json(first!));
      await h.cache.expireKey('GET /search?page=2&q=cats');
      await expectSequence(h, '/search?q=cats&page=2', ['MISS']);
    },
  ],
];
