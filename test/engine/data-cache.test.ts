/*
 * Data on the response cache (issue 9, "Data too, as the seed did it"): cache.getOrSet() and cache.wrap() share
 * the store, the expiry records, the single fill and the fill stamps of cached responses, on both stores.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import {
  type CacheOptions,
  type CacheStore,
  createCache,
  type DataOptions,
  type GroupCache,
  type GroupCacheError,
  type Serializer,
} from 'group-cache';
import { groupCache } from 'group-cache/express';
import { redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { express, manualClock, request } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from '../helpers/redis-server.js';

interface User {
  id: number;
  version: number;
}

/** A loader that counts its calls and reads a version at the moment it runs, optionally held by a gate. */
function counted<T>(load: () => T) {
  const calls = { count: 0 };
  let gate: Promise<void> | undefined;
  let entered: (() => void) | undefined;
  const loader = async (): Promise<T> => {
    calls.count++;
    const value = load(); // read before waiting: a slow loader returns what it read when it started
    entered?.();
    if (gate !== undefined) await gate;
    return value;
  };
  return {
    loader,
    calls,
    /** Holds the next runs until the returned `release()`; `entered` resolves once one has read its data. */
    hold() {
      const held = deferred();
      const enter = deferred();
      gate = held.promise;
      entered = () => enter.resolve();
      return {
        entered: enter.promise,
        release: () => {
          gate = undefined;
          held.resolve();
        },
      };
    },
  };
}

/*
 * A fill is dated a few microseconds early, on the safe side (store-clock.ts): one that enters within them of an
 * expiry is refused like one that started before it. Tests that expect the refill after an expiry to be stored wait
 * past that margin first.
 */
function pastExpiry(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2));
}

function errorsOf(cache: GroupCache): GroupCacheError[] {
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  return errors;
}

/**
 * For each case: getOrSet answers the loader's own value on two calls (the loader ran twice: nothing was stored), and
 * the last error (from `errorsOf`) is an EVALUE of the json serializer matching the case's pattern and `also`.
 */
async function expectReturnedNotStored(
  cache: GroupCache,
  errors: readonly GroupCacheError[],
  cases: ReadonlyArray<[key: string, value: unknown, message: RegExp]>,
  also?: RegExp,
): Promise<void> {
  for (const [key, value, message] of cases) {
    let loads = 0;
    const loader = () => {
      loads++;
      return value;
    };
    expect(await cache.getOrSet(key, loader), key).to.equal(value);
    expect(await cache.getOrSet(key, loader), key).to.equal(value);
    expect(loads, `${key} is not cached`).to.equal(2);
    const error = errors.at(-1);
    expect(error?.code, key).to.equal('EVALUE');
    expect(error?.message, key)
      .to.match(/cannot be stored by the json serializer/)
      .and.match(message);
    if (also !== undefined) expect(error?.message, key).to.match(also);
  }
}

type Clock = ReturnType<typeof manualClock>;
type Make = (context: Mocha.Context, clock: Clock) => Promise<GroupCache>;

let server: RedisServer | undefined;
let client: Redis | undefined;
after(async () => {
  client?.disconnect();
  await server?.stop();
});

const STORES: Array<[label: string, make: Make]> = [
  ['memory store', async (_context, clock) => createCache({ now: clock.now })],
  [
    'Redis store',
    async (context, clock) => {
      server ??= await startRedisOrSkip(context);
      client ??= await connect(server);
      const cache = createCache({ store: redisStore({ client, prefix: uniquePrefix('data') }), now: clock.now });
      await cache.store.get('warm'); // the prefix's epoch exists before the test's calls enter...
      // ...by more than the margin a fill is dated back by (a round trip), or the first fills would be refused
      await new Promise((resolve) => setTimeout(resolve, 20));
      return cache;
    },
  ],
];

