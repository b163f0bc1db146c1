import { expect } from 'chai';
import { type CacheStore, createCache, type GroupCacheError, memoryStore } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { express, getRaw, request } from '../helpers/express-app.js';

/**
 * A chaos wrapper over the real memory store (bentocache's `alwaysThrow()` / `alwaysDelay()`): each method can be
 * made to throw, reject or hang. The Redis fault tests do the same with a real redis-server that is killed.
 */
function chaosStore(mode: { get?: 'throw' | 'hang'; set?: 'reject' | 'hang'; expire?: 'reject' }): CacheStore {
  const inner = memoryStore();
  const hang = () => new Promise<never>(() => {});
  return {
    name: 'chaos',
    get(key) {
      if (mode.get === 'throw') throw new Error('ECONNREFUSED');
      if (mode.get === 'hang') return hang();
      return inner.get(key);
    },
    set(key, entry) {
      if (mode.set === 'reject') return Promise.reject(new Error('OOM command not allowed'));
      if (mode.set === 'hang') return hang();
      return inner.set(key, entry);
    },
    expire(tags) {
      if (mode.expire === 'reject') return Promise.reject(new Error('READONLY'));
      return inner.expire(tags);
    },
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
  };
}

function app(store: CacheStore) {
  const cache = createCache({ store, storeTimeout: 100, retryInterval: 60_000 });
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  const server = express();
  let calls = 0;
  server.use(expireGroups({ cache, onError: 'continue' }));
  server.get(
    '/k',
    groupCache(() => ({ key: 'k', groups: ['g'] }), { cache }),
    (_req, res) => res.send(`call ${calls++}`),
  );
  server.put('/k', (_req, res) => {
    res.locals.expireGroups = 'g';
    res.send('written');
  });
  return { server, cache, errors, calls: () => calls };
}

describe('a failing store never fails a request', () => {
  it('get() throws: served by the handler, BYPASS, ESTORE reported', async () => {
    const { server, errors, calls } = app(chaosStore({ get: 'throw' }));
    const res = await getRaw(server, '/k');
    expect(res.status).to.equal(200);
    expect(res.headers['x-cache']).to.equal('BYPASS');
    await getRaw(server, '/k');
    expect(calls()).to.equal(2);
    expect(errors[0]?.code).to.equal('ESTORE');
    expect(errors[0]?.message).to.match(/store\.get failed: ECONNREFUSED/);
  });

  it('get() hangs: answered after about storeTimeout, ETIMEOUT reported', async () => {
    const { server, errors } = app(chaosStore({ get: 'hang' }));
    const started = Date.now();
    const res = await getRaw(server, '/k');
    expect(Date.now() - started).to.be.within(90, 1_000);
    expect(res.status).to.equal(200);
    expect(errors[0]?.code).to.equal('ETIMEOUT');
  });

  it('set() rejects or hangs: the response is still delivered whole, and not stored', async () => {
    for (const set of ['reject', 'hang'] as const) {
      const { server, cache, errors } = app(chaosStore({ set }));
      const res = await getRaw(server, '/k');
      expect(res.body.toString()).to.equal('call 0');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(cache.stats().stores, set).to.equal(0);
      expect(
        errors.map((e) => e.code),
        set,
      ).to.have.length(1);
    }
  });

  it('expire() rejects: the write answers, the expiry is queued and reported', async () => {
    const { server, cache, errors } = app(chaosStore({ expire: 'reject' }));
    const res = await request(server).put('/k');
    expect(res.status).to.equal(200);
    expect(cache.stats().pendingExpiries).to.equal(1);
    expect(errors.map((e) => e.code)).to.deep.equal(['EEXPIRE']);
    expect(errors[0]?.message).to.match(/could not expire group "g" now; queued for retry/);
    expect(errors[0]?.cause).to.be.instanceOf(Error);
    await cache.close();
  });

  it('closing with expiries pending reports them as dropped', async () => {
    const { server, cache, errors } = app(chaosStore({ expire: 'reject' }));
    await request(server).put('/k');
    await cache.close();
    expect(errors.map((e) => e.code)).to.deep.equal(['EEXPIRE', 'EEXPIREDROPPED']);
  });

  it('an overflowing retry queue drops the oldest expiry and reports it', async () => {
    const cache = createCache({ store: chaosStore({ expire: 'reject' }), maxPendingExpiries: 2, retryInterval: 60_000 });
    const errors: GroupCacheError[] = [];
    cache.on('error', (error) => errors.push(error));
    for (const group of ['a', 'b', 'c']) await cache.expireGroups(group).catch(() => {});
    expect(cache.stats().pendingExpiries).to.equal(2);
    const dropped = errors.find((e) => e.code === 'EEXPIREDROPPED');
    expect(dropped?.details.tags).to.deep.equal(['g:a']);
    await cache.close();
  });
});
