import { EventEmitter } from 'node:events';
import { GroupCacheError } from './errors.js';
import type { CachedEntry, CacheStore, EvictionReason } from './types.js';
/** Options of {@link createCache}. Every duration is in milliseconds. */
export interface CacheOptions {
    /** Where entries and group-expiry records live. Default: a new `memoryStore()`. */
    store?: CacheStore;
    /** Default lifetime of an entry. Default 60,000 ms. Routes and key functions can override it. */
    ttl?: number;
    /** Largest body stored; larger responses are passed through uncached. Default 1 MiB. */
    maxEntryBytes?: number;
    /** Statuses that may be stored. Default `[200]`. */
    statuses?: readonly number[];
    /** Longest wait for one store call before the request is served uncached. Default 500 ms. */
    storeTimeout?: number;
    /** Longest wait of a concurrent miss for the fill already running on its key. Default 10,000 ms. */
    waitTimeout?: number;
    /** Name of the response header that says HIT, MISS, STALE or BYPASS; `false` turns it off. Default `'X-Cache'`. */
    header?: string | false;
    /** Keys and group names longer than this are stored by their SHA-256 digest. Default 256. */
    maxKeyLength?: number;
    /** Most groups one entry may carry. Default 64. */
    maxGroups?: number;
    /** Most tags whose failed expiry waits for a retry; past it the oldest is dropped and reported. Default 10,000. */
    maxPendingExpiries?: number;
    /** First delay before a failed expiry is retried; it doubles up to 30 s. Default 1,000 ms. */
    retryInterval?: number;
    /** Wall clock for TTLs and `Age`. Default `Date.now`. A default memory store gets the same clock. */
    now?: () => number;
}
/** Counters since the cache was created, plus the store's own numbers where it has them. */
export interface CacheStats {
    hits: number;
    /** Requests that ran the handler to fill the cache (stale lookups included). */
    misses: number;
    /** Lookups that found an entry made stale by a group or key expiry. */
    stale: number;
    bypasses: number;
    stores: number;
    /** Fills the store refused because a group was expired while they ran, or a newer entry was there. */
    refused: number;
    /** Concurrent misses that waited for the running fill of their key. */
    waits: number;
    /** Group or key tags expired. */
    expires: number;
    errors: number;
    evictions: number;
    entries: number;
    bytes: number;
    /** Tags whose expiry did not reach the store yet and is being retried. */
    pendingExpiries: number;
}
export interface KeyEvent {
    key: string;
    where: string;
}
export interface BypassEvent {
    reason: string;
    where: string;
    key?: string;
}
export interface StoreEvent extends KeyEvent {
    bytes: number;
}
export interface EvictEvent {
    /** The store id of the key (`k:` + key, or `K:` + digest for a long key). */
    id: string;
    reason: EvictionReason;
}
export interface ExpireEvent {
    groups: string[];
    keys: string[];
}
/** The events a cache emits. `error` never throws: with no listener it goes to the `debug` log. */
export interface GroupCacheEvents {
    hit: [KeyEvent];
    miss: [KeyEvent];
    stale: [KeyEvent];
    bypass: [BypassEvent];
    store: [StoreEvent];
    evict: [EvictEvent];
    expire: [ExpireEvent];
    error: [GroupCacheError];
}
/** A lookup request from the HTTP layer (`cached-route.ts`). */
export interface AcquireRequest {
    key: string;
    id: string;
    tags: string[];
    where: string;
    /** Whether a miss may start a fill (false for HEAD). */
    canFill: boolean;
    /** Whether an entry suits this request (its `Vary` values match). */
    accepts(entry: CachedEntry): boolean;
}
export type Acquired = {
    type: 'hit';
    entry: CachedEntry;
} | {
    type: 'fill';
    fill: Fill;
} | {
    type: 'pass';
    reason: string;
};
/**
 * One running fill of a key: the handler's response on its way into the store. Concurrent misses on the key
 * wait for it and share the entry only if the store accepted it.
 */
export declare class Fill {
    #private;
    readonly key: string;
    readonly id: string;
    readonly tags: readonly string[];
    /** Store-clock stamp taken before the handler ran. */
    readonly startedAt: number;
    readonly where: string;
    constructor(cache: GroupCache, request: AcquireRequest, startedAt: number);
    get settled(): boolean;
    /** Resolves with the stored entry, or undefined if it was not stored or `ms` passed first. */
    wait(ms: number): Promise<CachedEntry | undefined>;
    /** Hands the finished response to the store; waiters get it only if the store accepted it. */
    commit(entry: CachedEntry, ttl: number): Promise<boolean>;
    /** The response will not be stored (refused by policy, too large, errored or aborted). */
    cancel(reason: string): void;
    /** @internal */
    _settle(entry: CachedEntry | undefined): void;
}
/** Validates a `statuses` option: a non-empty list of HTTP status codes. */
export declare function statusSet(value: unknown, name: string): ReadonlySet<number>;
/**
 * The framework-free cache engine: lookups with one fill per key, group and key expiry by time stamps, stats,
 * events, and a retry queue for expiries the store could not take.
 */
export declare class GroupCache extends EventEmitter<GroupCacheEvents> {
    #private;
    readonly store: CacheStore;
    readonly ttl: number;
    readonly maxEntryBytes: number;
    readonly statuses: ReadonlySet<number>;
    readonly storeTimeout: number;
    readonly waitTimeout: number;
    /** The status header as `[name, ...]` (name as configured), or undefined when turned off. */
    readonly header: string | undefined;
    readonly maxKeyLength: number;
    readonly maxGroups: number;
    readonly now: () => number;
    constructor(options?: CacheOptions);
    /**
     * Expires every response tagged with any of `groups`, at once, whatever their number: one write per group.
     * Resolves once the store has recorded it. If the store cannot be reached, the expiry is queued and retried
     * until it lands, this process serves no entry of those groups meanwhile, and the promise rejects with a
     * `GroupCacheError` (`EEXPIRE`) so a caller can choose to fail its own response.
     */
    expireGroups(groups: string | readonly string[]): Promise<void>;
    /** Expires one key: its entry, and any fill of it already running, are never served. */
    expireKey(key: string): Promise<void>;
    /** Removes every entry and group record of this cache's store. */
    clear(): Promise<void>;
    /** Stops retry timers and closes the store. Expiries still pending are reported as dropped. */
    close(): Promise<void>;
    stats(): CacheStats;
    /** @internal Reports a run-time failure: an `error` event, or the debug log when nobody listens. */
    _report(error: unknown): void;
    /** @internal */
    _bypass(reason: string, where: string, key?: string): void;
    /**
     * @internal Looks a request up: a hit, a fill for the caller to run, or a pass (uncached). Concurrent misses on
     * one key wait for the first one's fill and share its entry if the store accepted it.
     */
    _acquire(request: AcquireRequest): Acquired | Promise<Acquired>;
    /** @internal */
    _release(fill: Fill): void;
    /** @internal */
    _commit(fill: Fill, entry: CachedEntry, ttl: number): Promise<boolean>;
}
/** Creates a cache. With no options: a memory store of 64 MiB and a 60 s TTL. */
export declare function createCache(options?: CacheOptions): GroupCache;
//# sourceMappingURL=cache.d.ts.map