import { expect } from 'chai';
import { createCache, type GroupCache, type GroupCacheError, memoryStore, type PurgeOptions, type Purger } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { express, getRaw, request } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';

/** An edge in the test's hands: records each purge (when, what), and fails or holds purges on demand. */
function recordingPurger(name = 'edge') {
  const calls: { tags: readonly string[]; options: PurgeOptions; at: number }[] = [];
  const state = { fail: false, hold: undefined as Promise<void> | undefined };
  const purger: Purger = {
    name,
    async purge(tags, options) {
      calls.push({ tags, options, at: performance.now() });
      if (state.hold !== undefined) await state.hold;
      if (state.fail) throw new Error(`${name} is down`);
    },
  };
  return { purger, calls, state };
}

function app(cache: GroupCache, onError: 'fail' | 'continue' = 'fail', slow = 0) {
  const db = { version: 1 };
  const made = express();
  made.use(expireGroups({ cache, onError }));
  made.get(
    '/items/:id',
    groupCache((req) => ({ key: `item_${req.params.id}`, groups: [`item_group_${req.params.id}`, 'items'] }), { cache }),
    async (_req, res) => {
      if (slow > 0) await new Promise((resolve) => setTimeout(resolve, slow));
      res.set('Cache-Control', 'public, max-age=0, must-revalidate').json({ version: db.version });
    },
  );
  made.get(
    '/cookie',
    groupCache(() => 'cookie', { cache }),
    (_req, res) => {
      res.cookie('session', 'abc').json({ ok: true });
    },
  );
  made.get(
    '/untagged',
    groupCache(() => ({ key: 'untagged', groups: ['items'] }), { cache, cdnTags: false }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  made.put('/items/:id', (req, res) => {
    db.version++;
    res.locals.expireGroups = [`item_group_${req.params.id}`];
    res.json({ version: db.version });
  });
  return made;
}

const WINDOW = 60;

function edgeCache(purgers: Purger[], extra: { soft?: boolean; ttl?: number } = {}): GroupCache {
  const cache = createCache({
    store: memoryStore(),
    cdnTags: 'Surrogate-Key',
    retryInterval: 100,
    edge: { purgers, window: WINDOW, ...extra },
  });
  cache.on('error', () => {});
  return cache;
}

describe('createCache({ edge }): the purge is part of expiring', () => {
  it('a write purges the edge by the group’s tag, at least `window` ms after the store recorded the expiry, before its response', async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger]);
    let expiredAt = 0;
    cache.on('expire', () => {
      expiredAt = performance.now();
    });
    const hold = deferred();
    edge.state.hold = hold.promise;
    let answered = false;
    const write = request(app(cache))
      .put('/items/1')
      .then((res) => {
        answered = true;
        return res;
      });
    while (edge.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(edge.calls[0]?.tags).to.deep.equal(['item_group_1']);
    expect(edge.calls[0]?.options).to.deep.equal({ soft: false });
    expect((edge.calls[0]?.at ?? 0) - expiredAt).to.be.at.least(WINDOW - 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered, 'the write answered before its purge landed').to.equal(false);
    hold.resolve();
    expect((await write).status).to.equal(200);
  });

  it("onError 'fail': a write whose purge failed is answered 503; the purge is retried until it lands", async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger]);
    const errors: GroupCacheError[] = [];
    cache.on('error', (error) => errors.push(error));
    edge.state.fail = true;
    const write = await request(app(cache)).put('/items/1');
    expect(write.status).to.equal(503);
    expect(errors.map((error) => error.code)).to.include('EPURGE');
    expect(cache.stats().pendingPurges).to.equal(1);
    edge.state.fail = false;
    while (cache.stats().pendingPurges > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(edge.calls.at(-1)?.tags).to.deep.equal(['item_group_1']);
    await cache.close();
  });

  it("onError 'continue': the write's own response goes out though its purge failed", async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger]);
    edge.state.fail = true;
    expect((await request(app(cache, 'continue')).put('/items/1')).status).to.equal(200);
    await cache.close();
  });

  it('cache.expireGroups() rejects with EPURGE when an edge could not be purged; the other edges were', async () => {
    const up = recordingPurger('up');
    const down = recordingPurger('down');
    down.state.fail = true;
    const cache = edgeCache([up.purger, down.purger]);
    const failure = await cache.expireGroups(['items', 'items']).then(
      () => undefined,
      (error: GroupCacheError) => error,
    );
    expect(failure?.code).to.equal('EPURGE');
    expect(failure?.message).to.match(/down: down is down/);
    expect(up.calls.map((call) => call.tags)).to.deep.equal([['items']]);
    expect(cache.stats().pendingPurges).to.equal(1);
    await cache.close();
  });

  it('close() reports the purges still queued as never applied (EPURGE), and stops retrying them', async () => {
    const edge = recordingPurger();
    edge.state.fail = true;
    const cache = createCache({
      store: memoryStore(),
      cdnTags: 'Surrogate-Key',
      retryInterval: 60_000,
      edge: { purgers: edge.purger, window: 1 },
    });
    const errors: GroupCacheError[] = [];
    cache.on('error', (error) => errors.push(error));
    await cache.expireGroups('items').catch(() => {});
    await cache.close();
    expect(errors.at(-1)?.code).to.equal('EPURGE');
    expect(errors.at(-1)?.message).to.match(/never applied because the cache was closed: items/);
    expect(cache.stats().pendingPurges).to.equal(0);
  });

  it('soft: true asks every purger for a soft purge', async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger], { soft: true });
    await cache.expireGroups('items');
    expect(edge.calls[0]?.options).to.deep.equal({ soft: true });
  });

  it('a long or odd group name is purged as the CDN header spelled it (its digest)', async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger]);
    await cache.expireGroups('a group, with spaces');
    expect(edge.calls[0]?.tags[0]).to.match(/^[A-Za-z0-9_-]{43}$/);
  });

  it('expireKey purges nothing at the edge (an edge knows responses by URL and tag, not by key)', async () => {
    const edge = recordingPurger();
    const cache = edgeCache([edge.purger]);
    await cache.expireKey('item_1');
    expect(edge.calls).to.deep.equal([]);
  });

  it('option checks: edge without cdnTags, no purgers, a purger without purge() or a name, unknown fields', () => {
    const purger = recordingPurger().purger;
    expect(() => createCache({ edge: { purgers: purger } })).to.throw(TypeError, /option edge needs option cdnTags/);
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: { purgers: [] } })).to.throw(TypeError, /edge.purgers/);
    const noPurge = { name: 'x' } as unknown as Purger;
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: { purgers: noPurge } })).to.throw(TypeError, /edge.purgers\[0\]/);
    const noName = { purge: async () => {} } as unknown as Purger;
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: { purgers: noName } })).to.throw(TypeError, /needs a name/);
    const typo = { purgers: purger, windw: 5 } as unknown as { purgers: Purger };
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: typo })).to.throw(TypeError, /did you mean window/);
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: { purgers: purger, window: 0 } })).to.throw(
      TypeError,
      /option edge.window/,
    );
    expect(() => createCache({ cdnTags: 'Cache-Tag', edge: { purgers: purger, ttl: -1 } })).to.throw(
      TypeError,
      /option edge.ttl/,
    );
  });
});

