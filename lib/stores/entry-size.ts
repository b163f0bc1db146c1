import type { CachedEntry, HeaderList } from './contract.js';

/*
 * Bytes an entry holds in the memory store's heap, for its `maxBytes` bound, estimated from V8's layout on 64-bit
 * Node (no pointer compression) and checked against measured heap growth by the benchmark (bench/micro.mjs: heap
 * after full GCs over 20,000 stored 1 KB responses; `stats().bytes` is held within 10% of it). A string is counted
 * as V8 lays out a flat one-byte string: a 16-byte header and its characters, rounded to 8 bytes (a string with
 * characters past U+00FF takes twice that for its characters: keys, tags and header values rarely have any). The
 * store flattens the strings it keeps, so no concatenation wrapper is counted.
 */
function stringBytes(value: string): number {
  return 16 + ((value.length + 7) & ~7);
}

/*
 * The fixed part of an entry (see stored-entry.ts): its slot in the key map (whose table runs up to twice the live
 * count between rehashes), the entry object (thirteen fields, three of them its key and recency links), its one boxed
 * number (storedAt) and its tags array's object and backing store header. Checked against the heap by
 * bench/micro.mjs (entries of a 998 B body, two headers, two groups): see bench/results/2026-11-25-memory-store-bytes.md.
 */
export const ENTRY_OVERHEAD_BYTES = 238;
// An entry whose times do not fit small integers (see stored-entry.ts, fitTimes) keeps them in an object of their own:
// four fields and four boxed numbers.
export const WIDE_TIMES_BYTES = 120;
// An array's own cost (object and backing store header), and one element.
const ARRAY_BYTES = 48;
const POINTER_BYTES = 8;
// A Buffer that owns its memory: the Uint8Array, its ArrayBuffer object and the backing store's bookkeeping.
const BUFFER_OVERHEAD_BYTES = 220;
// A shared head's record (five fields) and its map slot.
const SHARED_HEAD_BYTES = 110;

/** Bytes of a body Buffer as the memory store keeps it (its own allocation). */
export function bodySize(body: Buffer): number {
  return BUFFER_OVERHEAD_BYTES + body.length;
}

/** Bytes of a header list (its pairs and strings). */
export function headerListSize(headers: HeaderList): number {
  let size = ARRAY_BYTES;
  for (const [name, value] of headers) {
    size += POINTER_BYTES + ARRAY_BYTES + 2 * POINTER_BYTES + stringBytes(name);
    if (typeof value === 'string') size += stringBytes(value);
    else for (const item of value) size += POINTER_BYTES + stringBytes(item);
    if (typeof value !== 'string') size += ARRAY_BYTES;
  }
  return size;
}

/** Bytes of a Vary list (none for an empty one: the store keeps one empty list for all). */
export function varySize(vary: CachedEntry['vary']): number {
  if (vary.length === 0) return 0;
  let size = ARRAY_BYTES;
  for (const [name, value] of vary)
    size += POINTER_BYTES + ARRAY_BYTES + 2 * POINTER_BYTES + stringBytes(name) + stringBytes(value);
  return size;
}

/** Bytes of a status and header list held once (with the key it is shared under). */
export function headSize(headers: HeaderList, sharedKey = ''): number {
  return SHARED_HEAD_BYTES + stringBytes(sharedKey) + headerListSize(headers);
}

/**
 * Bytes an entry holds beyond its body and its head (status, headers): key, ETag, Vary, tags and the fixed
 * structures, every tag string but the key's counted as its own (an interned group tag too: see memory-store.ts).
 * `wide`: the entry's times did not fit small integers.
 */
export function entryOwnSize(key: string, entry: CachedEntry, wide = false): number {
  let size = ENTRY_OVERHEAD_BYTES + stringBytes(key) + stringBytes(entry.etag) + varySize(entry.vary);
  if (wide) size += WIDE_TIMES_BYTES;
  for (const tag of entry.tags) size += POINTER_BYTES + (tag === key ? 0 : stringBytes(tag));
  return size;
}

/** Estimated heap bytes of `entry` stored under `key`, its head counted as if it were its own. */
export function entrySize(key: string, entry: CachedEntry): number {
  return entryOwnSize(key, entry) + bodySize(entry.body) + headSize(entry.headers);
}

/*
 * Bytes one group-expiry record holds in the memory store: its tag string plus the record object (its tag, times,
 * size and its two links in expiry order), its numbers and the map slot, checked against the heap by bench/micro.mjs.
 */
export const RECORD_OVERHEAD_BYTES = 160;

/** Estimated heap bytes of the expiry record of `tag`. */
export function recordSize(tag: string): number {
  return RECORD_OVERHEAD_BYTES + tag.length * 2;
}
