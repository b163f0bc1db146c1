import type { CachedEntry } from './contract.js';

/*
 * Bytes an entry holds in the heap, for the memory store's bound. Strings are counted at two bytes a code unit
 * (V8's worst case), and a fixed allowance covers the entry object, its arrays and the map slot; the benchmark
 * checks this estimate against measured heap growth (bench/micro.mjs: the entry structures of a 1 KB response
 * with two headers and two groups measured about 900 B beyond body, headers and key on Node 20, where 320 B
 * here accounted for about 700 B in all).
 */
export const ENTRY_OVERHEAD_BYTES = 520;
const HEADER_OVERHEAD_BYTES = 48;

function stringBytes(value: string): number {
  return value.length * 2;
}

/** Estimated heap bytes of `entry` stored under `key`. */
export function entrySize(key: string, entry: CachedEntry): number {
  let size = ENTRY_OVERHEAD_BYTES + entry.body.length + stringBytes(key) + stringBytes(entry.etag);
  for (const [name, value] of entry.headers) {
    size += HEADER_OVERHEAD_BYTES + stringBytes(name);
    if (typeof value === 'string') size += stringBytes(value);
    else for (const item of value) size += stringBytes(item) + 16;
  }
  for (const [name, value] of entry.vary) size += HEADER_OVERHEAD_BYTES + stringBytes(name) + stringBytes(value);
  for (const tag of entry.tags) size += 16 + stringBytes(tag);
  return size;
}

/*
 * Bytes one group-expiry record holds in the memory store: its tag string plus the record object, its numbers and
 * the map slot. Measured on Node 20 x64 after full GCs (bench/micro.mjs, 100,000 records): 349 B a record for
 * 200-character group names, counted here as 532 B; 125 B for 10-character names, counted as 152 B.
 */
export const RECORD_OVERHEAD_BYTES = 128;

/** Estimated heap bytes of the expiry record of `tag`. */
export function recordSize(tag: string): number {
  return RECORD_OVERHEAD_BYTES + stringBytes(tag);
}
