/** A header value as Node's `OutgoingHttpHeaders` holds it once normalised to strings. */
export type HeaderValue = string | string[];

/** Header name (in the case the handler set it) and value pairs, in the order they were set. */
export type HeaderList = Array<[name: string, value: HeaderValue]>;

/** A sync or async result: stores may answer synchronously to keep the hit path free of promises. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One cached response, as the cache hands it to a store and gets it back.
 * Times named `*At` with a `stamp` are on the store's clock; the others are the cache's wall clock in ms.
 * A store may hand back an object of its own whose fields are getters (the memory store does, to keep entries
 * small): read the fields by name; a spread (`{ ...entry }`) or a deep-equality check may not see them.
 */
export interface CachedEntry {
  /** Exact status replayed on a hit. */
  status: number;
  /** End-to-end headers only: no hop-by-hop headers, `Age`, `Date`, `Content-Length` or the cache's own header. */
  headers: HeaderList;
  /** The body as sent to the client (after any encoding the handler applied). */
  body: Buffer;
  /** Strong or weak entity tag: the handler's own, or one computed from the body. */
  etag: string;
  /** Request header values the response varies on (`Vary`), lower-case names; `''` for an absent header. */
  vary: Array<[name: string, value: string]>;
  /** Namespaced invalidation tags: every group tag and the entry's own key tag (see `keys.ts`). */
  tags: string[];
  /** Store-clock stamp taken by the lookup that started this fill, before the handler ran. */
  startedAt: number;
  /** Cache wall clock (ms) when the response finished. */
  storedAt: number;
  /** Cache wall clock (ms) until which the entry is fresh (its TTL). The one place this time is held. */
  freshUntil: number;
  /**
   * Cache wall clock (ms) until which a route may still serve it stale (`staleWhileRevalidate`, `staleIfError`);
   * equal to `freshUntil` when it may not. A store keeps the entry at least `staleUntil - storedAt` ms.
   */
  staleUntil: number;
}

/**
 * What a store answers to a lookup: what it holds and the expiry records that matter. The store decides nothing
 * about freshness; the cache compares `expiredAt` with `entry.startedAt` and the times with its clock.
 */
export interface StoreLookup {
  /** The entry held under the key, whatever its state (fresh, stale or invalidated). */
  entry: CachedEntry | undefined;
  /**
   * The latest expiry stamp among the entry's tags, the store's floor (epoch) included; the entry is invalidated
   * when it is at or after `entry.startedAt` (same tick counts as expired). 0 when there is no entry.
   */
  expiredAt: number;
  /**
   * The store's clock now, in microseconds, strictly above every stamp the store handed out or recorded before.
   * A fill that begins after this lookup starts at or before it (the cache dates a fill back to when its request
   * entered the app, by the microseconds elapsed since), so any expiry the store records later, or since the
   * request entered, dooms the fill.
   */
  stamp: number;
  /**
   * Set when this lookup found the store's expiry records lost and started them again (a new epoch): no fill may
   * start before it, or every request in flight at that moment would be refused. Omitted otherwise.
   */
  notBefore?: number;
}

/** What a store answers to {@link CacheStore.peek}: a lookup, plus which expiries invalidate the entry if it knows. */
export interface PeekLookup extends StoreLookup {
  /**
   * The entry's tags expired at or after its `startedAt`, with their stamps; `'\0epoch'` stands for the store's
   * floor (records dropped or lost, or a `clear()`). Omitted when the store cannot tell.
   */
  expiredBy?: Array<[tag: string, stamp: number]>;
}

/**
 * Why a store refused an entry ({@link CacheStore.set}): `expired`, a tag or the store's floor was expired at or
 * after its `startedAt`; `newer`, the entry there started later and is not invalidated; `too-large`, over the
 * store's size limit; `ttl`, a lifetime the store cannot keep.
 */
export type StoreRefusal = 'expired' | 'newer' | 'too-large' | 'ttl';

/** Numbers a store can report synchronously. */
export interface StoreStats {
  entries: number;
  bytes: number;
  evictions: number;
  /** Group-expiry records currently kept. */
  records: number;
}

/** Why a store dropped an entry on its own. */
export type EvictionReason = 'lru' | 'ttl';

