/*
 * Range requests on hits (issue 14, item 12; RFC 9110 §14): a single byte range of a stored 200 is a 206 from the
 * stored body, an unsatisfiable one a 416, several ranges the full 200 (no multipart/byteranges), and If-Range
 * (§13.1.5) falls back to the full 200 unless its validator matches strongly.
 */
import { assert } from '../assert.js';
import type { Harness, RouteSpec, Scenario } from '../harness.js';
import { expectSequence } from '../harness.js';
import type { RawResponse } from '../http.js';

const BODY = '0123456789abcdefghij';
const LENGTH = BODY.length;
const ETAG = '"range-v1"';
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

const ROUTES: RouteSpec[] = [
  {
    method: 'get',
    path: '/range/text',
    cached: { keyFn: () => ({ key: 'range_text', groups: ['range'] }) },
    handle: () => ({
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', etag: ETAG, 'last-modified': LAST_MODIFIED },
      body: BODY,
    }),
  },
  {
    method: 'get',
    path: '/range/weak',
    cached: { keyFn: () => ({ key: 'range_weak', groups: ['range'] }) },
    handle: () => ({ status: 200, headers: { 'content-type': 'text/plain', etag: `W/${ETAG}` }, body: BODY }),
  },
  {
    method: 'get',
    path: '/range/203',
    cached: { keyFn: () => ({ key: 'range_203', groups: ['range'] }), options: { statuses: [200, 203] } },
    handle: () => ({ status: 203, headers: { 'content-type': 'text/plain' }, body: BODY }),
  },
];

/** A harness with the range routes, `path` already stored (the first GET is a MISS). */
async function stored(setup: Parameters<Scenario[1]>[0], path = '/range/text'): Promise<Harness> {
  const h = await setup({ routes: ROUTES });
  await expectSequence(h, path, ['MISS']);
  return h;
}

function expectHit(res: RawResponse, what: string): void {
  assert.equal(res.headers['x-cache'], 'HIT', what);
}

function expectFull(res: RawResponse, what: string): void {
  expectHit(res, what);
  assert.equal(res.status, 200, what);
  assert.equal(res.body.toString(), BODY, what);
  assert.equal(res.headers['content-length'], String(LENGTH), what);
  assert.equal(res.headers['content-range'], undefined, what);
}

