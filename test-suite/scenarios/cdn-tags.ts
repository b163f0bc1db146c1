/*
 * CDN tags (issue 11): `cdnTags` sends an entry's groups to a CDN in `Surrogate-Key` (Fastly, space-separated) or
 * `Cache-Tag` (Cloudflare, comma-separated) on misses and hits, long or odd names by their digest, within 16 KiB;
 * `onExpire` hears every expiry so that the app can purge its CDN too (the purge call is a recording function).
 */
import { createHash } from 'node:crypto';
import { get, type IncomingHttpHeaders } from 'node:http';
import { assert, atMost, includes, within } from '../assert.js';
import type { Harness, RouteResponse, RouteSpec, Scenario } from '../harness.js';
import { expectSequence } from '../harness.js';
import { listen } from '../http.js';

const digest = (name: string): string => createHash('sha256').update(name).digest('base64url');

function taggedRoute(groups: string[], locals?: Record<string, unknown>): RouteSpec {
  return {
    method: 'get',
    path: '/tagged',
    cached: { keyFn: () => ({ key: 'tagged', groups }) },
    handle: (): RouteResponse => ({ status: 200, body: { ok: true }, locals }),
  };
}

/** A CDN purge API stand-in: records what it was asked to purge. */
function mockPurge() {
  const calls: Array<{ tags: string[]; groups: string[]; keys: string[] }> = [];
  return {
    calls,
    onExpire({ groups, keys, cdnTags }: { groups: string[]; keys: string[]; cdnTags: string[] }) {
      calls.push({ tags: cdnTags, groups, keys });
    },
  };
}