for (const [label, make] of STORES) {
  describe(`getOrSet / wrap, ${label}`, () => {
    let cache: GroupCache;
    let clock: Clock;
    beforeEach(async function () {
      clock = manualClock();
      cache = await make(this, clock);
    });
    afterEach(async () => {
      if (cache === undefined) return;
      await cache.clear();
      await cache.close();
    });

    it('getOrSet(key, loader): a miss runs the loader, the next call is a hit with an equal value', async () => {
      const db = { version: 1 };
      const user = counted(() => ({ id: 1, version: db.version, tags: ['a'], nested: { n: null } }));
      const first = await cache.getOrSet('user_1', user.loader);
      db.version = 2;
      const second = await cache.getOrSet('user_1', user.loader);
      expect(second).to.deep.equal({ id: 1, version: 1, tags: ['a'], nested: { n: null } });
      expect(second).to.deep.equal(first);
      expect(user.calls.count).to.equal(1);
      expect(cache.stats()).to.include({ hits: 1, misses: 1, stores: 1 });
    });

    it('getOrSet caches null, numbers, strings and arrays as they are', async () => {
      for (const [key, value] of [
        ['null', null],
        ['zero', 0],
        ['text', 'é ☃'],
        ['list', [1, 'two', false]],
      ] as const) {
        await cache.getOrSet(key, () => value);
        expect(await cache.getOrSet(key, () => 'loaded again')).to.deep.equal(value);
      }
    });

    it('expireGroups(group) invalidates the cached value and the cached response of that group at once', async () => {
      const db = new Map<number, number>([[1, 1]]);
      const calls = { data: 0, http: 0 };
      const loadUser = cache.wrap(
        async (id: number): Promise<User> => {
          calls.data++;
          return { id, version: db.get(id) ?? 0 };
        },
        (id) => ({ key: `user_${id}`, groups: [`user_group_${id}`, 'users'] }),
      );
      const app = express();
      app.get(
        '/users/:id',
        groupCache((req) => ({ key: `page_user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
          cache,
        }),
        (req, res) => {
          calls.http++;
          res.json({ id: Number(req.params.id), version: db.get(Number(req.params.id)) ?? 0 });
        },
      );
      expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('MISS');
      expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('HIT');
      expect(await loadUser(1)).to.deep.equal({ id: 1, version: 1 });
      expect(await loadUser(1)).to.deep.equal({ id: 1, version: 1 });
      expect(calls).to.deep.equal({ data: 1, http: 1 });

      db.set(1, 2);
      await cache.expireGroups('user_group_1');
      await pastExpiry();

      const page = await request(app).get('/users/1');
      expect(page.headers['x-cache']).to.equal('MISS');
      expect(page.body).to.deep.equal({ id: 1, version: 2 });
      expect(await loadUser(1)).to.deep.equal({ id: 1, version: 2 });
      expect(calls).to.deep.equal({ data: 2, http: 2 });
      expect(await loadUser(1)).to.deep.equal({ id: 1, version: 2 });
      expect(calls.data).to.equal(2);
    });

    it('a group shared by many values expires them all; other groups are untouched', async () => {
      const loads = { count: 0 };
      const load = (key: string, groups: string[]) =>
        cache.getOrSet(
          key,
          () => {
            loads.count++;
            return key;
          },
          { groups },
        );
      await load('a', ['users', 'g_a']);
      await load('b', ['users']);
      await load('c', ['other']);
      await cache.expireGroups(['users']);
      await load('a', ['users', 'g_a']);
      await load('b', ['users']);
      await load('c', ['other']);
      expect(loads.count).to.equal(5);
    });

    it('expireKey(key) invalidates the value of that key', async () => {
      const user = counted(() => ({ id: 1 }));
      await cache.getOrSet('user_1', user.loader);
      await cache.expireKey('user_1');
      await pastExpiry();
      await cache.getOrSet('user_1', user.loader);
      expect(user.calls.count).to.equal(2);
      await cache.getOrSet('user_1', user.loader);
      expect(user.calls.count).to.equal(2);
    });

    it('ttl: a value is fresh for ttl ms, then loaded again', async () => {
      const user = counted(() => ({ id: 1 }));
      await cache.getOrSet('user_1', user.loader, { ttl: 1_000 });
      clock.advance(999);
      await cache.getOrSet('user_1', user.loader, { ttl: 1_000 });
      expect(user.calls.count).to.equal(1);
      clock.advance(2);
      await cache.getOrSet('user_1', user.loader, { ttl: 1_000 });
      expect(user.calls.count).to.equal(2);
    });

    it('without a ttl option, the cache ttl applies (60 s by default)', async () => {
      const user = counted(() => 1);
      await cache.getOrSet('k', user.loader);
      clock.advance(59_999);
      await cache.getOrSet('k', user.loader);
      expect(user.calls.count).to.equal(1);
      clock.advance(2);
      await cache.getOrSet('k', user.loader);
      expect(user.calls.count).to.equal(2);
    });

    it('concurrent getOrSet calls for one key run the loader once and all get its value', async () => {
      const user = counted(() => ({ id: 7 }));
      const held = user.hold();
      const calls = Array.from({ length: 25 }, () => cache.getOrSet('user_7', user.loader));
      await held.entered;
      // Every lookup has answered and joined the one fill (a Redis answer arriving after it settled would miss).
      while (cache.stats().waits < 24) await new Promise((resolve) => setTimeout(resolve, 2));
      held.release();
      const values = await Promise.all(calls);
      expect(user.calls.count).to.equal(1);
      for (const value of values) expect(value).to.deep.equal({ id: 7 });
      expect(cache.stats().misses).to.equal(1);
    });

    it('the race: a loader that started before an expiry has its value returned to its caller, never served as fresh', async () => {
      const db = { version: 1 };
      const user = counted(() => ({ id: 1, version: db.version }));
      const held = user.hold();
      const read = cache.getOrSet('user_1', user.loader, { groups: 'user_group_1' });
      await held.entered; // the loader read version 1
      db.version = 2;
      await cache.expireGroups('user_group_1');
      held.release();
      expect(await read).to.deep.equal({ id: 1, version: 1 });
      await pastExpiry();
      const next = await cache.getOrSet('user_1', user.loader, { groups: 'user_group_1' });
      expect(next, 'the pre-expiry value must not be a hit').to.deep.equal({ id: 1, version: 2 });
      expect(user.calls.count).to.equal(2);
      expect(await cache.getOrSet('user_1', user.loader, { groups: 'user_group_1' })).to.deep.equal({ id: 1, version: 2 });
      expect(user.calls.count).to.equal(2);
      expect(cache.stats().refused).to.equal(1);
    });

    it('the race, with a waiter: a call that joined the doomed fill never gets its pre-expiry value', async () => {
      const db = { version: 1 };
      const user = counted(() => ({ id: 1, version: db.version }));
      const held = user.hold();
      const leader = cache.getOrSet('user_1', user.loader, { groups: 'user_group_1' });
      await held.entered;
      const waiter = cache.getOrSet('user_1', user.loader, { groups: 'user_group_1' });
      await new Promise((resolve) => setTimeout(resolve, 20)); // the waiter has joined the fill
      db.version = 2;
      await cache.expireGroups('user_group_1');
      held.release();
      expect(await leader).to.deep.equal({ id: 1, version: 1 });
      expect(await waiter).to.deep.equal({ id: 1, version: 2 });
      expect(user.calls.count).to.equal(2);
    });

    it('staleWhileRevalidate: a stale value is returned at once while one loader refreshes it in the background', async () => {
      const options = { ttl: 1_000, staleWhileRevalidate: 10_000, groups: 'users' };
      const db = { version: 1 };
      const user = counted(() => ({ version: db.version }));
      await cache.getOrSet('user_1', user.loader, options);
      clock.advance(1_500);
      db.version = 2;
      const held = user.hold();
      const stale: Array<{ version: number }> = [];
      for (let i = 0; i < 5; i++) stale.push(await cache.getOrSet('user_1', user.loader, options));
      await held.entered;
      expect(stale, 'every call answered before the refresh finished').to.deep.equal(Array(5).fill({ version: 1 }));
      expect(user.calls.count, 'one refresh').to.equal(2);
      const stored = once(cache, 'store');
      held.release();
      await stored;
      expect(await cache.getOrSet('user_1', user.loader, options)).to.deep.equal({ version: 2 });
      expect(user.calls.count).to.equal(2);
      expect(cache.stats().stale).to.equal(4);
    });

    it('staleWhileRevalidate: past the window, the caller waits for the loader', async () => {
      const options = { ttl: 1_000, staleWhileRevalidate: 1_000 };
      let version = 1;
      await cache.getOrSet('k', () => version, options);
      clock.advance(2_001);
      version = 2;
      expect(await cache.getOrSet('k', () => version, options)).to.equal(2);
    });

    it('staleWhileRevalidate never returns a value invalidated by an expiry', async () => {
      const options = { ttl: 1_000, staleWhileRevalidate: 10_000, groups: 'users' };
      let version = 1;
      await cache.getOrSet('k', () => version, options);
      clock.advance(1_500);
      version = 2;
      await cache.expireGroups('users');
      expect(await cache.getOrSet('k', () => version, options)).to.equal(2);
    });

    it('staleWhileRevalidate: a failed background refresh is an error event, never thrown; the stale value stays', async () => {
      const errors = errorsOf(cache);
      const options = { ttl: 1_000, staleWhileRevalidate: 10_000 };
      await cache.getOrSet('k', () => 'v1', options);
      clock.advance(1_500);
      const failed = once(cache, 'error');
      expect(
        await cache.getOrSet(
          'k',
          () => {
            throw new Error('database down');
          },
          options,
        ),
      ).to.equal('v1');
      await failed;
      expect(errors).to.have.length(1);
      expect(errors[0]?.code).to.equal('ELOADER');
      expect(errors[0]?.message).to.match(/background refresh of getOrSet key "k" failed: database down/);
      const stored = once(cache, 'store');
      expect(await cache.getOrSet('k', async () => 'v2', options), 'still stale, refreshed again').to.equal('v1');
      await stored;
      expect(await cache.getOrSet('k', () => 'v3', options)).to.equal('v2');
    });

    it('a loader error rejects the call, nothing is stored, and a waiter runs its own loader', async () => {
      const failing = counted((): string => {
        throw new Error('no such user');
      });
      const first = cache.getOrSet('user_1', failing.loader);
      const waiter = cache.getOrSet('user_1', async () => 'from the waiter');
      let caught: unknown;
      try {
        await first;
      } catch (error) {
        caught = error;
      }
      expect((caught as Error).message).to.equal('no such user');
      expect(await waiter).to.equal('from the waiter');
      expect(await cache.getOrSet('user_1', () => 'next')).to.be.oneOf(['from the waiter', 'next']);
      expect(cache.stats().stores).to.be.at.most(1);
    });

    it('a loader error: the next call loads again', async () => {
      let fail = true;
      const loader = () => {
        if (fail) throw new Error('boom');
        return 'ok';
      };
      await cache.getOrSet('k', loader).then(
        () => expect.fail('should reject'),
        (error: Error) => expect(error.message).to.equal('boom'),
      );
      fail = false;
      expect(await cache.getOrSet('k', loader)).to.equal('ok');
      expect(cache.stats().stores).to.equal(1);
    });

    it('a value JSON cannot hold is returned, not stored, and reported as an error event', async () => {
      const errors = errorsOf(cache);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const fn = () => 1;
      const cases: Array<[string, unknown, RegExp]> = [
        ['bigint', 10n, /BigInt/],
        ['function', fn, /function/],
        ['nested function', { save: fn }, /property "save" is a function/],
        ['symbol', { s: Symbol('x') }, /symbol/],
        ['map', { m: new Map([[1, 2]]) }, /Map/],
        ['cycle', cyclic, /circular/i],
      ];
      await expectReturnedNotStored(cache, errors, cases);
      expect(errors).to.have.length(cases.length * 2);
      expect(cache.stats().stores).to.equal(0);
    });

    it('a value JSON would give back changed (NaN, Infinity, a Date, a class instance...) is returned as the loader gave it, not stored, and reported (EVALUE)', async () => {
      const errors = errorsOf(cache);
      const notStored: string[] = [];
      cache.on('notStored', (event) => notStored.push(event.reason));
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      const joined = new Date(1_700_000_000_000);
      const cases: Array<[string, unknown, RegExp]> = [
        ['nan', { score: Number.NaN }, /property "score" is NaN and comes back as null/],
        ['infinity', { n: Number.POSITIVE_INFINITY }, /property "n" is Infinity and comes back as null/],
        ['minus-infinity', [Number.NEGATIVE_INFINITY], /is -Infinity and comes back as null/],
        ['date', { joined }, /property "joined" is a Date and comes back as a string/],
        ['top-date', joined, /the value is a Date and comes back as a string/],
        ['instance', { at: new Point(1, 2) }, /property "at" is a Point and comes back as an object/],
        ['array-hole', [1, undefined, 3], /is undefined and comes back as null/],
        ['set', new Set([1]), /is a Set and comes back as an object/],
      ];
      // The caller gets the loader's own value, every call: never a changed copy from the store.
      await expectReturnedNotStored(cache, errors, cases, /returned, not cached/);
      expect(errors).to.have.length(cases.length * 2);
      expect(notStored).to.deep.equal(Array(cases.length * 2).fill('not-json'));
      expect(cache.stats().stores).to.equal(0);
      expect(cache.stats().notStoredReasons['not-json']).to.equal(cases.length * 2);
    });

    it('a miss returns what a hit returns: the value decoded from what was stored, not the loader object', async () => {
      const made = { id: 1, tags: ['a'], nested: { at: '2024-01-01' }, gone: undefined };
      const first = await cache.getOrSet('copy', () => made);
      const second = await cache.getOrSet('copy', () => made);
      expect(first).to.deep.equal({ id: 1, tags: ['a'], nested: { at: '2024-01-01' } });
      expect(first).to.deep.equal(second);
      expect(first).to.not.equal(made);
      // The caller may change its copy: the loader's object, the store and the next caller are untouched.
      (first as { id: number }).id = 99;
      expect(made.id).to.equal(1);
      expect(await cache.getOrSet('copy', () => made)).to.deep.equal(second);
      expect(cache.stats()).to.include({ hits: 2, misses: 1, stores: 1 });
    });

    it("serializer 'v8': Date, Map, Set, BigInt, typed arrays, NaN and Infinity come back the same on the miss and on the hit", async () => {
      const errors = errorsOf(cache);
      const value = {
        joined: new Date(1_700_000_000_000),
        roles: new Map<string, Set<string>>([['admin', new Set(['read', 'write'])]]),
        ids: new Set([1n, 2n ** 70n]),
        bytes: new Uint8Array([1, 2, 3]),
        floats: new Float64Array([0.5, Number.NaN]),
        score: Number.NaN,
        limit: Number.POSITIVE_INFINITY,
        missing: undefined,
        pattern: /a+b/gi,
      };
      let loads = 0;
      const loader = () => {
        loads++;
        return value;
      };
      const miss = await cache.getOrSet('rich', loader, { serializer: 'v8' });
      const hit = await cache.getOrSet('rich', loader, { serializer: 'v8' });
      expect(loads).to.equal(1);
      for (const got of [miss, hit]) {
        expect(got).to.deep.equal(value);
        expect(got).to.not.equal(value);
        expect(got.joined).to.be.an.instanceOf(Date);
        expect(got.roles.get('admin')).to.be.an.instanceOf(Set);
        expect(got.ids.has(2n ** 70n)).to.equal(true);
        expect(got.bytes).to.be.an.instanceOf(Uint8Array);
        expect(got.score).to.be.NaN;
        expect(got).to.have.property('missing');
      }
      expect(errors).to.deep.equal([]);
    });

    it("serializer 'v8' still refuses what it cannot give back: a class instance, a function", async () => {
      const errors = errorsOf(cache);
      class Account {
        balance = 1;
      }
      const account = new Account();
      expect(await cache.getOrSet('account', () => account, { serializer: 'v8' })).to.equal(account);
      expect(errors.at(-1)?.message).to.match(/v8 serializer \(the value is a Account and comes back as an object\)/);
      const withFn = { f: () => 1 };
      expect(await cache.getOrSet('fn', () => withFn, { serializer: 'v8' })).to.equal(withFn);
      expect(errors.at(-1)?.message).to.match(/v8 serializer \(.*could not be cloned/);
      expect(errors.map((error) => error.code)).to.deep.equal(['EVALUE', 'EVALUE']);
      expect(cache.stats().stores).to.equal(0);
      expect(cache.stats().notStoredReasons['not-serializable']).to.equal(2);
    });

    it('a value stored by another serializer is a miss that refills, never misread', async () => {
      const errors = errorsOf(cache);
      let loads = 0;
      const loader = () => ({ n: ++loads });
      expect(await cache.getOrSet('switch', loader)).to.deep.equal({ n: 1 });
      expect(await cache.getOrSet('switch', loader, { serializer: 'v8' })).to.deep.equal({ n: 2 });
      expect(await cache.getOrSet('switch', loader, { serializer: 'v8' })).to.deep.equal({ n: 2 });
      expect(await cache.getOrSet('switch', loader)).to.deep.equal({ n: 3 });
      expect(loads).to.equal(3);
      expect(errors).to.deep.equal([]);
      const inspected = await cache.inspect('switch', { data: true });
      expect(inspected?.headers).to.deep.equal([['content-type', 'application/json; charset=utf-8']]);
    });

    it('wrap: a Date under JSON is returned as is, not cached (EVALUE); under v8 it is cached and comes back a Date', async () => {
      const errors = errorsOf(cache);
      let calls = 0;
      const since = (id: number) => {
        calls++;
        return { id, since: new Date(1_700_000_000_000 + id) };
      };
      const plain = cache.wrap(since, (id) => `since_${id}`);
      expect((await plain(1)).since).to.be.an.instanceOf(Date);
      expect((await plain(1)).since).to.be.an.instanceOf(Date);
      expect(calls).to.equal(2);
      expect(errors.map((error) => error.code)).to.deep.equal(['EVALUE', 'EVALUE']);
      expect(errors[0]?.message).to.match(/wrap\(since\) key "since_1" cannot be stored by the json serializer/);
      const rich = cache.wrap(since, (id) => `rich_${id}`, { serializer: 'v8' });
      expect((await rich(2)).since).to.be.an.instanceOf(Date);
      expect((await rich(2)).since).to.deep.equal(new Date(1_700_000_000_002));
      expect(calls).to.equal(3);
      expect(errors).to.have.length(2);
    });

    it('undefined is returned and not cached, without an error', async () => {
      const errors = errorsOf(cache);
      let loads = 0;
      const loader = () => {
        loads++;
        return undefined;
      };
      expect(await cache.getOrSet('missing', loader)).to.equal(undefined);
      expect(await cache.getOrSet('missing', loader)).to.equal(undefined);
      expect(loads).to.equal(2);
      expect(errors).to.deep.equal([]);
    });

    it('wrap(fn, keyFn) keeps the signature and caches per arguments', async () => {
      const calls: Array<[number, string]> = [];
      const find = async (id: number, fields: string): Promise<{ id: number; fields: string }> => {
        calls.push([id, fields]);
        return { id, fields };
      };
      const cached: (id: number, fields: string) => Promise<{ id: number; fields: string }> = cache.wrap(
        find,
        (id, fields) => `user_${id}_${fields}`,
      );
      expect(await cached(1, 'name')).to.deep.equal({ id: 1, fields: 'name' });
      expect(await cached(2, 'name')).to.deep.equal({ id: 2, fields: 'name' });
      expect(await cached(1, 'name')).to.deep.equal({ id: 1, fields: 'name' });
      expect(await cached(1, 'email')).to.deep.equal({ id: 1, fields: 'email' });
      expect(calls).to.deep.equal([
        [1, 'name'],
        [2, 'name'],
        [1, 'email'],
      ]);
    });

    it('wrap: options computed from the arguments, a key function ttl overriding them, a sync fn', async () => {
      let loads = 0;
      const square = cache.wrap(
        (n: number) => {
          loads++;
          return n * n;
        },
        (n) => (n === 3 ? { key: `square_${n}`, ttl: 5_000 } : `square_${n}`),
        (n) => ({ ttl: 1_000, groups: [`n_${n}`] }),
      );
      expect(await square(2)).to.equal(4);
      expect(await square(3)).to.equal(9);
      clock.advance(2_000);
      expect(await square(2)).to.equal(4);
      expect(await square(3)).to.equal(9);
      expect(loads, 'square(2) expired after 1 s, square(3) kept 5 s').to.equal(3);
      await cache.expireGroups('n_3');
      expect(await square(3)).to.equal(9);
      expect(loads).to.equal(4);
    });

    it('data and HTTP keys of the same name do not collide', async () => {
      const app = express();
      app.get(
        '/users/:id',
        groupCache((req) => `user_${req.params.id}`, { cache }),
        (_req, res) => {
          res.type('text/html').send('<h1>user 1</h1>');
        },
      );
      expect(await cache.getOrSet('user_1', () => ({ data: true }))).to.deep.equal({ data: true });
      const page = await request(app).get('/users/1');
      expect(page.headers['x-cache'], 'the value is not the response').to.equal('MISS');
      expect(page.text).to.equal('<h1>user 1</h1>');
      const again = await request(app).get('/users/1');
      expect(again.headers['x-cache']).to.equal('HIT');
      expect(again.text).to.equal('<h1>user 1</h1>');
      expect(await cache.getOrSet('user_1', () => 'loaded again')).to.deep.equal({ data: true });
    });

    it('a value over maxEntryBytes is returned and not stored', async () => {
      const big = 'x'.repeat(2 ** 20 + 1);
      let loads = 0;
      const loader = () => {
        loads++;
        return big;
      };
      expect(await cache.getOrSet('big', loader)).to.equal(big);
      expect(await cache.getOrSet('big', loader)).to.equal(big);
      expect(loads).to.equal(2);
    });
  });
}

describe('getOrSet across instances (two caches on one Redis prefix)', () => {
  let a: GroupCache;
  let b: GroupCache;
  let clock: Clock;
  beforeEach(async function () {
    server ??= await startRedisOrSkip(this);
    client ??= await connect(server);
    clock = manualClock();
    const prefix = uniquePrefix('data-shared');
    a = createCache({ store: redisStore({ client, prefix }), now: clock.now });
    b = createCache({ store: redisStore({ client, prefix }), now: clock.now });
    await a.store.get('warm');
    await new Promise((resolve) => setTimeout(resolve, 20)); // see the Redis store above
  });
  afterEach(async () => {
    if (a === undefined) return;
    await a.clear();
    await Promise.all([a.close(), b.close()]);
  });

  it('a value stored by one instance is a hit in the other; a group expired in either invalidates it in both', async () => {
    let version = 1;
    const load = () => ({ version });
    await a.getOrSet('user_1', load, { groups: 'user_group_1' });
    version = 2;
    expect(await b.getOrSet('user_1', load, { groups: 'user_group_1' })).to.deep.equal({ version: 1 });
    await b.expireGroups('user_group_1');
    await pastExpiry();
    expect(await a.getOrSet('user_1', load, { groups: 'user_group_1' })).to.deep.equal({ version: 2 });
    expect(await b.getOrSet('user_1', () => 'not loaded', { groups: 'user_group_1' })).to.deep.equal({ version: 2 });
  });

  it('the race across instances: an expiry from the other instance refuses a loader that started before it', async () => {
    const db = { version: 1 };
    const user = counted(() => ({ version: db.version }));
    const held = user.hold();
    const read = a.getOrSet('user_1', user.loader, { groups: 'users' });
    await held.entered;
    db.version = 2;
    await b.expireGroups('users'); // instance a knows nothing of it: only the store's records can refuse the fill
    held.release();
    expect(await read).to.deep.equal({ version: 1 });
    expect(a.stats().refused).to.equal(1);
    expect(await b.getOrSet('user_1', user.loader, { groups: 'users' })).to.deep.equal({ version: 2 });
    expect(await a.getOrSet('user_1', user.loader, { groups: 'users' })).to.deep.equal({ version: 2 });
  });

  // Issue 9: every concurrent caller gets the stale copy at once. A cross-instance fill lock must not make the
  // other instance wait (up to waitTimeout) for the refresh that the first one runs.
  it('staleWhileRevalidate: while one instance refreshes, the other also answers the stale value at once', async () => {
    const options = { ttl: 1_000, staleWhileRevalidate: 10_000 };
    await a.getOrSet('k', () => 'v1', options);
    clock.advance(1_500);
    const slow = deferred<string>();
    expect(await a.getOrSet('k', () => slow.promise, options)).to.equal('v1');
    const started = performance.now();
    const other = await b.getOrSet('k', async () => 'v2 from b', options);
    expect(other).to.equal('v1');
    expect(performance.now() - started, 'no wait for the other instance’s refresh').to.be.below(500);
    slow.resolve('v2 from a');
  });
});

/** A store whose every method throws, or only the ones named. */
function brokenStore(methods: readonly string[] = ['get', 'set', 'expire', 'delete', 'clear']): CacheStore {
  const base = createCache().store;
  const store: Record<string, unknown> = { name: 'broken' };
  for (const method of ['get', 'set', 'expire', 'delete', 'clear'] as const) {
    store[method] = methods.includes(method)
      ? () => {
          throw new Error(`${method} failed: connection refused`);
        }
      : base[method].bind(base);
  }
  return store as unknown as CacheStore;
}

describe('getOrSet / wrap: the serializer option', () => {
  it("createCache({ serializer: 'v8' }) is every call's default; a call's own serializer overrides it", async () => {
    const cache = createCache({ serializer: 'v8' });
    const joined = new Date(1_700_000_000_000);
    expect((await cache.getOrSet('rich', () => ({ joined }))).joined).to.be.an.instanceOf(Date);
    expect((await cache.getOrSet('rich', () => ({ joined: new Date(0) }))).joined).to.deep.equal(joined);
    expect((await cache.inspect('rich', { data: true }))?.headers).to.deep.equal([
      ['content-type', 'application/vnd.group-cache.v8'],
    ]);
    expect(await cache.getOrSet('plain', () => ({ n: 1 }), { serializer: 'json' })).to.deep.equal({ n: 1 });
    expect((await cache.inspect('plain', { data: true }))?.headers).to.deep.equal([
      ['content-type', 'application/json; charset=utf-8'],
    ]);
    expect(cache.serializer.name).to.equal('v8');
    expect(createCache().serializer.name).to.equal('json');
  });

  it('a serializer of your own: its bytes are stored under its name, and its round trip is checked too', async () => {
    const calls = { serialize: 0, deserialize: 0 };
    // JSON that keeps Dates, as a user might write one.
    const dated: Serializer = {
      name: 'dated-json',
      serialize(value) {
        calls.serialize++;
        return JSON.stringify(value, function (this: Record<string, unknown>, key, item) {
          const original = this[key];
          return original instanceof Date ? { $date: original.toISOString() } : item;
        });
      },
      deserialize(data) {
        calls.deserialize++;
        return JSON.parse(data.toString('utf8'), (_key, item) =>
          item !== null && typeof item === 'object' && typeof item.$date === 'string' ? new Date(item.$date) : item,
        );
      },
    };
    const cache = createCache({ serializer: dated });
    const errors = errorsOf(cache);
    const value = { joined: new Date(1_700_000_000_000) };
    const miss = await cache.getOrSet('k', () => value);
    const hit = await cache.getOrSet('k', () => value);
    expect(miss.joined).to.be.an.instanceOf(Date);
    expect(hit).to.deep.equal(value);
    // One serialize and one check on the miss; one read on the hit.
    expect(calls).to.deep.equal({ serialize: 1, deserialize: 2 });
    expect((await cache.inspect('k', { data: true }))?.headers).to.deep.equal([
      ['content-type', 'application/vnd.group-cache.dated-json'],
    ]);
    expect(await cache.getOrSet('nan', () => ({ n: Number.NaN }))).to.deep.equal({ n: Number.NaN });
    expect(errors.map((error) => error.message)).to.deep.equal([
      'the value of getOrSet key "nan" cannot be stored by the dated-json serializer (property "n" is NaN and comes back as null): returned, not cached',
    ]);
  });

  it('a serializer that throws or answers junk: the value is returned, not stored, and reported', async () => {
    const broken: Serializer = {
      name: 'broken',
      serialize: () => 42 as unknown as string,
      deserialize: () => 1,
    };
    const cache = createCache({ serializer: broken });
    const errors = errorsOf(cache);
    expect(await cache.getOrSet('k', () => 'v')).to.equal('v');
    expect(errors[0]?.message).to.match(/serializer broken returned number, not a string or bytes/);
    const unreadable: Serializer = {
      name: 'unreadable',
      serialize: () => 'x',
      deserialize: () => {
        throw new Error('bad bytes');
      },
    };
    expect(await cache.getOrSet('u', () => 'v', { serializer: unreadable })).to.equal('v');
    expect(errors[1]?.message).to.match(/its bytes do not read back: bad bytes/);
    expect(cache.stats().stores).to.equal(0);
  });

  it('a bad serializer option is a TypeError naming the option, at construction', async () => {
    const bad: Array<[unknown, RegExp]> = [
      ['yaml', /option serializer must be 'json', 'v8' or a serializer object, got "yaml"/],
      [42, /option serializer must be 'json', 'v8' or a serializer object, got 42/],
      [null, /option serializer must be/],
      [{}, /option serializer needs a name/],
      [{ name: 'has space', serialize() {}, deserialize() {} }, /option serializer needs a name/],
      [{ name: 'mine', serialize() {} }, /option serializer needs a deserialize\(\) function/],
      [{ name: 'json', serialize() {}, deserialize() {} }, /the name json is the built-in serializer's/],
    ];
    for (const [serializer, message] of bad) {
      expect(() => createCache({ serializer } as CacheOptions), String(serializer)).to.throw(TypeError, message);
      const cache = createCache();
      const options = { serializer } as DataOptions;
      let error: unknown;
      await cache
        .getOrSet('k', () => 1, options)
        .catch((caught: unknown) => {
          error = caught;
        });
      expect(error).to.be.an.instanceOf(TypeError);
      expect((error as Error).message).to.match(message);
      expect(() =>
        cache.wrap(
          () => 1,
          () => 'k',
          options,
        ),
      ).to.throw(TypeError, message);
    }
  });
});

describe('getOrSet / wrap: failures and misuse', () => {
  it('store down (every method throws): the loader value is returned and the error reported', async () => {
    const cache = createCache({ store: brokenStore() });
    const errors = errorsOf(cache);
    let loads = 0;
    const loader = () => ({ n: ++loads });
    expect(await cache.getOrSet('k', loader, { groups: 'g' })).to.deep.equal({ n: 1 });
    expect(await cache.getOrSet('k', loader, { groups: 'g' })).to.deep.equal({ n: 2 });
    expect(errors.map((e) => e.code)).to.deep.equal(['ESTORE', 'ESTORE']);
    expect(errors[0]?.message).to.match(/get failed: connection refused/);
    const wrapped = cache.wrap(
      (n: number) => n + 1,
      (n) => `plus_${n}`,
    );
    expect(await wrapped(1)).to.equal(2);
  });

  it('store writes failing: the value is returned, the write failure reported', async () => {
    const cache = createCache({ store: brokenStore(['set']) });
    const errors = errorsOf(cache);
    expect(await cache.getOrSet('k', () => 'v')).to.equal('v');
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((e) => e.code)).to.deep.equal(['ESTORE']);
    expect(errors[0]?.message).to.match(/set failed/);
    expect(await cache.getOrSet('k', () => 'v2')).to.equal('v2');
  });

  it('a store that hangs: the call answers after storeTimeout with the loader value', async () => {
    const base = createCache().store;
    const store = { ...brokenStore([]), get: () => new Promise<never>(() => {}), set: base.set.bind(base) } as CacheStore;
    const cache = createCache({ store, storeTimeout: 20 });
    const errors = errorsOf(cache);
    expect(await cache.getOrSet('k', () => 'v')).to.equal('v');
    expect(errors.map((e) => e.code)).to.deep.equal(['ETIMEOUT']);
  });

  it('getOrSet(key, loader, options) rejects bad arguments with a TypeError naming them', async () => {
    const cache = createCache();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => cache.getOrSet('', () => 1), /argument key must be a non-empty string/],
      [() => cache.getOrSet(42 as unknown as string, () => 1), /argument key/],
      [() => cache.getOrSet('k', 'value' as unknown as () => string), /argument loader must be a function/],
      [() => cache.getOrSet('k', () => 1, { tll: 5 } as object), /unknown option tll for getOrSet\(\) \(did you mean ttl\?\)/],
      [() => cache.getOrSet('k', () => 1, { ttl: -1 }), /option ttl must be a positive number/],
      [() => cache.getOrSet('k', () => 1, { groups: [''] }), /option groups must contain non-empty strings/],
      [() => cache.getOrSet('k', () => 1, { staleWhileRevalidate: 'soon' as unknown as number }), /staleWhileRevalidate/],
      [() => cache.getOrSet('k', () => 1, null as unknown as object), /argument options must be an object/],
    ];
    for (const [call, message] of cases) {
      await call().then(
        () => expect.fail(`should reject with ${message}`),
        (error: Error) => {
          expect(error).to.be.instanceOf(TypeError);
          expect(error.message).to.match(message);
        },
      );
    }
  });

  it('wrap(fn, keyFn, options) throws a TypeError at once for bad arguments', () => {
    const cache = createCache();
    const fn = (n: number) => n;
    expect(() => cache.wrap('f' as unknown as typeof fn, (n) => `${n}`)).to.throw(TypeError, /argument fn must be a function/);
    expect(() => cache.wrap(fn, 'k' as unknown as () => string)).to.throw(TypeError, /argument keyFn must be a function/);
    expect(() => cache.wrap(fn, (n) => `${n}`, { group: 'g' } as object)).to.throw(
      TypeError,
      /unknown option group for wrap\(\)/,
    );
  });

  it('wrap: a key function that throws or returns junk is reported, and fn runs uncached', async () => {
    const cache = createCache();
    const errors = errorsOf(cache);
    let loads = 0;
    const fn = (n: number) => {
      loads++;
      return n;
    };
    const throwing = cache.wrap(fn, () => {
      throw new Error('no id');
    });
    expect(await throwing(1)).to.equal(1);
    const junk = cache.wrap(fn, () => ({ groups: ['g'] }) as unknown as string);
    expect(await junk(2)).to.equal(2);
    const badTtl = cache.wrap(fn, () => ({ key: 'k', ttl: -5 }));
    expect(await badTtl(3)).to.equal(3);
    expect(errors.map((e) => e.code)).to.deep.equal(['EKEYFUNCTION', 'EKEYFUNCTION', 'EKEYFUNCTION']);
    expect(errors[0]?.message).to.equal('key function of wrap(fn) threw: no id');
    expect(errors[1]?.message).to.match(/key function of wrap\(fn\) returned an object without a key/);
    expect(errors[2]?.message).to.match(/ttl must be a positive number/);
    expect(loads).to.equal(3);
    expect(cache.stats().bypasses).to.equal(3);
  });

  it('wrap: a falsy key calls fn uncached (a bypass, no error)', async () => {
    const cache = createCache();
    const errors = errorsOf(cache);
    let loads = 0;
    const wrapped = cache.wrap(
      (n: number) => {
        loads++;
        return n;
      },
      (n) => (n > 0 ? `n_${n}` : null),
    );
    await wrapped(0);
    await wrapped(0);
    await wrapped(1);
    await wrapped(1);
    expect(loads).to.equal(3);
    expect(errors).to.deep.equal([]);
    expect(cache.stats().bypasses).to.equal(2);
  });

  it('wrap: fn and keyFn get the wrapper’s this, and an async key function works', async () => {
    const cache = createCache();
    const repo = {
      table: 'users',
      find: cache.wrap(
        async function (this: { table: string }, id: number) {
          return `${this.table}/${id}`;
        },
        async function (this: { table: string }, id: number) {
          return `${this.table}_${id}`;
        },
      ),
    };
    expect(await repo.find(1)).to.equal('users/1');
    expect(await cache.getOrSet('users_1', () => 'not loaded')).to.equal('users/1');
  });

  it('events: hit and miss carry the key and where (getOrSet, or wrap(fnName))', async () => {
    const cache = createCache();
    const seen: string[] = [];
    cache.on('miss', ({ key, where }) => seen.push(`miss ${key} ${where}`));
    cache.on('hit', ({ key, where }) => seen.push(`hit ${key} ${where}`));
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('a', () => 1);
    function loadUser(id: number): number {
      return id;
    }
    const cachedLoadUser = cache.wrap(loadUser, (id) => `user_${id}`);
    await cachedLoadUser(1);
    await cachedLoadUser(1);
    expect(seen).to.deep.equal(['miss a getOrSet', 'hit a getOrSet', 'miss user_1 wrap(loadUser)', 'hit user_1 wrap(loadUser)']);
  });

  it('a long data key is hashed, in its own name space', async () => {
    const cache = createCache({ maxKeyLength: 16 });
    const key = 'k'.repeat(100);
    await cache.getOrSet(key, () => 'long');
    expect(await cache.getOrSet(key, () => 'again')).to.equal('long');
    expect(await cache.getOrSet(`${key}x`, () => 'other')).to.equal('other');
    await cache.expireKey(key);
    expect(await cache.getOrSet(key, () => 'after expireKey')).to.equal('after expireKey');
  });
});
