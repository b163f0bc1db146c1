/*
 * A store on this process's own clock (`processClock: true`, as the memory store is) has its fills dated exactly.
 * Without it the cache estimates the store's clock from its answers, conservatively: a store whose answers come
 * back late (a paused event loop, a busy host) makes a fill that starts just after an expiry look as if it started
 * before it, and the store refuses to keep it. That is safe, but costs a refill, and made tests flaky under load.
 */
import { expect } from 'chai';
import { type CacheStore, createCache, memoryStore } from 'group-cache';

const LATE_MS = 30;
const late = <T>(value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), LATE_MS));

/**
 * The memory store, whose lookups answer `LATE_MS` after the store read its clock, and whose expiries answer at
 * once without their stamp (the contract allows both): the cache has only late samples to estimate its clock by.
 */
function lateStore(processClock: boolean): CacheStore {
  const inner = memoryStore();
  return {
    name: 'late-memory',
    processClock,
    get: (key) => late(inner.get(key)),
    set: (key, entry) => late(inner.set(key, entry)),
    expire: async (tags) => {
      await inner.expire(tags);
    },
    delete: (key) => late(inner.delete(key)),
    clear: () => late(inner.clear()),
  };
}

async function loadsAfterExpiry(processClock: boolean): Promise<number> {
  const cache = createCache({ store: lateStore(processClock) });
  let loads = 0;
  const load = () => cache.getOrSet('user_1', async () => ++loads, { groups: ['users'] });
  await load();
  await cache.expireGroups('users');
  await load(); // starts right after the expiry: its value should be kept
  await load();
  return loads;
}

describe('a store on the process clock', () => {
  it('the memory store says so', () => {
    expect(memoryStore().processClock).to.equal(true);
  });

  it('a fill starting just after an expiry is kept, however late the store answers', async () => {
    expect(await loadsAfterExpiry(true)).to.equal(2);
  });

  it('without it, the estimate dates that fill before the expiry and it is refused (safe, one refill more)', async () => {
    expect(await loadsAfterExpiry(false)).to.equal(3);
  });

  it('a store answering synchronously, then late (a tier hit, then a Redis read), still has fills dated from its best sample', async () => {
    const inner = memoryStore();
    let lookups = 0;
    // Not on the process clock: the cache estimates it. Only the first lookup answers synchronously, as a tier hit
    // does; the expiry answers its stamp at once, so the cache's best sample is tight.
    const store: CacheStore = {
      name: 'mixed-memory',
      get: (key) => (++lookups === 1 ? inner.get(key) : late(inner.get(key))),
      set: (key, entry) => inner.set(key, entry),
      expire: (tags) => inner.expire(tags),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
    };
    const cache = createCache({ store });
    let loads = 0;
    const load = () => cache.getOrSet('user_1', async () => ++loads, { groups: ['users'] });
    await load();
    await cache.expireGroups('users');
    await load(); // a late answer: dated by its own round trip alone, it would fall before the expiry
    await load();
    expect(loads).to.equal(2);
  });
});
