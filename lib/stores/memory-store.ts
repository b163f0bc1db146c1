import { entrySize } from '../entry-size.js';
import { positiveOption } from '../options.js';
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

interface Slot {
  entry: CachedEntry;
  size: number;
  deadline: number;
}

interface ExpiryRecord {
  tick: number;
  at: number;
}

/**
 * The embedded store: an LRU map bounded in bytes and entries, with per-tag expiry records on a counter that
 * only this store advances. Every lookup and every expiry takes the next tick, so "expired at or after the
 * fill started" is an exact comparison with no clock involved.
 */
export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #maxEntryBytes: number;
  readonly #maxRecords: number;
  readonly #now: () => number;
  // Map order is recency order: a hit re-inserts its key at the end, eviction takes from the front.
  readonly #slots = new Map<string, Slot>();
  // Map order is expiry order: an expiry re-inserts its tag at the end, pruning takes from the front.
  readonly #records = new Map<string, ExpiryRecord>();
  #tick = 0;
  #floor = 0;
  #bytes = 0;
  #evictions = 0;
  #longestTtl = 0;
  #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    const raw = options as Record<string, unknown>;
    this.#maxBytes = positiveOption(raw, 'maxBytes', 64 * 2 ** 20, true);
    this.#maxEntries = positiveOption(raw, 'maxEntries', 100_000, true);
    this.#maxEntryBytes = positiveOption(raw, 'maxEntryBytes', Math.max(1, Math.floor(this.#maxBytes / 8)), true);
    this.#maxRecords = positiveOption(raw, 'maxRecords', 100_000, true);
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('option now must be a function');
    this.#now = options.now ?? Date.now;
  }

  #fresh(entry: CachedEntry): boolean {
    if (entry.startedAt <= this.#floor) return false;
    for (const tag of entry.tags) {
      const record = this.#records.get(tag);
      if (record !== undefined && record.tick >= entry.startedAt) return false;
    }
    return true;
  }

  #remove(key: string, slot: Slot, reason: EvictionReason | undefined): void {
    this.#slots.delete(key);
    this.#bytes -= slot.size;
    if (reason === undefined) return;
    this.#evictions++;
    this.#onEvict?.(key, reason);
  }

  get(key: string): StoreLookup {
    const stamp = ++this.#tick;
    const slot = this.#slots.get(key);
    if (slot === undefined) return { entry: undefined, stale: false, stamp };
    if (slot.deadline <= this.#now()) {
      this.#remove(key, slot, 'ttl');
      return { entry: undefined, stale: false, stamp };
    }
    if (!this.#fresh(slot.entry)) {
      this.#remove(key, slot, 'stale');
      return { entry: undefined, stale: true, stamp };
    }
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return { entry: slot.entry, stale: false, stamp };
  }

  set(key: string, entry: CachedEntry, ttl: number): boolean {
    if (!this.#fresh(entry)) return false;
    const size = entrySize(key, entry);
    if (size > this.#maxEntryBytes || size > this.#maxBytes) return false;
    const existing = this.#slots.get(key);
    if (existing !== undefined) {
      if (existing.entry.startedAt > entry.startedAt && this.#fresh(existing.entry)) return false;
      this.#remove(key, existing, undefined);
    }
    this.#slots.set(key, { entry, size, deadline: this.#now() + ttl });
    this.#bytes += size;
    if (ttl > this.#longestTtl) this.#longestTtl = ttl;
    for (const [oldest, slot] of this.#slots) {
      if (this.#bytes <= this.#maxBytes && this.#slots.size <= this.#maxEntries) break;
      this.#remove(oldest, slot, 'lru');
    }
    return true;
  }

  expire(tags: readonly string[]): void {
    const tick = ++this.#tick;
    const at = this.#now();
    for (const tag of tags) {
      this.#records.delete(tag);
      this.#records.set(tag, { tick, at });
    }
    this.#prune(at);
  }

  /*
   * A record older than the longest TTL ever stored can no longer match a live entry; one over the count bound
   * must go early. Either way the floor rises to its tick, so dropping it can only make entries staler.
   */
  #prune(now: number): void {
    for (const [tag, record] of this.#records) {
      const young = this.#longestTtl === 0 || record.at + this.#longestTtl >= now;
      if (this.#records.size <= this.#maxRecords && young) break;
      this.#records.delete(tag);
      if (record.tick > this.#floor) this.#floor = record.tick;
    }
  }

  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#remove(key, slot, undefined);
    return true;
  }

  clear(): void {
    this.#slots.clear();
    this.#records.clear();
    this.#bytes = 0;
    // Entries filled before the clear must not be stored after it.
    this.#floor = ++this.#tick;
  }

  stats(): StoreStats {
    return { entries: this.#slots.size, bytes: this.#bytes, evictions: this.#evictions, records: this.#records.size };
  }

  onEvict(listener: (key: string, reason: EvictionReason) => void): void {
    this.#onEvict = listener;
  }
}

/** Creates the embedded in-memory store. */
export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
