import { entryTags } from '../core/keys.js';
import type { CachedEntry } from '../stores/contract.js';
import { type NotStoredReason, notStoredReason } from './reasons.js';
import type { Selection } from './selection.js';

/** A lookup request from the HTTP layer (`cached-route.ts`) or the data cache (`data-cache.ts`). */
export interface AcquireRequest {
  key: string;
  /** The store id the entry lives under. */
  id: string;
  /** The entry's group names, as given. */
  groups: readonly string[];
  /** The tag `expireKey` expires for this entry (a `keyId`). */
  keyTag: string;
  /**
   * Names the request in events and logs (`where`: `GET /users/:id`). Read only when one is sent or a fill starts,
   * so an adapter may work `where` out on demand: a hit never reads it.
   */
  source: { readonly where: string };
  /** Whether a miss may start a fill (false for HEAD). */
  canFill: boolean;
  /** `performance.now()` when the request entered the app (see `request-mark.ts`): a fill is dated from it. */
  enteredAt: number;
  /** Which stored entry may answer this request (see selection.ts). */
  selection: Selection;
  /** How long past its TTL an entry is served while one request refills it (ms, 0 for never). */
  staleWhileRevalidate: number;
  /** How long past its TTL an entry may stand in for a failed refill (ms, 0 for never). */
  staleIfError: number;
  /** Whether an invalidated entry may stand in for a failed refill (read-your-writes does not hold for it). */
  staleIfErrorAfterExpire: boolean;
}

/**
 * What a lookup decided: a fresh `hit`; a `stale` copy served while another request refills the key; a `fill`
 * for the caller to run, with the `fallback` that may stand in if it fails (`staleIfError`); a `pass`; or `vary`.
 */
export type Acquired =
  /** `now`: the cache's clock (`cache.now()`) the entry was judged fresh at, for its `Age`. */
  | { type: 'hit'; entry: CachedEntry; now: number }
  | { type: 'stale'; entry: CachedEntry }
  | { type: 'fill'; fill: Fill; fallback: CachedEntry | undefined; revalidating?: CachedEntry }
  | { type: 'pass'; reason: string }
  /** The entry varies on names the request's selection has no value for: work them out and ask again. */
  | { type: 'vary'; names: string[] };

/** What a fill reports to the engine that started it: the one narrow way back. */
export interface FillOwner {
  /** Stores the finished entry; true when the store took it. */
  commit(fill: Fill, entry: CachedEntry): Promise<boolean>;
  /** Counts and logs a fill that will not be stored. */
  notStored(fill: Fill, reason: string, key: NotStoredReason): void;
  /** A stale copy went out in the fill's place. */
  servedStale(fill: Fill): void;
  /** The fill no longer runs for its key: later misses start their own. */
  release(fill: Fill): void;
}

/**
 * One running fill of a key: the handler's response on its way into the store. Concurrent misses on the key
 * wait for it and share the entry only if the store accepted it.
 */
export class Fill {
  readonly key: string;
  readonly id: string;
  readonly tags: readonly string[];
  /** Store-clock stamp taken before the handler ran. */
  readonly startedAt: number;
  readonly where: string;
  /** `performance.now()` when its request entered the app, for the fill's duration in `store` events. */
  readonly enteredAt: number;
  /** While this fill first waits for another instance's fill of its key (fill-lock.ts). For the engine. */
  locking: Promise<unknown> | undefined;
  /** The first of its tags this process expired while it ran: the store will refuse it for that. For the engine. */
  doomedBy: string | undefined;
  readonly #owner: FillOwner;
  readonly #waiters = new Set<(entry: CachedEntry | undefined) => void>();
  #settled = false;
  #result: CachedEntry | undefined;
  // Told once, when the fill settles (a telemetry integration ends the fill's span).
  #onSettled: ((stored: boolean) => void) | undefined;
  // Releases the store's fill lock this fill holds (fill-lock.ts): once, when it settles or is given up.
  #unlock: (() => void) | undefined;
  #lockToken: string | undefined;

  constructor(owner: FillOwner, request: AcquireRequest, startedAt: number, maxKeyLength: number) {
    this.#owner = owner;
    this.key = request.key;
    this.id = request.id;
    this.tags = entryTags(request.groups, request.keyTag, maxKeyLength);
    this.where = request.source.where;
    this.enteredAt = request.enteredAt;
    this.startedAt = startedAt;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves with the stored entry, or undefined if it was not stored or `ms` passed first. */
  wait(ms: number): Promise<CachedEntry | undefined> {
    if (this.#settled) return Promise.resolve(this.#result);
    return new Promise((resolve) => {
      const done = (entry: CachedEntry | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(entry);
      };
      const timer = setTimeout(done, ms, undefined);
      this.#waiters.add(done);
    });
  }

  /** Hands the finished response to the store; waiters get it only if the store accepted it. */
  commit(entry: CachedEntry): Promise<boolean> {
    return this.#owner.commit(this, entry);
  }

  /**
   * The fill failed and its fallback was served stale instead (`staleIfError`): the stored entry stays. `why` says
   * how it failed (default: the handler failed).
   */
  servedStale(why = 'the handler failed'): void {
    this.cancel(`${why}: its stale copy was served`, 'served-stale');
    this.#owner.servedStale(this);
  }

  /**
   * The response will not be stored (refused by policy, too large, errored or aborted). `key` is the stats key, when
   * the reason's text, which may quote user data, must not be what picks it.
   */
  cancel(reason: string, key: NotStoredReason = notStoredReason(reason)): void {
    this.#owner.notStored(this, reason, key);
    this.#owner.release(this);
    this.settle(undefined);
  }

  /** Calls `listener` once the fill settles: true when the store took its entry. For the engine's telemetry. */
  whenSettled(listener: (stored: boolean) => void): void {
    if (this.#settled) listener(this.#result !== undefined);
    else this.#onSettled = listener;
  }

  /** Holds the store's fill lock (its `token`) until this fill settles. For the engine. */
  holdLock(token: string, unlock: () => void): void {
    this.#unlock = unlock;
    this.#lockToken = token;
    if (this.#settled) this.unlock();
  }

  /** The token of the store's fill lock this fill still holds, for a store that releases it as it stores. */
  get lockToken(): string | undefined {
    return this.#lockToken;
  }

  /** The store released the lock as it stored the entry (`setAndUnlock` answered): nothing is left to release. */
  lockReleased(): void {
    this.#unlock = undefined;
    this.#lockToken = undefined;
  }

  /** Lets the store's fill lock go now (the fill runs on, but no other instance need wait for it). For the engine. */
  unlock(): void {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    this.#lockToken = undefined;
    unlock?.();
  }

  /** Ends the fill with what was stored (undefined for nothing), waking every waiter. For the engine. */
  settle(entry: CachedEntry | undefined): void {
    // Stored, refused, cancelled or served stale: the lock goes in every case, after the store took the entry.
    this.unlock();
    if (this.#settled) return;
    this.#settled = true;
    this.#result = entry;
    for (const waiter of [...this.#waiters]) waiter(entry);
    this.#onSettled?.(entry !== undefined);
  }
}