describe('createCache({ edge }): what the edge is told (Surrogate-Control)', () => {
  it('a miss and a hit offer the edge a lifetime with the race bound; the client’s Cache-Control stays the handler’s', async () => {
    // A wide window: on a loaded machine even a quick miss may take tens of ms.
    const edge = { purgers: recordingPurger().purger, ttl: 30_000, window: 4_000 };
    const cache = createCache({ store: memoryStore(), cdnTags: 'Surrogate-Key', edge });
    const served = app(cache);
    const miss = await getRaw(served, '/items/1');
    expect(miss.headers['surrogate-control']).to.equal('max-age=30, fetch-within=2000');
    expect(miss.headers['cache-control']).to.equal('public, max-age=0, must-revalidate');
    expect(miss.headers['surrogate-key']).to.equal('item_group_1 items');
    const hit = await getRaw(served, '/items/1');
    expect(hit.headers['x-cache']).to.equal('HIT');
    // One header, this response's own: the stored entry does not keep the miss's.
    expect(hit.headers['surrogate-control']).to.equal('max-age=30, fetch-within=2000');
    expect(hit.headers['cache-control']).to.equal('public, max-age=0, must-revalidate');
  });

  it("a hit's edge lifetime never outlives the entry's own TTL", async () => {
    const cache = createCache({
      store: memoryStore(),
      ttl: 5_000,
      cdnTags: 'Surrogate-Key',
      edge: { purgers: recordingPurger().purger, ttl: 60_000, window: 4_000 },
    });
    const served = app(cache);
    await getRaw(served, '/items/1');
    expect((await getRaw(served, '/items/1')).headers['surrogate-control']).to.match(/^max-age=[45], /);
  });

  it('what the app does not store, the edge is told not to store: Set-Cookie, a write, an untagged route', async () => {
    const cache = edgeCache([recordingPurger().purger]);
    const served = app(cache);
    expect((await getRaw(served, '/cookie')).headers['surrogate-control']).to.equal('no-store');
    expect((await request(served).put('/items/1')).headers['surrogate-control']).to.equal(undefined);
    expect((await getRaw(served, '/untagged')).headers['surrogate-control']).to.equal('no-store');
  });

  it('a fill slower than fetch-within is not offered to the edge (it may have read before an expiry already purged)', async () => {
    const cache = edgeCache([recordingPurger().purger]);
    const slow = await getRaw(app(cache, 'fail', WINDOW), '/items/1');
    expect(slow.headers['x-cache']).to.equal('MISS');
    expect(slow.headers['surrogate-control']).to.equal('no-store');
  });

  it('a fill doomed by an expiry of this process while it ran is not offered to the edge', async () => {
    // A window wide enough that only the doom refuses it.
    const cache = createCache({
      store: memoryStore(),
      cdnTags: 'Surrogate-Key',
      edge: { purgers: recordingPurger().purger, window: 400 },
    });
    const made = express();
    const release = deferred();
    let entered = false;
    made.get(
      '/doomed',
      groupCache(() => ({ key: 'doomed', groups: ['items'] }), { cache }),
      async (_req, res) => {
        entered = true;
        await release.promise;
        res.json({ ok: true });
      },
    );
    const pending = getRaw(made, '/doomed');
    while (!entered) await new Promise((resolve) => setTimeout(resolve, 5));
    const expiring = cache.expireGroups('items');
    release.resolve();
    expect((await pending).headers['surrogate-control']).to.equal('no-store');
    await expiring;
  });

  it('without edge, no Surrogate-Control is sent or changed', async () => {
    const cache = createCache({ store: memoryStore(), cdnTags: 'Surrogate-Key' });
    expect((await getRaw(app(cache), '/items/1')).headers['surrogate-control']).to.equal(undefined);
  });
});
