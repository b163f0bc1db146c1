import { isGroupTag } from '../core/keys.js';
import { monotonicMicros, monotonicNow } from '../core/monotonic-clock.js';
import { checkOptionNames, positiveOption } from '../core/options.js';
import type { CachedEntry, CacheStore, EvictionReason, PeekLookup, StoreLookup, StoreRefusal, StoreStats } from './contract.js';
import { bodySize, entryOwnSize, headSize, recordSize } from './entry-size.js';
import { type Linked, RecencyList } from './recency-list.js';
import { copyHeaders, fitTimes, flat, headKeyOf, ownBody, type SharedHead, StoredEntry, sameHead } from './stored-entry.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Bound on all the bytes the store holds: entries (bodies, headers, keys and metadata) and group-expiry records
   * together, as `stats().bytes` counts them. Records may take up to `maxRecordBytes` of it; entries get the rest,
   * least recently used evicted first. Default 64 MiB.
   */
  maxBytes?: number;
  /** Bound on the number of entries. Default 100,000. */
  maxEntries?: number;
  /** Largest single entry accepted, in bytes (including metadata). Default `maxBytes / 8`. */
  maxEntryBytes?: number;
  /**
   * Bound on the number of group-expiry records kept. When one must be dropped early (over this count or over
   * `maxRecordBytes`), the oldest goes and a floor is raised so that every entry started before it reads as
   * expired: a dropped record can never make an old entry fresh. Default 100,000.
   */
  maxRecords?: number;
  /**
   * The share of `maxBytes` that group-expiry records may take, counted as their tag at two bytes a code unit plus
   * 160 bytes a record. Past it the oldest records go, as past `maxRecords`. At most `maxBytes`; default
   * `maxBytes / 4`, so a flood of distinct group names always leaves three quarters of the budget to entries.
   */
  maxRecordBytes?: number;
  /**
   * Clock for TTLs, in ms. Default: the process's monotonic clock read as epoch ms (it does not follow steps of the
   * wall clock); inject one to test TTLs without sleeping.
   */
  now?: () => number;
}

// Group tags shared between entries (`g:users` on every entry of a route) are held once: the store keeps the last few
// hundred tags it stored, short ones only, and hands their string to the next entry that has the same tag.
const INTERN_LIMIT = 256;
const INTERN_MAX_LENGTH = 64;

// One empty Vary list for every entry that varies on nothing.
const NO_VARY: CachedEntry['vary'] = [];

interface ExpiryRecord extends Linked<ExpiryRecord> {
  tag: string;
  tick: number;
  at: number;
  size: number;
}

const OPTION_NAMES = Object.keys({
  maxBytes: true,
  maxEntries: true,
  maxEntryBytes: true,
  maxRecords: true,
  maxRecordBytes: true,
  now: true,
} satisfies Record<keyof MemoryStoreOptions, true>);

/**
 * The embedded store: an LRU map bounded in bytes and entries, with per-tag expiry records on a tick that only
 * this store advances (microseconds, strictly increasing). Every lookup and every expiry takes the next tick, so
 * "expired at or after the fill started" is an exact comparison: no two events share a tick.
 */
