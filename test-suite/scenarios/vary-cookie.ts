/*
 * `vary: ['cookie:sid']` puts one cookie in the key (issue 14, "say it where users look"): a per-user page is
 * cached per session, and other cookies beside it do not split the cache.
 */
import { assert } from '../assert.js';
import type { RouteSpec, Scenario } from '../harness.js';
import { json } from '../harness.js';

function accountRoute(calls: { count: number }): RouteSpec {
  return {
    method: 'get',
    path: '/account',
    cached: { keyFn: () => ({ key: 'account', groups: ['accounts'] }), options: { vary: ['cookie:sid'] } },
    handle: (req) => {
      calls.count++;
      const sid = /(?:^|;\s*)sid=([^;]*)/.exec(String(req.headers.cookie ?? ''))?.[1] ?? 'anonymous';
      return { status: 200, body: { page: `account of ${sid}` } };
    },
  };
}

export const VARY_COOKIE_SCENARIOS: Scenario[] = [
  [
    "vary: ['cookie:sid'] keeps one entry per session and never serves one user's page to another",
    async (setup) => {
      const calls = { count: 0 };
      const h = await setup({ routes: [accountRoute(calls)] });
      const page = async (cookie?: string) => {
        const res = await h.get('/account', cookie === undefined ? {} : { cookie });
        return `${res.headers['x-cache']} ${(json(res) as { page: string }).page}`;
      };
      assert.equal(await page('sid=alice'), 'MISS account of alice');
      assert.equal(await page('sid=bob'), 'MISS account of bob');
      assert.equal(await page(), 'MISS account of anonymous');
      assert.equal(await page('_ga=1; sid=alice; theme=dark'), 'HIT account of alice');
      assert.equal(await page('sid=bob'), 'HIT account of bob');
      assert.equal(await page('SID=alice'), 'HIT account of anonymous');
      assert.equal(calls.count, 3);
    },
  ],
];