// Node's HTTP client takes 16 KiB of headers in all by default: a CDN (Fastly, Cloudflare) takes a 16 KiB tag header.
function getLarge(url: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    get(url, { maxHeaderSize: 64 * 1024 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error) => {
    if (warning.name === 'GroupCacheWarning') seen.push(warning);
  };
  process.on('warning', listener);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

export const CDN_TAG_SCENARIOS: Scenario[] = [
  [
    'cdnTags off by default: no Surrogate-Key or Cache-Tag',
    async (setup) => {
      const h = await setup();
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      for (const res of [miss, hit]) {
        assert.equal(res?.headers['surrogate-key'], undefined);
        assert.equal(res?.headers['cache-tag'], undefined);
      }
    },
  ],
  [
    "cdnTags: 'Surrogate-Key' sends the entry's groups space-separated on the miss and on every hit",
    async (setup) => {
      const h = await setup({ cacheOptions: { cdnTags: 'Surrogate-Key' } });
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.equal(miss?.headers['surrogate-key'], 'user_group_1 users');
      assert.equal(hit?.headers['surrogate-key'], 'user_group_1 users');
      assert.equal(hit?.headers['cache-tag'], undefined);
    },
  ],
  [
    "cdnTags: 'Cache-Tag' sends them comma-separated; a route option overrides the cache's, false turns it off",
    async (setup) => {
      const h = await setup({ cacheOptions: { cdnTags: 'Surrogate-Key' }, usersOptions: { cdnTags: 'Cache-Tag' } });
      const [miss, hit] = await expectSequence(h, '/users/1', ['MISS', 'HIT']);
      assert.equal(miss?.headers['cache-tag'], 'user_group_1,users');
      assert.equal(hit?.headers['cache-tag'], 'user_group_1,users');
      assert.equal(hit?.headers['surrogate-key'], undefined);
      assert.equal((await h.get('/profiles/1')).headers['surrogate-key'], 'user_group_1 users');
      const off = await setup({ cacheOptions: { cdnTags: 'Cache-Tag' }, usersOptions: { cdnTags: false } });
      const [offMiss, offHit] = await expectSequence(off, '/users/1', ['MISS', 'HIT']);
      assert.equal(offMiss?.headers['cache-tag'], undefined);
      assert.equal(offHit?.headers['cache-tag'], undefined);
    },
  ],
  [
    'cdnTags: groups the handler added are sent too, and a refused response sends none',
    async (setup) => {
      const h = await setup({
        cacheOptions: { cdnTags: 'Surrogate-Key' },
        routes: [taggedRoute(['lists'], { cacheGroups: ['user_1', 2] })],
      });
      const [miss, hit] = await expectSequence(h, '/tagged', ['MISS', 'HIT']);
      assert.equal(miss?.headers['surrogate-key'], 'lists user_1 2');
      assert.equal(hit?.headers['surrogate-key'], 'lists user_1 2');
      const refused = await h.get('/fixed/cookie');
      assert.equal(refused.headers['x-cache'], 'MISS');
      assert.equal(refused.headers['surrogate-key'], undefined);
    },
  ],
  [
    'cdnTags: names with a separator, a control or non-ASCII character, or over 128 characters go by their digest',
    async (setup) => {
      const odd = ['a b', 'a,b', 'ü', 'x'.repeat(129), 'x'.repeat(128)];
      const h = await setup({ cacheOptions: { cdnTags: 'Cache-Tag' }, routes: [taggedRoute(odd)] });
      const [, hit] = await expectSequence(h, '/tagged', ['MISS', 'HIT']);
      assert.equal(
        hit?.headers['cache-tag'],
        [digest('a b'), digest('a,b'), digest('ü'), digest('x'.repeat(129)), 'x'.repeat(128)].join(','),
      );
    },
  ],
  [
    'cdnTags: the header stays within 16 KiB; the tags past it are dropped with one process warning per route',
    async (setup) => {
      const groups = Array.from({ length: 300 }, (_, i) => `group_${String(i).padStart(3, '0')}_${'g'.repeat(90)}`);
      let h: Harness | undefined;
      const seen: IncomingHttpHeaders[] = [];
      const warnings = await warningsDuring(async () => {
        h = await setup({ cacheOptions: { cdnTags: 'Surrogate-Key', maxGroups: 300 }, routes: [taggedRoute(groups)] });
        const server = await listen(h.app);
        try {
          for (let i = 0; i < 3; i++) seen.push(await getLarge(`${server.url}/tagged`));
        } finally {
          await server.close();
        }
      });
      assert.deepEqual(
        seen.map((headers) => headers['x-cache']),
        ['MISS', 'HIT', 'HIT'],
      );
      const value = String(seen[1]?.['surrogate-key']);
      assert.equal(seen[0]?.['surrogate-key'], value);
      atMost('Surrogate-Key: '.length + value.length, 16 * 1024);
      const sent = value.split(' ');
      assert.deepEqual(sent, groups.slice(0, sent.length));
      within(sent.length, 150, 299);
      assert.equal(warnings.length, 1, 'one warning for the route, not one per response');
      includes(warnings[0]?.message, `${300 - sent.length} group tag(s) dropped`);
    },
  ],
  [
    'onExpire hears every expiry (a write, expireGroups, expireKey) with the CDN tags to purge',
    async (setup) => {
      const purge = mockPurge();
      const long = 'l'.repeat(200);
      const h = await setup({ cacheOptions: { cdnTags: 'Surrogate-Key', onExpire: purge.onExpire } });
      await expectSequence(h, '/users/1', ['MISS']);
      assert.equal((await h.put('/users/1')).status, 200);
      assert.deepEqual(purge.calls, [{ tags: ['user_group_1'], groups: ['user_group_1'], keys: [] }]);
      await h.cache.expireGroups(['users', 42, long]);
      await h.cache.expireKey('user_1');
      assert.deepEqual(purge.calls.slice(1), [
        { tags: ['users', '42', digest(long)], groups: ['users', '42', long], keys: [] },
        { tags: [], groups: [], keys: ['user_1'] },
      ]);
      assert.deepEqual(h.errors, []);
    },
  ],
  [
    'onExpire that throws or rejects is reported as an error event; the write and the expiry still succeed',
    async (setup) => {
      for (const onExpire of [
        () => {
          throw new Error('CDN down');
        },
        () => Promise.reject(new Error('CDN down')),
      ]) {
        const h = await setup({ cacheOptions: { onExpire } });
        await expectSequence(h, '/users/1', ['MISS', 'HIT']);
        assert.equal((await h.put('/users/1')).status, 200);
        await expectSequence(h, '/users/1', ['MISS']);
        await h.cache.expireGroups('users');
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(h.errors.length, 2);
        includes(h.errors[0]?.message, 'onExpire failed: CDN down');
      }
    },
  ],
  [
    'onExpire is not called for an expiry the store did not record, and is once it lands on retry',
    async (setup) => {
      const purge = mockPurge();
      const h = await setup({ cacheOptions: { onExpire: purge.onExpire, retryInterval: 10 } });
      const store = h.cache.store;
      const original = store.expire.bind(store);
      let failing = true;
      store.expire = (tags) => (failing ? Promise.reject(new Error('store down')) : original(tags));
      await h.cache.expireGroups('users').catch(() => {});
      assert.deepEqual(purge.calls, []);
      failing = false;
      for (let i = 0; i < 100 && purge.calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(purge.calls, [{ tags: ['users'], groups: ['users'], keys: [] }]);
    },
  ],
];
