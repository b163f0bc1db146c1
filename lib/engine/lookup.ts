import { performance } from 'node:perf_hooks';
import type { StoreClock } from '../core/store-clock.js';
import type { CachedEntry, CacheStore, StoreLookup } from '../stores/contract.js';
import { type Acquired, type AcquireRequest, Fill, type FillOwner } from './fill.js';
import type { FillLock } from './fill-lock.js';
import type { NotStoredReason } from './reasons.js';
import { alternateId, suits } from './selection.js';
import { storeFill } from './store-fill.js';
import type { Telemetry } from './telemetry.js';
import { callStore } from './timeout.js';

// The request again, under its variant's id: found there or not, it goes no further.
function withoutAlternate(request: AcquireRequest, id: string): AcquireRequest {
  const { alternate: _, ...selection } = request.selection;
  return { ...request, id, selection };
}

// A margin under the estimate of the store's clock at a request's entry, for rounding (see store-clock.ts).
const STAMP_SLACK_US = 1;

/** What lookups need of the cache they work for. */
export interface LookupSettings {
  store: CacheStore;
  storeTimeout: number;
  waitTimeout: number;
  maxKeyLength: number;
  now(): number;
  /** Set when the store can lock fills across instances and `fillLock` is not false. */
  fillLock: FillLock | undefined;
  /** The store's stamps are this process's clock (`CacheStore.processClock`): fills are dated exactly. */
  processClock: boolean;
  storeClock: StoreClock;
  telemetry: Telemetry;
  /** Tags whose expiry is queued for a retry here: no entry carrying one is served. */
  pending: ReadonlySet<string>;
}

/**
 * Lookups and the fills they start: one fill per key in this process (and, with a fill lock, across instances);
 * concurrent misses wait for it and share its entry if the store accepted it.
 */
export class Lookups implements FillOwner {
  readonly #settings: LookupSettings;
  readonly #inflight = new Map<string, Fill>();

  constructor(settings: LookupSettings) {
    this.#settings = settings;
  }

  /** See `GroupCache.lookup`. */
  lookup(request: AcquireRequest): Acquired | Promise<Acquired> {
    const { store, storeTimeout, processClock } = this.#settings;
    // The send time bounds the store's clock from above (store-clock.ts). A store on the process clock needs none;
    // any other needs it on every lookup, since one that answered synchronously may not next time (the tiered
    // store: tier hits, then Redis reads), and a late answer dated by its own round trip alone falls too early.
    const sentAt = processClock ? undefined : performance.now();
    let lookup: StoreLookup | Promise<StoreLookup>;
    try {
      lookup = callStore('store.get', storeTimeout, () => store.get(request.id));
    } catch (error) {
      return this.#passOnError(error, request);
    }
    if (lookup instanceof Promise) {
      return lookup.then(
        (result) => this.#afterLookup(result, request, sentAt),
        (error: unknown) => this.#passOnError(error, request),
      );
    }
    return this.#afterLookup(lookup, request, sentAt);
  }

