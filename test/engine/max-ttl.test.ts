/*
 * Issue 27, item 7: a ttl and a stale window that each pass alone (ttl: MAX_TTL, staleWhileRevalidate: MAX_TTL)
 * make an entry kept at most MAX_TTL, and stored, on every store; a fill the store refuses is reported with one
 * cause, never a list of guesses.
 */
import { expect } from 'chai';
import {
  type CachedEntry,
  type CacheStore,
  createCache,
  type GroupCache,
  MAX_TTL,
  memoryStore,
  type NotStoredEvent,
  type StoreRefusal,
} from 'group-cache';
import { groupCache } from 'group-cache/express';
import { express, request } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';
import { cachesOnEveryStore } from '../helpers/redis-fixtures.js';

const STORES = cachesOnEveryStore('maxttl');

for (const [label, make] of STORES) {
  describe(`ttl plus stale window past MAX_TTL, ${label}`, () => {
    let cache: GroupCache;
    let notStored: NotStoredEvent[];
    beforeEach(async function () {
      cache = await make(this);
      notStored = [];
      cache.on('notStored', (event) => notStored.push(event));
    });
    afterEach(async () => {
      if (cache === undefined) return;
      await cache.clear();
      await cache.close();
    });

    it('getOrSet with ttl: MAX_TTL and staleWhileRevalidate: MAX_TTL is stored, kept MAX_TTL in all', async () => {
      let loads = 0;
      const options = { ttl: MAX_TTL, staleWhileRevalidate: MAX_TTL };
      expect(await cache.getOrSet('year', () => ++loads, options)).to.equal(1);
      expect(await cache.getOrSet('year', () => ++loads, options)).to.equal(1);
      expect(loads).to.equal(1);
      expect(notStored).to.deep.equal([]);
      expect(cache.stats()).to.include({ stores: 1, hits: 1 });
      const entry = await cache.inspect('year', { data: true });
      expect(entry?.staleUntil).to.equal(entry?.freshUntil);
      expect((entry?.staleUntil ?? 0) - (entry?.storedAt ?? 0)).to.equal(MAX_TTL);
    });

    it('a route with ttl: MAX_TTL and staleWhileRevalidate: MAX_TTL is stored and hit (Express)', async () => {
      const app = express();
      let version = 0;
      app.get(
        '/year',
        groupCache(() => 'year', { cache, ttl: MAX_TTL, staleWhileRevalidate: MAX_TTL }),
        (_req, res) => {
          res.send(`v${++version}`);
        },
      );
      // The fill is stored after its response went out: on Redis, the next read may come first.
      const settled = new Promise<string>((resolve) => {
        cache.once('store', () => resolve('stored'));
        cache.once('notStored', (event) => resolve(`not stored: ${event.detail}`));
      });
      expect((await request(app).get('/year')).text).to.equal('v1');
      expect(await settled).to.equal('stored');
      const second = await request(app).get('/year');
      expect(second.headers['x-cache']).to.equal('HIT');
      expect(second.text).to.equal('v1');
      expect(notStored).to.deep.equal([]);
    });

    it('a value refused because its group was expired while it loaded: the detail names that group, alone', async () => {
      const gate = deferred();
      const entered = deferred();
      const pending = cache.getOrSet(
        'doomed',
        async () => {
          entered.resolve();
          await gate.promise;
          return 1;
        },
        { groups: ['users'] },
      );
      await entered.promise;
      await cache.expireGroups('users');
      gate.resolve();
      expect(await pending).to.equal(1);
      expect(notStored.map(({ reason, detail }) => ({ reason, detail }))).to.deep.equal([
        { reason: 'refused-by-store', detail: 'refused by the store: group "users" was expired after this fill started' },
      ]);
    });
  });
}

describe('a refused fill names one cause', () => {
  /** A memory store whose set() refuses, naming `cause` when given one. */
  function refusingStore(cause?: StoreRefusal): CacheStore {
    const store = memoryStore();
    store.set = (_key: string, _entry: CachedEntry, refused?: (why: StoreRefusal) => void): boolean => {
      if (cause !== undefined) refused?.(cause);
      return false;
    };
    return store;
  }

  const expected: Array<[StoreRefusal | undefined, RegExp]> = [
    ['too-large', /^refused by the store: an entry of 1 body bytes is over its size limit$/],
    ['newer', /^refused by the store: it holds an entry of this key whose fill started later$/],
    ['expired', /^refused by the store: one of its groups or its key was expired after this fill started$/],
    ['ttl', /^refused by the store: it does not keep an entry for 60000 ms \(ttl plus stale window\)$/],
    [undefined, /^refused by the memory store, which named no cause$/],
  ];
  for (const [cause, detail] of expected) {
    it(`a store that answers ${cause === undefined ? 'false alone' : `the cause ${cause}`}`, async () => {
      const cache = createCache({ store: refusingStore(cause) });
      const events: NotStoredEvent[] = [];
      cache.on('notStored', (event) => events.push(event));
      expect(await cache.getOrSet('k', () => 1)).to.equal(1);
      expect(events).to.have.length(1);
      expect(events[0]?.reason).to.equal('refused-by-store');
      expect(events[0]?.detail).to.match(detail);
      expect(events[0]?.detail).to.not.match(/, or /);
      await cache.close();
    });
  }
});
