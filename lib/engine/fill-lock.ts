/**
 * One fill per key across processes. Before a cold miss runs its handler, the cache takes the store's short lock of
 * the key (`lockFill`): the holder fills as usual and releases it once its fill settles; an instance that finds it
 * held polls the store for the holder's entry instead, and runs its own handler when none came within
 * `waitTimeout`. A holder that crashed blocks its key for the lock's time at most. Any store failure here fails
 * open: the handler runs, and the failure is reported. A lock asked for but answered after `storeTimeout` (a frozen
 * store) is refused by the store when it can tell (`within`), and released on arrival otherwise: a freeze never
 * leaves a lock that nobody holds.
 */

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { GroupCacheError } from '../core/errors.js';
import { isPromiseLike } from '../core/promise.js';
import type { CachedEntry, CacheStore, StoreLookup } from '../stores/contract.js';
import { callStore } from './timeout.js';

/** A store that can lock fills (the Redis store). */
export type LockingStore = CacheStore & Required<Pick<CacheStore, 'lockFill' | 'unlockFill'>>;

/**
 * The store, when it can lock fills; undefined when it has neither method. Throws a TypeError naming option `store`
 * when it has only one of them.
 */
export function lockingStore(store: CacheStore): LockingStore | undefined {
  const lock = typeof store.lockFill === 'function';
  if (lock !== (typeof store.unlockFill === 'function')) {
    throw new TypeError('option store needs both lockFill() and unlockFill() functions, or neither');
  }
  return lock ? (store as LockingStore) : undefined;
}

/**
 * How taking a fill lock ended: this instance holds it and fills (`locked`); another instance's entry arrived
 * (`entry`); this instance fills without it (`unlocked`: no entry within waitTimeout, or the store failed); or,
 * asked not to wait, another holder has it (`held`). `waited` is how long (ms) it waited for another holder, 0 when
 * it found none.
 */
export type LockOutcome =
  | { type: 'locked'; token: string; waited: number }
  | { type: 'entry'; entry: CachedEntry; waited: number }
  | { type: 'unlocked'; reason: string; waited: number }
  | { type: 'held'; waited: 0 };

export interface FillLockOptions {
  /** How long a lock holds unless released (ms). */
  lockTime: number;
  /** Longest wait for another instance's entry (ms). */
  waitTimeout: number;
  /** Bound on each store call (ms). */
  storeTimeout: number;
  /** Reports a store failure (the cache's `error` event). */
  report(error: unknown): void;
}

// Polls start quick (a fast handler's entry is there within a few ms) and back off, so that many waiting
// instances cost Redis a few calls per second each.
const FIRST_POLL = 10;
const LAST_POLL = 100;

/** Takes, waits for and releases the fill locks of one cache's store. */
export class FillLock {
  readonly #store: LockingStore;
  readonly #options: FillLockOptions;

  constructor(store: LockingStore, options: FillLockOptions) {
    this.#store = store;
    this.#options = options;
  }

  /**
   * Takes the lock of `id`, or waits for the entry its holder stores. `servable` answers the entry of a lookup
   * that the waiting request may be served as a hit (fresh, not invalidated, accepted), or undefined. With `wait`
   * false, a lock held elsewhere answers `held` at once.
   */
  async acquire(id: string, servable: (lookup: StoreLookup) => CachedEntry | undefined, wait = true): Promise<LockOutcome> {
    // Set once the lock was found held: from then on, this instance is waiting.
    let began: number | undefined;
    const waited = (): number => (began === undefined ? 0 : performance.now() - began);
    try {
      const token = await this.#lock(id);
      if (token !== undefined) return { type: 'locked', token, waited: 0 };
      if (!wait) return { type: 'held', waited: 0 };
      began = performance.now();
      const deadline = began + this.#options.waitTimeout;
      for (let delay = FIRST_POLL; ; delay = Math.min(delay * 2, LAST_POLL)) {
        const left = deadline - performance.now();
        await sleep(Math.max(0, Math.min(delay, left)));
        // Lock, then read: a holder stores its entry before it releases its lock, so once the lock is free here,
        // the entry it stored (if the store took it) is there to read.
        const taken = await this.#lock(id);
        const entry = servable(await callStore('store.get', this.#options.storeTimeout, () => this.#store.get(id)));
        if (entry !== undefined) {
          if (taken !== undefined) this.release(id, taken);
          return { type: 'entry', entry, waited: waited() };
        }
        // The holder finished without storing (its response was not storable) or crashed: this one fills now.
        if (taken !== undefined) return { type: 'locked', token: taken, waited: waited() };
        if (left <= delay) return { type: 'unlocked', reason: 'no entry within waitTimeout', waited: waited() };
      }
    } catch (error) {
      this.#options.report(error);
      return { type: 'unlocked', reason: 'store unavailable', waited: waited() };
    }
  }

  /** Releases a lock this instance holds. Never throws: a failure is reported, and the lock expires by itself. */
  release(id: string, token: string): void {
    const released = callStore('store.unlockFill', this.#options.storeTimeout, () => this.#store.unlockFill(id, token));
    if (released instanceof Promise) released.catch((error: unknown) => this.#options.report(error));
  }

  async #lock(id: string): Promise<string | undefined> {
    const { storeTimeout, lockTime } = this.#options;
    let abandoned = false;
    const pending = callStore('store.lockFill', storeTimeout, () => {
      const answer = this.#store.lockFill(id, lockTime, storeTimeout);
      // A lock granted after this instance gave up on it (a store frozen past storeTimeout) has no holder and would
      // stall its key for the lock's whole time: release it as soon as its answer arrives.
      if (isPromiseLike(answer)) {
        answer.then(
          (late) => {
            if (abandoned && typeof late === 'string' && late !== '') this.release(id, late);
          },
          () => {},
        );
      }
      return answer;
    });
    let token: unknown;
    try {
      token = await pending;
    } catch (error) {
      abandoned = true;
      throw error;
    }
    if (token === undefined || token === null) return undefined;
    if (typeof token !== 'string' || token === '') {
      throw new GroupCacheError('ESTORE', `store.lockFill answered ${typeof token}, not a token string or undefined`);
    }
    return token;
  }
}