  // A request arriving after an expiry must not join a fill that started before it.
  doomFills(tags: readonly string[]): void {
    if (this.#inflight.size === 0) return;
    const doomed = new Set(tags);
    for (const [id, fill] of this.#inflight) {
      const tag = fill.tags.find((tag) => doomed.has(tag));
      if (tag === undefined) continue;
      fill.doomedBy ??= tag;
      this.#inflight.delete(id);
      // The store will refuse it: other instances need not wait for it either.
      fill.unlock();
    }
  }

  /** Forgets the running fills (the store was cleared: none of them may be joined). */
  forgetFills(): void {
    this.#inflight.clear();
  }

  async commit(fill: Fill, entry: CachedEntry): Promise<boolean> {
    const result = await storeFill(this.#settings, fill, entry, () => this.release(fill));
    fill.settle(result.stored ? result.entry : undefined);
    return result.stored;
  }

  notStored(fill: Fill, reason: string, key: NotStoredReason): void {
    this.#settings.telemetry.notStored(fill.key, fill.where, key, reason);
  }

  servedStale(fill: Fill): void {
    this.#settings.telemetry.stale(fill.key, fill);
  }

  release(fill: Fill): void {
    if (this.#inflight.get(fill.id) === fill) this.#inflight.delete(fill.id);
  }

  #passOnError(error: unknown, request: AcquireRequest): Acquired {
    const { telemetry } = this.#settings;
    telemetry.report(error);
    telemetry.bypass('store unavailable', request.source.where, request.key);
    return { type: 'pass', reason: 'store unavailable' };
  }

  // True when a group or key of the entry was expired after its fill started, or its expiry is still queued here.
  #invalidated(entry: CachedEntry, expiredAt: number): boolean {
    if (entry.startedAt <= expiredAt) return true;
    const { pending } = this.#settings;
    if (pending.size === 0) return false;
    return entry.tags.some((tag) => pending.has(tag));
  }

  /*
   * The one place freshness is decided, reading the clock once: fresh (inside its TTL) is a hit; stale (past it,
   * inside the route's staleWhileRevalidate window) is served at once while one request refills the key; an
   * entry past its TTL inside the staleIfError window, or invalidated when the route allows it, stands by as the
   * fallback of the fill. Invalidated is never served as fresh, and never as stale unless the route opts in.
   */
  #afterLookup(lookup: StoreLookup, request: AcquireRequest, sentAt: number | undefined): Acquired | Promise<Acquired> {
    const held = lookup.entry;
    let fallback: CachedEntry | undefined;
    // A stale copy this request refills: served at once instead if another instance holds the key's fill lock.
    let revalidating: CachedEntry | undefined;
    const judged = held === undefined ? false : suits(held, request.selection);
    if (typeof judged === 'object') return { type: 'vary', names: judged };
    if (held !== undefined && !judged) {
      // Another variant of the key (a `Vary: Accept-Encoding` entry of another coding) lives beside this one.
      const id = alternateId(held, request.selection);
      if (id !== undefined && id !== request.id) return this.lookup(withoutAlternate(request, id));
    }
    if (held !== undefined && judged) {
      const now = this.#settings.now();
      const invalidated = this.#invalidated(held, lookup.expiredAt);
      if (!invalidated) {
        if (now < held.freshUntil) return this.#hit(held, request, now);
        if (now < held.freshUntil + request.staleWhileRevalidate) {
          const running = this.#inflight.get(request.id);
          // Otherwise this request is the one refill, and waits for it like any miss.
          if ((running !== undefined && !running.settled) || !request.canFill) return this.#stale(held, request);
          revalidating = held;
        }
      } else {
        this.#settings.telemetry.invalidated(request.key, request.source);
      }
      if (
        request.staleIfError > 0 &&
        now < held.freshUntil + request.staleIfError &&
        (!invalidated || request.staleIfErrorAfterExpire)
      ) {
        fallback = held;
      }
    }
    const arrivedAt = performance.now();
    this.#settings.storeClock.sample(lookup.stamp, arrivedAt);
    const startedAt = this.#startedAt(lookup, request.enteredAt, sentAt, arrivedAt);
    const running = this.#inflight.get(request.id);
    if (running !== undefined && !running.settled) return this.#join(running, startedAt, request, fallback);
    return this.#startFill(startedAt, request, fallback, true, revalidating);
  }