function expectPartial(res: RawResponse, start: number, end: number, what: string): void {
  expectHit(res, what);
  assert.equal(res.status, 206, what);
  assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${LENGTH}`, what);
  assert.equal(res.headers['content-length'], String(end - start + 1), what);
  assert.equal(res.body.toString(), BODY.slice(start, end + 1), what);
}

export const RANGE_SCENARIOS: Scenario[] = [
  [
    'Range: bytes=0-4 on a hit is a 206 with Content-Range and the first five bytes, and the 200’s headers',
    async (setup) => {
      const h = await stored(setup);
      const res = await h.get('/range/text', { range: 'bytes=0-4' });
      expectPartial(res, 0, 4, 'bytes=0-4');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.headers.etag, ETAG);
      assert.equal(res.headers['last-modified'], LAST_MODIFIED);
      assert.equal(h.calls.range ?? 0, 0);
    },
  ],
  [
    'Range: bytes=-5 (a suffix) on a hit is a 206 with the last five bytes',
    async (setup) => {
      const h = await stored(setup);
      expectPartial(await h.get('/range/text', { range: 'bytes=-5' }), LENGTH - 5, LENGTH - 1, 'bytes=-5');
      expectPartial(await h.get('/range/text', { range: 'bytes=15-' }), 15, LENGTH - 1, 'bytes=15-');
      expectPartial(await h.get('/range/text', { range: 'bytes=10-999' }), 10, LENGTH - 1, 'bytes=10-999');
    },
  ],
  [
    'Range: bytes=100000- on a hit is a 416 with Content-Range: bytes */length',
    async (setup) => {
      const h = await stored(setup);
      const res = await h.get('/range/text', { range: 'bytes=100000-' });
      expectHit(res, 'bytes=100000-');
      assert.equal(res.status, 416);
      assert.equal(res.headers['content-range'], `bytes */${LENGTH}`);
      assert.equal(res.body.length, 0);
      // The entry is untouched: the next plain GET is the full hit.
      expectFull(await h.get('/range/text'), 'after the 416');
    },
  ],
  [
    'several ranges on a hit get the full 200 (no multipart); ranges that merge into one get a 206',
    async (setup) => {
      const h = await stored(setup);
      expectFull(await h.get('/range/text', { range: 'bytes=0-1,5-6' }), 'bytes=0-1,5-6');
      expectFull(await h.get('/range/text', { range: 'bytes=0-1,-2' }), 'bytes=0-1,-2');
      expectPartial(await h.get('/range/text', { range: 'bytes=0-4,3-8' }), 0, 8, 'bytes=0-4,3-8 (overlapping)');
    },
  ],
  [
    'a malformed Range or another unit on a hit is ignored: the full 200',
    async (setup) => {
      const h = await stored(setup);
      for (const range of ['bytes=abc', 'items=0-4', 'bytes']) {
        expectFull(await h.get('/range/text', { range }), range);
      }
    },
  ],
  [
    'If-Range with the entry’s strong ETag or its Last-Modified date serves the range',
    async (setup) => {
      const h = await stored(setup);
      expectPartial(await h.get('/range/text', { range: 'bytes=0-4', 'if-range': ETAG }), 0, 4, 'If-Range: ETag');
      expectPartial(
        await h.get('/range/text', { range: 'bytes=0-4', 'if-range': LAST_MODIFIED }),
        0,
        4,
        'If-Range: Last-Modified',
      );
    },
  ],
  [
    'If-Range that does not match (another ETag, a weak one, another date) gets the full 200',
    async (setup) => {
      const h = await stored(setup);
      for (const ifRange of ['"other"', `W/${ETAG}`, 'Thu, 22 Oct 2015 07:28:00 GMT', 'not a date']) {
        expectFull(await h.get('/range/text', { range: 'bytes=0-4', 'if-range': ifRange }), `If-Range: ${ifRange}`);
      }
      // RFC 9110 §8.8.3.2: a weak stored ETag never matches strongly, even against itself.
      const weak = await stored(setup, '/range/weak');
      expectFull(await weak.get('/range/weak', { range: 'bytes=0-4', 'if-range': `W/${ETAG}` }), 'weak entry');
      expectPartial(await weak.get('/range/weak', { range: 'bytes=0-4' }), 0, 4, 'weak entry without If-Range');
    },
  ],
  [
    'HEAD with Range on a hit answers as GET would, without a body',
    async (setup) => {
      const h = await stored(setup);
      const partial = await h.head('/range/text', { range: 'bytes=0-4' });
      expectHit(partial, 'HEAD bytes=0-4');
      assert.equal(partial.status, 206);
      assert.equal(partial.headers['content-range'], `bytes 0-4/${LENGTH}`);
      assert.equal(partial.headers['content-length'], '5');
      assert.equal(partial.body.length, 0);
      const unsatisfiable = await h.head('/range/text', { range: 'bytes=100000-' });
      assert.equal(unsatisfiable.status, 416);
      assert.equal(unsatisfiable.headers['content-range'], `bytes */${LENGTH}`);
    },
  ],
  [
    'Range on a hit of a stored non-200 status (203) gets the full response',
    async (setup) => {
      const h = await stored(setup, '/range/203');
      const res = await h.get('/range/203', { range: 'bytes=0-4' });
      expectHit(res, 'bytes=0-4 on a 203');
      assert.equal(res.status, 203);
      assert.equal(res.body.toString(), BODY);
    },
  ],
  [
    'If-None-Match is evaluated before Range: a matching validator is a 304 (RFC 9110 §13.2.2)',
    async (setup) => {
      const h = await stored(setup);
      const res = await h.get('/range/text', { range: 'bytes=0-4', 'if-none-match': ETAG });
      expectHit(res, '304');
      assert.equal(res.status, 304);
    },
  ],
];
