import type { CachedEntry, CacheStore, EvictionReason, StoreLookup, StoreStats } from '../types.js';
/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
    /** Bound on the bytes held by entries (bodies, headers, keys and metadata). Default 64 MiB. */
    maxBytes?: number;
    /** Bound on the number of entries. Default 100,000. */
    maxEntries?: number;
    /** Largest single entry accepted, in bytes (including metadata). Default `maxBytes / 8`. */
    maxEntryBytes?: number;
    /**
     * Bound on the group-expiry records kept. When one must be dropped early, a floor is raised so that every
     * entry started before it reads as expired: a dropped record can never make an old entry fresh. Default 100,000.
     */
    maxRecords?: number;
    /** Clock for TTLs, in ms. Default `Date.now`; inject one to test TTLs without sleeping. */
    now?: () => number;
}
/**
 * The embedded store: an LRU map bounded in bytes and entries, with per-tag expiry records on a counter that
 * only this store advances. Every lookup and every expiry takes the next tick, so "expired at or after the
 * fill started" is an exact comparison with no clock involved.
 */
export declare class MemoryStore implements CacheStore {
    #private;
    readonly name = "memory";
    constructor(options?: MemoryStoreOptions);
    get(key: string): StoreLookup;
    set(key: string, entry: CachedEntry, ttl: number): boolean;
    expire(tags: readonly string[]): void;
    delete(key: string): boolean;
    clear(): void;
    stats(): StoreStats;
    onEvict(listener: (key: string, reason: EvictionReason) => void): void;
}
/** Creates the embedded in-memory store. */
export declare function memoryStore(options?: MemoryStoreOptions): MemoryStore;
//# sourceMappingURL=memory-store.d.ts.map