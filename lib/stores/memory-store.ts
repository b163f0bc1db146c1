import { performance } from 'node:perf_hooks';
import { checkOptionNames, positiveOption } from '../core/options.js';
import type { CachedEntry, CacheStore, EvictionReason, HeaderList, PeekLookup, StoreLookup, StoreStats } from './contract.js';
import { bodySize, entryOwnSize, headerListSize, recordSize } from './entry-size.js';

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
   * 128 bytes a record. Past it the oldest records go, as past `maxRecords`. At most `maxBytes`; default
   * `maxBytes / 4`, so a flood of distinct group names always leaves three quarters of the budget to entries.
   */
  maxRecordBytes?: number;
  /** Clock for TTLs, in ms. Default `Date.now`; inject one to test TTLs without sleeping. */
  now?: () => number;
}

// Constant for the life of the process, and a getter call to read each time.
const TIME_ORIGIN = performance.timeOrigin;

interface Slot {
  entry: CachedEntry;
  /** Bytes counted for this entry alone (its shared header list is counted with the list). */
  size: number;
  deadline: number;
  /** Its header list, shared with every entry that has the same one. */
  shared: SharedHeaders;
}

/** A header list held once for every entry that has the same one (most responses of a route do). */
interface SharedHeaders {
  key: string;
  headers: HeaderList;
  refs: number;
  size: number;
}

// One empty Vary list for every entry that varies on nothing.
const NO_VARY: CachedEntry['vary'] = [];

// What identifies a header list: names and values in order, a list value marked apart from a string one (Node
// refuses NUL in header names and values; lists that still collide are compared before they are shared).
function headersKeyOf(headers: HeaderList): string {
  let key = '';
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i] as HeaderList[number];
    key += typeof value === 'string' ? `${name}\0=${value}\0` : `${name}\0[${value.join('\0,')}\0`;
  }
  return key;
}

function sameHeaders(a: HeaderList, b: HeaderList): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [nameA, valueA] = a[i] as HeaderList[number];
    const [nameB, valueB] = b[i] as HeaderList[number];
    if (nameA !== nameB || typeof valueA !== typeof valueB) return false;
    if (typeof valueA === 'string' ? valueA !== valueB : valueA.join('\0') !== (valueB as string[]).join('\0')) return false;
  }
  return true;
}

// The store's copy of a header list, handed to every entry that has the same one (replay.ts copies a list value
// before it reaches a response, so that Node's appendHeader cannot grow the stored one).
function copyHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name, value]) => [name, typeof value === 'string' ? value : [...value]]);
}

/*
 * The body as the store keeps it: a Buffer that views part of a larger allocation (a slice of Node's 8 KB pool, or of
 * a bigger buffer) would pin all of it for the entry's lifetime, so it gets its own copy; one that owns its memory is
 * kept as it is.
 */
function ownBody(body: Buffer): Buffer {
  if (body.byteLength === body.buffer.byteLength) return body;
  const copy = Buffer.allocUnsafeSlow(body.byteLength);
  body.copy(copy);
  return copy;
}