export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  // Its ticks are this process's clock in µs (see #nextTick): the cache dates fills on it exactly.
  readonly processClock = true;
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #maxEntryBytes: number;
  readonly #maxRecords: number;
  readonly #maxRecordBytes: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, StoredEntry>();
  // A hit makes its entry the newest; eviction takes the oldest.
  readonly #recency = new RecencyList<StoredEntry>();
  readonly #records = new Map<string, ExpiryRecord>();
  // An expiry makes its tag's record the newest; pruning takes the oldest.
  readonly #expiryOrder = new RecencyList<ExpiryRecord>();
  // Heads shared between entries, by headKeyOf(); counted in #entryBytes once, dropped with their last entry.
  readonly #heads = new Map<string, SharedHead>();
  // Recent group tags, each mapped to itself: the string the next entries with that tag share (see INTERN_LIMIT).
  readonly #interned = new Map<string, string>();
  #tick = 0;
  #floor = 0;
  // Entries and records are counted apart (records have their own share) and bounded together by maxBytes.
  #entryBytes = 0;
  #recordBytes = 0;
  #evictions = 0;
  #longestTtl = 0;
  #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    checkOptionNames(options, OPTION_NAMES, 'memoryStore()');
    const raw = options as Record<string, unknown>;
    this.#maxBytes = positiveOption(raw, 'maxBytes', 64 * 2 ** 20, true);
    this.#maxEntries = positiveOption(raw, 'maxEntries', 100_000, true);
    this.#maxEntryBytes = positiveOption(raw, 'maxEntryBytes', Math.max(1, Math.floor(this.#maxBytes / 8)), true);
    this.#maxRecords = positiveOption(raw, 'maxRecords', 100_000, true);
    this.#maxRecordBytes = positiveOption(raw, 'maxRecordBytes', Math.max(1, Math.floor(this.#maxBytes / 4)), true);
    if (this.#maxRecordBytes > this.#maxBytes) {
      throw new TypeError(`option maxRecordBytes must not exceed maxBytes (${this.#maxBytes}), got ${this.#maxRecordBytes}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('option now must be a function');
    this.#now = options.now ?? monotonicNow;
  }

  /*
   * Ticks are microseconds of this process's monotonic clock, strictly increasing: the engine dates a fill back
   * to when its request entered the app by the time elapsed since (the store contract's `stamp`).
   */
  #nextTick(): number {
    const now = monotonicMicros();
    this.#tick = now > this.#tick ? now : this.#tick + 1;
    return this.#tick;
  }

  // The latest expiry tick among `tags`, the floor included.
  #expiredAt(tags: readonly string[]): number {
    let latest = this.#floor;
    for (const tag of tags) {
      const record = this.#records.get(tag);
      if (record !== undefined && record.tick > latest) latest = record.tick;
    }
    return latest;
  }

  #valid(entry: CachedEntry): boolean {
    return this.#expiredAt(entry.tags) < entry.startedAt;
  }

  #remove(key: string, entry: StoredEntry, reason: EvictionReason | undefined): void {
    this.#entries.delete(key);
    this.#recency.remove(entry);
    this.#entryBytes -= StoredEntry.sizeOf(entry);
    const head = StoredEntry.headOf(entry);
    if (--head.refs === 0) {
      if (this.#heads.get(head.key) === head) this.#heads.delete(head.key);
      this.#entryBytes -= head.size;
    }
    if (reason === undefined) return;
    this.#evictions++;
    this.#onEvict?.(key, reason);
  }

  // A flat copy of group tag `tag`, kept for the entries after this one that have the same tag (a short one).
  #intern(tag: string): string {
    const held = flat(tag);
    if (tag.length > INTERN_MAX_LENGTH) return held;
    // Bounded by dropping them all: a tag in use is held again by the next entry that has it.
    if (this.#interned.size >= INTERN_LIMIT) this.#interned.clear();
    this.#interned.set(held, held);
    return held;
  }

  get(key: string): StoreLookup {
    const stamp = this.#nextTick();
    const entry = this.#entries.get(key);
    if (entry === undefined) return { entry: undefined, expiredAt: 0, stamp };
    if (StoredEntry.deadlineOf(entry) <= this.#now()) {
      this.#remove(key, entry, 'ttl');
      return { entry: undefined, expiredAt: 0, stamp };
    }
    this.#recency.touch(entry);
    return { entry, expiredAt: this.#expiredAt(entry.tags), stamp };
  }

  /** Like {@link get}, but leaves the entry's recency (and an entry past its deadline) alone, and says which tags expired it. */
  peek(key: string): PeekLookup {
    const stamp = this.#nextTick();
    const entry = this.#entries.get(key);
    if (entry === undefined || StoredEntry.deadlineOf(entry) <= this.#now()) return { entry: undefined, expiredAt: 0, stamp };
    const startedAt = entry.startedAt;
    const expiredBy: Array<[string, number]> = [];
    if (this.#floor >= startedAt) expiredBy.push(['\0epoch', this.#floor]);
    for (const tag of entry.tags) {
      const record = this.#records.get(tag);
      if (record !== undefined && record.tick >= startedAt) expiredBy.push([tag, record.tick]);
    }
    return { entry, expiredAt: this.#expiredAt(entry.tags), stamp, expiredBy };
  }

  set(key: string, entry: CachedEntry, refused?: (cause: StoreRefusal) => void): boolean {
    if (!this.#valid(entry)) {
      refused?.('expired');
      return false;
    }
    const kept = Math.max(1, entry.staleUntil - entry.storedAt);
    const deadline = this.#now() + kept;
    const headKey = headKeyOf(entry.status, entry.headers);
    const found = this.#heads.get(headKey);
    const sharable = found !== undefined && sameHead(found, entry);
    const newHeadSize = sharable ? 0 : headSize(entry.headers, headKey);
    /*
     * The map's key and the key tag are one flat string; group tags are interned; the array is exact-length. Each
     * entry is still charged every tag string it has, shared or not: the intern table keeps no count of who holds a
     * string, so the charge for a shared one cannot follow its last holder, and counting it each time keeps the count
     * at or above the heap (by a few dozen bytes an entry).
     */
    const id = flat(key);
    // Its own copy of the Vary list, or the one empty list for all.
    const vary =
      entry.vary.length === 0 ? NO_VARY : entry.vary.map(([name, value]): [string, string] => [flat(name), flat(value)]);
    const tags = this.#heldTags(entry.tags, key, id);
    const wide = fitTimes(entry, deadline);
    const size = entryOwnSize(key, entry, wide !== undefined) + bodySize(entry.body);
    if (size + newHeadSize > this.#maxEntryBytes || size + newHeadSize > this.#maxBytes - this.#recordBytes) {
      refused?.('too-large');
      return false;
    }
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      if (existing.startedAt > entry.startedAt && this.#valid(existing)) {
        refused?.('newer');
        return false;
      }
      this.#remove(key, existing, undefined);
    }
    const head = this.#headFor(entry, headKey, found === undefined, sharable);
    const stored = new StoredEntry(id, head, entry, ownBody(entry.body), flat(entry.etag), vary, tags, deadline, wide);
    this.#entries.set(id, stored);
    this.#recency.push(stored);
    this.#entryBytes += size;
    if (kept > this.#longestTtl) this.#longestTtl = kept;
    this.#evict();
    return true;
  }

  // The entry's tags as the store holds them: the key tag is the map's key string, group tags are interned.
  #heldTags(given: readonly string[], key: string, id: string): string[] {
    const tags: string[] = new Array(given.length);
    for (let i = 0; i < tags.length; i++) {
      const tag = given[i] as string;
      if (tag === key) tags[i] = id;
      else tags[i] = this.#interned.get(tag) ?? (isGroupTag(tag) ? this.#intern(tag) : flat(tag));
    }
    return tags;
  }

  // The shared head an entry takes, with its count raised: the one held for its status and headers, or a new one.
  #headFor(entry: CachedEntry, headKey: string, none: boolean, sharable: boolean): SharedHead {
    let head = this.#heads.get(headKey);
    if (head === undefined || !sharable) {
      // A copy: the caller's list (and its pairs) may change after this; the shared one never does. One that only
      // collides with a shared head's key is kept apart, unshared.
      // Its size counted again: a head found sharable above is gone when the entry it served was the one replaced.
      const size = headSize(entry.headers, headKey);
      head = { key: headKey, status: entry.status, headers: copyHeaders(entry.headers), refs: 0, size };
      if (none || this.#heads.get(headKey) === undefined) this.#heads.set(headKey, head);
      this.#entryBytes += head.size;
    }
    head.refs++;
    return head;
  }

  /** Evicts least recently used entries until entries and records fit `maxBytes` together. */
  #evict(): void {
    while (this.#entryBytes + this.#recordBytes > this.#maxBytes || this.#entries.size > this.#maxEntries) {
      const oldest = this.#recency.oldest;
      if (oldest === undefined) break;
      this.#remove(oldest.key, oldest, 'lru');
    }
  }

  expire(tags: readonly string[]): number {
    const tick = this.#nextTick();
    const at = this.#now();
    for (const tag of tags) {
      const previous = this.#records.get(tag);
      if (previous !== undefined) {
        previous.tick = tick;
        previous.at = at;
        this.#expiryOrder.touch(previous);
        continue;
      }
      const record: ExpiryRecord = { tag, tick, at, size: recordSize(tag), older: undefined, newer: undefined };
      this.#records.set(tag, record);
      this.#expiryOrder.push(record);
      this.#recordBytes += record.size;
    }
    this.#prune(at);
    // The records that stay may still push the total over maxBytes: entries make room (records keep their share).
    this.#evict();
    return tick;
  }

  /*
   * A record older than the longest TTL ever stored can no longer match a live entry; one over the count or byte
   * bound must go early. Either way the floor rises to its tick, so dropping it can only make entries staler.
   */
  #prune(now: number): void {
    for (let record = this.#expiryOrder.oldest; record !== undefined; record = this.#expiryOrder.oldest) {
      const young = this.#longestTtl === 0 || record.at + this.#longestTtl >= now;
      if (this.#records.size <= this.#maxRecords && this.#recordBytes <= this.#maxRecordBytes && young) break;
      this.#records.delete(record.tag);
      this.#expiryOrder.remove(record);
      this.#recordBytes -= record.size;
      if (record.tick > this.#floor) this.#floor = record.tick;
    }
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#remove(key, entry, undefined);
    return true;
  }

  clear(): number {
    this.#entries.clear();
    this.#recency.clear();
    this.#records.clear();
    this.#expiryOrder.clear();
    this.#heads.clear();
    this.#interned.clear();
    this.#entryBytes = 0;
    this.#recordBytes = 0;
    // Entries filled before the clear must not be stored after it.
    this.#floor = this.#nextTick();
    return this.#floor;
  }

  stats(): StoreStats {
    const bytes = this.#entryBytes + this.#recordBytes;
    return { entries: this.#entries.size, bytes, evictions: this.#evictions, records: this.#records.size };
  }

  onEvict(listener: (key: string, reason: EvictionReason) => void): void {
    this.#onEvict = listener;
  }
}

/** Creates the embedded in-memory store. */
export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