/**
 * The store contract. Small and explicit: a store keeps entries and, per tag, when it was last expired, on a
 * clock only it advances. Group state lives in the store, never only in the cache's process memory.
 */
export interface CacheStore {
  /** A short name for messages and stats (`'memory'`, `'redis'`). */
  readonly name: string;
  /**
   * Optional: true when this store's stamps are this process's own clock, the microseconds of
   * `performance.timeOrigin + performance.now()` (never below it). The cache then dates a fill exactly instead of
   * estimating the store's clock from its answers, which under a paused event loop may date it a little early.
   */
  readonly processClock?: boolean;
  /**
   * Reads `key`: the entry held (until its kept time passed) and the latest expiry stamp of its tags. Never
   * deletes an invalidated entry on read: a route may still serve it on error (`staleIfErrorAfterExpire`).
   */
  get(key: string): MaybePromise<StoreLookup>;
  /**
   * Writes `entry` under `key`, kept at least `entry.staleUntil - entry.storedAt` ms (the cache never asks for
   * more than `MAX_TTL`). Returns false, writing nothing, when a tag was expired at or after `entry.startedAt` (the
   * fill is doomed), when the entry there started later and is not invalidated, or when the entry is too large.
   * Optional `refused`: a store that refuses may call it, before it answers, with the one cause, which the cache's
   * `notStored` event and log then name; a store that does not is named as giving no cause.
   */
  set(key: string, entry: CachedEntry, refused?: (cause: StoreRefusal) => void): MaybePromise<boolean>;
  /**
   * Records "expired now" for each tag, in one operation whatever the number of entries tagged. May answer the
   * stamp it recorded: the cache then knows that a request entering after the answer can date its fill above it.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store written as `expire(tags) { ... }` returns void, and stays valid.
  expire(tags: readonly string[]): MaybePromise<number | undefined | void>;
  /** Removes `key`; true when something was removed. */
  delete(key: string): MaybePromise<boolean>;
  /**
   * Removes every entry and record of this store (and only this store's); fills that started before it are
   * refused. May answer its clock at that moment, as `expire()` may.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store written as `clear() { ... }` returns void, and stays valid.
  clear(): MaybePromise<number | undefined | void>;
  /**
   * Optional, for a store shared by many processes (both or neither of `lockFill` and `unlockFill`): takes the fill
   * lock of `key` for `ms` ms unless someone holds it, and answers the token that releases it, or undefined when
   * another holder has it. The lock expires by itself after `ms` (a holder that crashed). The cache takes it before
   * a cold miss runs its handler, so that one instance fills the key while the others wait for its entry
   * (`fillLock`). A store of one process needs none: the cache shares fills in memory. `within` is how long the
   * caller waits for the answer (its `storeTimeout`): a store that can tell it would take the lock later than that
   * (it was frozen, or a command was sent again) should take nothing and fail, since nobody would hold the lock.
   */
  lockFill?(key: string, ms: number, within?: number): MaybePromise<string | undefined>;
  /** Releases the fill lock of `key` only while `token` holds it: a lock that expired and was taken again stays. */
  unlockFill?(key: string, token: string): MaybePromise<void>;
  /**
   * Optional, for a store that locks fills: {@link set}, then {@link unlockFill} with `token`, whether the entry was
   * stored or refused, in that order (an instance that takes the lock next must find the entry), and in one
   * operation where the store can (one round trip). The cache calls it instead of the pair for a fill that holds
   * the lock; should it fail, the cache still releases the lock with `unlockFill`.
   */
  setAndUnlock?(key: string, entry: CachedEntry, token: string, refused?: (cause: StoreRefusal) => void): MaybePromise<boolean>;
  /**
   * Optional: reads `key` as {@link get} does, for inspection, without changing anything a lookup would (an LRU
   * store's recency). The cache falls back to `get` when a store has none.
   */
  peek?(key: string): MaybePromise<PeekLookup>;
  /** Releases timers and connections the store owns. */
  close?(): MaybePromise<void>;
  /** Synchronous numbers, where the store can give them. */
  stats?(): StoreStats;
  /** Registers the cache's eviction listener. */
  onEvict?(listener: (key: string, reason: EvictionReason) => void): void;
}