  /*
   * When a fill starts, on the store's clock: dated back to when its request entered the app, since a param
   * loader, an upstream middleware or an async key function may have read its data before the lookup, and a write
   * landing in between must doom the fill (see store-clock.ts). Never before a new epoch this lookup made.
   */
  #startedAt(lookup: StoreLookup, enteredAt: number, sentAt: number | undefined, arrivedAt: number): number {
    const { processClock, storeClock } = this.#settings;
    const started =
      (processClock
        ? Math.floor((performance.timeOrigin + enteredAt) * 1000)
        : storeClock.at(enteredAt, lookup.stamp, arrivedAt, sentAt)) - STAMP_SLACK_US;
    return lookup.notBefore !== undefined && started < lookup.notBefore ? lookup.notBefore : started;
  }

  async #join(running: Fill, startedAt: number, request: AcquireRequest, fallback: CachedEntry | undefined): Promise<Acquired> {
    this.#settings.telemetry.waited();
    // A fill that first waits for another instance's entry is bounded by waitTimeout on its own; its handler then
    // gets a waitTimeout of its own too.
    if (running.locking !== undefined) await running.locking;
    const shared = await running.wait(this.#settings.waitTimeout);
    const judged = shared === undefined ? false : suits(shared, request.selection);
    if (typeof judged === 'object') return { type: 'vary', names: judged };
    if (shared !== undefined && judged && this.#fresh(shared, 0)) return this.#hit(shared, request, this.#settings.now());
    // The fill it waited for stored another variant (a `Vary: Accept-Encoding` entry of another coding).
    const id = shared === undefined ? undefined : alternateId(shared, request.selection);
    if (id !== undefined && id !== request.id) return this.lookup(withoutAlternate(request, id));
    // A fill still running after waitTimeout (a handler that never settles) must not hold later requests too, here
    // or in other instances. A request that waited once runs its handler now, without waiting for a lock.
    if (!running.settled) {
      this.release(running);
      running.unlock();
    }
    return this.#startFill(startedAt, request, fallback, false);
  }

  // Whether an entry that arrived after the lookup (a shared fill's) may be served as a hit: the same tests.
  #fresh(entry: CachedEntry, expiredAt: number): boolean {
    return this.#settings.now() < entry.freshUntil && !this.#invalidated(entry, expiredAt);
  }

  #hit(entry: CachedEntry, request: AcquireRequest, now: number): Acquired {
    this.#settings.telemetry.hit(request.key, request.source, now, entry);
    // The clock read that judged it fresh dates its Age too: one read per hit.
    return { type: 'hit', entry, now };
  }

  #stale(entry: CachedEntry, request: AcquireRequest): Acquired {
    this.#settings.telemetry.stale(request.key, request.source, this.#settings.now() - entry.storedAt);
    return { type: 'stale', entry };
  }

  #startFill(
    startedAt: number,
    request: AcquireRequest,
    fallback: CachedEntry | undefined,
    lock = true,
    revalidating?: CachedEntry,
  ): Acquired | Promise<Acquired> {
    if (!request.canFill) {
      // Looked up and not found, answered by the handler: a miss (X-Cache says MISS), only never stored.
      this.#settings.telemetry.miss(request.key, request.source, 'HEAD: not filled');
      return { type: 'pass', reason: 'HEAD miss' };
    }
    const { fillLock, maxKeyLength } = this.#settings;
    const fill = new Fill(this, request, startedAt, maxKeyLength);
    const running = this.#inflight.get(request.id);
    if (running !== undefined && !running.settled) return this.#miss(fill, request, fallback, revalidating);
    this.#inflight.set(request.id, fill);
    if (fillLock === undefined || !lock) return this.#miss(fill, request, fallback, revalidating);
    // Registered first, so that concurrent misses here join this one fill and its one wait for the lock.
    const locking = this.#lockedFill(fillLock, fill, request, fallback, revalidating);
    fill.locking = locking;
    return locking;
  }

  #miss(fill: Fill, request: AcquireRequest, fallback: CachedEntry | undefined, revalidating?: CachedEntry): Acquired {
    this.#settings.telemetry.miss(request.key, request.source);
    return revalidating === undefined ? { type: 'fill', fill, fallback } : { type: 'fill', fill, fallback, revalidating };
  }

  // While another instance refills, a copy inside the staleWhileRevalidate window is served at once, as it is while
  // a refill runs here. Only a fallback that cannot be invalidated (staleIfErrorAfterExpire off) qualifies.
  #standIn(request: AcquireRequest, fallback: CachedEntry | undefined, revalidating: CachedEntry | undefined) {
    if (revalidating !== undefined) return revalidating;
    if (fallback === undefined || request.staleIfErrorAfterExpire) return undefined;
    return this.#settings.now() < fallback.freshUntil + request.staleWhileRevalidate ? fallback : undefined;
  }

  // Across instances (fill-lock.ts): fill holding the store's lock of the key, or answer the entry its holder stored.
  async #lockedFill(
    lock: FillLock,
    fill: Fill,
    request: AcquireRequest,
    fallback: CachedEntry | undefined,
    revalidating: CachedEntry | undefined,
  ): Promise<Acquired> {
    const stale = this.#standIn(request, fallback, revalidating);
    const outcome = await lock.acquire(
      fill.id,
      // An entry of names this request has no value for does not suit: the request fills, as on a mismatch.
      ({ entry, expiredAt }) =>
        entry !== undefined && suits(entry, request.selection) === true && this.#fresh(entry, expiredAt) ? entry : undefined,
      stale === undefined,
    );
    if (outcome.type === 'held' && stale !== undefined) {
      this.release(fill);
      fill.settle(undefined);
      return this.#stale(stale, request);
    }
    if (outcome.waited > 0) this.#settings.telemetry.waitedForInstance(fill.where, outcome.waited, outcome.type);
    if (outcome.type === 'entry') {
      this.release(fill);
      fill.settle(outcome.entry);
      return this.#hit(outcome.entry, request, this.#settings.now());
    }
    if (outcome.type === 'locked') fill.holdLock(outcome.token, () => lock.release(fill.id, outcome.token));
    return this.#miss(fill, request, fallback, revalidating);
  }
}