interface ExpiryRecord {
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
  // Map order is recency order: a hit re-inserts its key at the end, eviction takes from the front.
  readonly #slots = new Map<string, Slot>();
  // Map order is expiry order: an expiry re-inserts its tag at the end, pruning takes from the front.
  readonly #records = new Map<string, ExpiryRecord>();
  // Header lists shared between entries, by headersKeyOf(); counted in #entryBytes once, dropped with their last entry.
  readonly #headerLists = new Map<string, SharedHeaders>();
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
    this.#now = options.now ?? Date.now;
  }

  /*
   * Ticks are microseconds of this process's monotonic clock, strictly increasing: the engine dates a fill back
   * to when its request entered the app by the time elapsed since (the store contract's `stamp`).
   */
  #nextTick(): number {
    const now = Math.floor((TIME_ORIGIN + performance.now()) * 1000);
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

  #remove(key: string, slot: Slot, reason: EvictionReason | undefined): void {
    this.#slots.delete(key);
    this.#entryBytes -= slot.size;
    const shared = slot.shared;
    if (--shared.refs === 0) {
      if (this.#headerLists.get(shared.key) === shared) this.#headerLists.delete(shared.key);
      this.#entryBytes -= shared.size;
    }
    if (reason === undefined) return;
    this.#evictions++;
    this.#onEvict?.(key, reason);
  }

  /*
   * The entry as the store keeps it: its own object, in one shape, with the header list shared with every entry
   * that has the same one, no Vary list of its own when it varies on nothing, and a body that pins no other memory.
   */
  #compact(entry: CachedEntry, headers: HeaderList): CachedEntry {
    return {
      status: entry.status,
      headers,
      body: ownBody(entry.body),
      etag: entry.etag,
      vary: entry.vary.length === 0 ? NO_VARY : entry.vary,
      // An exact-length copy: a list built by push() carries spare capacity (19 slots for 3 tags).
      tags: entry.tags.slice(),
      startedAt: entry.startedAt,
      storedAt: entry.storedAt,
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
    };
  }

  get(key: string): StoreLookup {
    const stamp = this.#nextTick();
    const slot = this.#slots.get(key);
    if (slot === undefined) return { entry: undefined, expiredAt: 0, stamp };
    if (slot.deadline <= this.#now()) {
      this.#remove(key, slot, 'ttl');
      return { entry: undefined, expiredAt: 0, stamp };
    }
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return { entry: slot.entry, expiredAt: this.#expiredAt(slot.entry.tags), stamp };
  }

  /** Like {@link get}, but leaves the entry's recency (and an entry past its deadline) alone, and says which tags expired it. */
  peek(key: string): PeekLookup {
    const stamp = this.#nextTick();
    const slot = this.#slots.get(key);
    if (slot === undefined || slot.deadline <= this.#now()) return { entry: undefined, expiredAt: 0, stamp };
    const entry = slot.entry;
    const expiredBy: Array<[string, number]> = [];
    if (this.#floor >= entry.startedAt) expiredBy.push(['\0epoch', this.#floor]);
    for (const tag of entry.tags) {
      const record = this.#records.get(tag);
      if (record !== undefined && record.tick >= entry.startedAt) expiredBy.push([tag, record.tick]);
    }
    return { entry, expiredAt: this.#expiredAt(entry.tags), stamp, expiredBy };
  }

  set(key: string, entry: CachedEntry): boolean {
    if (!this.#valid(entry)) return false;
    const kept = Math.max(1, entry.staleUntil - entry.storedAt);
    const headersKey = headersKeyOf(entry.headers);
    const found = this.#headerLists.get(headersKey);
    const sharable = found !== undefined && sameHeaders(found.headers, entry.headers);
    const listSize = sharable ? 0 : headerListSize(entry.headers, headersKey);
    const size = entryOwnSize(key, entry) + bodySize(entry.body);
    if (size + listSize > this.#maxEntryBytes || size + listSize > this.#maxBytes - this.#recordBytes) return false;
    const existing = this.#slots.get(key);
    if (existing !== undefined) {
      if (existing.entry.startedAt > entry.startedAt && this.#valid(existing.entry)) return false;
      this.#remove(key, existing, undefined);
    }
    let list = this.#headerLists.get(headersKey);
    if (list === undefined || !sharable) {
      // A copy: the caller's list (and its pairs) may change after this; the shared one never does. One that only
      // collides with a shared list's key is kept apart, unshared.
      const headers = copyHeaders(entry.headers);
      list = { key: headersKey, headers, refs: 0, size: headerListSize(headers, headersKey) };
      if (found === undefined || this.#headerLists.get(headersKey) === undefined) this.#headerLists.set(headersKey, list);
      this.#entryBytes += list.size;
    }
    list.refs++;
    this.#slots.set(key, { entry: this.#compact(entry, list.headers), size, deadline: this.#now() + kept, shared: list });
    this.#entryBytes += size;
    if (kept > this.#longestTtl) this.#longestTtl = kept;
    this.#evict();
    return true;
  }

  /** Evicts least recently used entries until entries and records fit `maxBytes` together. */
  #evict(): void {
    for (const [oldest, slot] of this.#slots) {
      if (this.#entryBytes + this.#recordBytes <= this.#maxBytes && this.#slots.size <= this.#maxEntries) break;
      this.#remove(oldest, slot, 'lru');
    }
  }

  expire(tags: readonly string[]): number {
    const tick = this.#nextTick();
    const at = this.#now();
    for (const tag of tags) {
      const previous = this.#records.get(tag);
      if (previous !== undefined) {
        this.#records.delete(tag);
        this.#recordBytes -= previous.size;
      }
      const size = recordSize(tag);
      this.#records.set(tag, { tick, at, size });
      this.#recordBytes += size;
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
    for (const [tag, record] of this.#records) {
      const young = this.#longestTtl === 0 || record.at + this.#longestTtl >= now;
      if (this.#records.size <= this.#maxRecords && this.#recordBytes <= this.#maxRecordBytes && young) break;
      this.#records.delete(tag);
      this.#recordBytes -= record.size;
      if (record.tick > this.#floor) this.#floor = record.tick;
    }
  }

  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#remove(key, slot, undefined);
    return true;
  }

  clear(): number {
    this.#slots.clear();
    this.#records.clear();
    this.#headerLists.clear();
    this.#entryBytes = 0;
    this.#recordBytes = 0;
    // Entries filled before the clear must not be stored after it.
    this.#floor = this.#nextTick();
    return this.#floor;
  }

  stats(): StoreStats {
    const bytes = this.#entryBytes + this.#recordBytes;
    return { entries: this.#slots.size, bytes, evictions: this.#evictions, records: this.#records.size };
  }

  onEvict(listener: (key: string, reason: EvictionReason) => void): void {
    this.#onEvict = listener;
  }
}

/** Creates the embedded in-memory store. */
export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
