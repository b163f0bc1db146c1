/*
 * Header names that are also Object.prototype members (`__proto__`, `constructor`, `toString`), named by a
 * route's `vary` option or a response's `Vary` header: every lookup of a request header by such a name must see
 * the request's own headers only (issue 14, item 10: they used to fail every request on the route with a 500).
 */
import { assert } from '../assert.js';
import { expectSequence, type RouteSpec, type Scenario } from '../harness.js';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString'];

function ownHeader(headers: object, name: string): string | undefined {
  return Object.hasOwn(headers, name) ? String((headers as Record<string, unknown>)[name]) : undefined;
}

/** Echoes the `constructor` request header, so a test sees which variant it was served. */
function protoRoute(path: string, vary: readonly string[], responseVary: string | undefined): RouteSpec {
  return {
    method: 'get',
    path,
    cached: { keyFn: () => ({ key: `proto${path}`, groups: ['proto'] }), options: { vary } },
    handle: (req) => ({
      status: 200,
      headers: responseVary === undefined ? undefined : { vary: responseVary },
      body: `constructor=${ownHeader(req.headers, 'constructor') ?? 'none'}`,
    }),
  };
}

const ROUTES: RouteSpec[] = [
  protoRoute('/proto/both', ['__proto__'], '__proto__, constructor'),
  protoRoute('/proto/option', PROTO_NAMES, undefined),
  protoRoute('/proto/response', [], '__proto__, constructor, toString'),
];

export const VARY_PROTOTYPE_SCENARIOS: Scenario[] = [
  [
    "vary: ['__proto__'] and Vary: __proto__, constructor: served, cached, no 500",
    async (setup) => {
      const h = await setup({ routes: ROUTES });
      const [miss, hit] = await expectSequence(h, '/proto/both', ['MISS', 'HIT']);
      assert.equal(miss?.status, 200);
      assert.equal(hit?.status, 200);
      assert.equal(hit?.body.toString(), 'constructor=none');
      assert.deepEqual(h.errors, []);
    },
  ],
  [
    'Vary: __proto__, constructor: the entry varies on the request’s own constructor header',
    async (setup) => {
      const h = await setup({ routes: ROUTES });
      const get = async (value: string) => {
        const res = await h.get('/proto/both', { constructor: value });
        assert.equal(res.status, 200, value);
        return `${res.headers['x-cache']} ${res.body.toString()}`;
      };
      assert.equal(await get('a'), 'MISS constructor=a');
      assert.equal(await get('a'), 'HIT constructor=a');
      // Another value must not be served a's response: the stored Vary values differ.
      assert.equal(await get('b'), 'MISS constructor=b');
      assert.equal(await get('b'), 'HIT constructor=b');
      // No constructor header reads as '' (not Object.prototype.constructor), so it is a variant of its own.
      const [none] = await expectSequence(h, '/proto/both', ['MISS', 'HIT']);
      assert.equal(none?.body.toString(), 'constructor=none');
    },
  ],
  [
    "vary: ['__proto__', 'constructor', 'toString'] (route option): one entry per own header value",
    async (setup) => {
      const h = await setup({ routes: ROUTES });
      const get = async (value: string) => {
        const res = await h.get('/proto/option', { constructor: value });
        return `${res.status} ${res.headers['x-cache']} ${res.body.toString()}`;
      };
      assert.equal(await get('a'), '200 MISS constructor=a');
      assert.equal(await get('b'), '200 MISS constructor=b');
      // The key holds the value, so both variants stay stored side by side.
      assert.equal(await get('a'), '200 HIT constructor=a');
      assert.equal(await get('b'), '200 HIT constructor=b');
      await expectSequence(h, '/proto/option', ['MISS', 'HIT']);
      assert.deepEqual(h.errors, []);
    },
  ],
  [
    'Vary: __proto__, constructor, toString (response only): stored and served as a HIT',
    async (setup) => {
      const h = await setup({ routes: ROUTES });
      const [, hit] = await expectSequence(h, '/proto/response', ['MISS', 'HIT']);
      assert.equal(hit?.status, 200);
      assert.equal(hit?.headers.vary, '__proto__, constructor, toString');
      assert.equal(h.cache.stats().stores, 1);
    },
  ],
];
