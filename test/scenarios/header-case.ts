/*
 * A hit replays header names in the case the handler set them, as its miss sent them (issue 15): some clients
 * and proxies compare raw names.
 */
import { get } from 'node:http';
import { expect } from 'chai';
import type { RouteSpec, Scenario } from '../adapter-conformance.js';
import { listen } from '../helpers/http.js';

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
        expect([miss.xcache, hit.xcache]).to.deep.equal(['MISS', 'HIT']);
        for (const name of ['X-Custom-Header', 'x-lower-header']) {
          expect(miss.names, `miss sends ${name}`).to.include(name);
          expect(hit.names, `hit sends ${name}`).to.include(name);
        }
        const type = miss.names.find((name) => name.toLowerCase() === 'content-type');
        expect(hit.names).to.include(type);
      } finally {
        await server.close();
      }
    },
  ],
];
