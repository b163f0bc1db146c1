import type { CachedEntry, HeaderList } from './contract.js';

/*
 * Bytes an entry holds in the memory store's heap, for its `maxBytes` bound, estimated from V8's layout on 64-bit
 * Node (no pointer compression) and checked against measured heap growth by the benchmark (bench/micro.mjs: heap
 * after full GCs over 20,000 stored 1 KB responses; `stats().bytes` is held within 10% of it). A string is counted
 * as V8 lays out a one-byte string: a 16-byte header and its characters, rounded to 8 bytes (a string with
 * characters past U+00FF takes twice that for its characters: keys, tags and header values rarely have any).
 */
function stringBytes(value: string): number {
  return 16 + ((value.length + 7) & ~7);
}

/*
 * The fixed part of an entry: the store's slot object and its map slot (the LRU map's table runs up to twice the
 * live count between rehashes), the entry object (ten fields, four of them boxed numbers), its tags array, and the
 * wrappers V8 keeps around concatenated tag and ETag strings. Measured on Node 20 x64 (bench/micro.mjs, 20,000 entries
 * of a 998 B body, two headers, two groups): 1,819 B of heap per entry, counted as 1,810 B.
 */
export const ENTRY_OVERHEAD_BYTES = 440;
// An array's own cost (object and backing store header), and one element.
const ARRAY_BYTES = 48;
const POINTER_BYTES = 8;
// A Buffer that owns its memory: the Uint8Array, its ArrayBuffer object and the backing store's bookkeeping.
const BUFFER_OVERHEAD_BYTES = 220;
// A shared header list's record and map slot.
const SHARED_LIST_BYTES = 96;

/** Bytes of a body Buffer as the memory store keeps it (its own allocation). */
export function bodySize(body: Buffer): number {
  return BUFFER_OVERHEAD_BYTES + body.length;
}

/** Bytes of a header list held once (its pairs and strings), with the key it is shared under. */
export function headerListSize(headers: HeaderList, sharedKey = ''): number {
  let size = SHARED_LIST_BYTES + ARRAY_BYTES + stringBytes(sharedKey);
  for (const [name, value] of headers) {
    size += POINTER_BYTES + ARRAY_BYTES + 2 * POINTER_BYTES + stringBytes(name);
    if (typeof value === 'string') size += stringBytes(value);
    else for (const item of value) size += POINTER_BYTES + stringBytes(item);
    if (typeof value !== 'string') size += ARRAY_BYTES;
  }
  return size;
}

/** Bytes an entry holds beyond its body and its header list: key, ETag, tags, Vary and the fixed structures. */
export function entryOwnSize(key: string, entry: CachedEntry): number {
  let size = ENTRY_OVERHEAD_BYTES + stringBytes(key) + stringBytes(entry.etag);
  for (const tag of entry.tags) size += POINTER_BYTES + (tag === key ? 0 : stringBytes(tag));
  if (entry.vary.length > 0) size += ARRAY_BYTES;
  for (const [name, value] of entry.vary) size += POINTER_BYTES + ARRAY_BYTES + stringBytes(name) + stringBytes(value);
  return size;
}

/** Estimated heap bytes of `entry` stored under `key`, its header list counted as if it were its own. */
export function entrySize(key: string, entry: CachedEntry): number {
  return entryOwnSize(key, entry) + bodySize(entry.body) + headerListSize(entry.headers);
}

/*
 * Bytes one group-expiry record holds in the memory store: its tag string plus the record object, its numbers and
 * the map slot. Measured on Node 20 x64 after full GCs (bench/micro.mjs, 100,000 records): 349 B a record for
 * 200-character group names, counted here as 532 B; 125 B for 10-character names, counted as 152 B.
 */
export const RECORD_OVERHEAD_BYTES = 128;

/** Estimated heap bytes of the expiry record of `tag`. */
export function recordSize(tag: string): number {
  return RECORD_OVERHEAD_BYTES + tag.length * 2;
}
