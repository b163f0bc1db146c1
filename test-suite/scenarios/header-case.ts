/*
 * A hit replays header names in the case the handler set them, as its miss sent them (issue 15): some clients
 * and proxies compare raw names.
 */
import { get } from 'node:http';
import { assert, includes } from '../assert.js';
import type { RouteSpec, Scenario } from '../harness.js';
import { listen } from '../http.js';

/** GET `url` and return its raw header names (as sent on the wire) and its X-Cache value. */
function rawNames(url: string): Promise<{ names: string[]; xcache: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ names: res.rawHeaders.filter((_, i) => i % 2 === 0), xcache: String(res.headers['x-cache']) }),
      );
    }).on('error', reject);
  });
}

const route: RouteSpec = {
  method: 'get',
  path: '/cased',
  cached: { keyFn: () => ({ key: 'cased', groups: ['cased'] }) },
  handle: () => ({
    status: 200,
    headers: { 'X-Custom-Header': 'one', 'x-lower-header': 'two', 'Content-Type': 'text/plain; charset=utf-8' },
    body: 'cased',
  }),
};

export const HEADER_CASE_SCENARIOS: Scenario[] = [
  [
    'a hit replays header names in the case the handler set them',
    async (setup) => {
      const h = await setup({ routes: [route] });
      const server = await listen(h.app);
      try {
        const miss = await rawNames(`${server.url}/cased`);
        const hit = await rawNames(`${server.url}/cased`);
        assert.deepEqual([miss.xcache, hit.xcache], ['MISS', 'HIT']);
        // As the miss sent them: a framework whose responses are Web `Headers` (Hono) sends every name in lower case.
        for (const name of ['X-Custom-Header', 'x-lower-header']) {
          const sent = miss.names.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
          includes(hit.names, sent, `hit sends ${name} as the miss did`);
        }
        const type = miss.names.find((name) => name.toLowerCase() === 'content-type');
        includes(hit.names, type);
      } finally {
        await server.close();
      }
    },
  ],
];
