import { performance } from 'node:perf_hooks';
import { MAX_TTL } from '../core/options.js';
import { describeTag } from '../core/tag-names.js';
import type { CachedEntry, CacheStore, StoreRefusal } from '../stores/contract.js';
import type { Fill } from './fill.js';
import type { Telemetry } from './telemetry.js';
import { callStore } from './timeout.js';

/** What storing a fill needs of the cache. */
export interface StoreFillSettings {
  store: CacheStore;
  storeTimeout: number;
  telemetry: Telemetry;
}

/**
 * Hands a finished fill's entry to the store, and counts and names what became of it: stored, refused (with one
 * cause) or lost to a store failure. `released` runs as soon as the store answered, before anything is told.
 */
export async function storeFill(
  { store, storeTimeout, telemetry }: StoreFillSettings,
  fill: Fill,
  given: CachedEntry,
  released: () => void,
): Promise<{ stored: boolean; entry: CachedEntry }> {
  const entry = withinMaxTtl(given);
  let stored = false;
  let failed = false;
  let cause: StoreRefusal | undefined;
  const refused = (why: StoreRefusal): void => {
    cause ??= why;
  };
  // A fill holding the store's fill lock releases it with the write, where the store can (one call, not two).
  const token = fill.lockToken;
  try {
    if (token === undefined || store.setAndUnlock === undefined) {
      stored = await callStore('store.set', storeTimeout, () => store.set(fill.id, entry, refused));
    } else {
      stored = await callStore('store.set', storeTimeout, () => store.setAndUnlock?.(fill.id, entry, token, refused) ?? false);
      fill.lockReleased();
    }
  } catch (error) {
    failed = true;
    telemetry.report(error);
  }
  released();
  if (stored) {
    telemetry.stored(fill.key, fill.where, entry.body.length, performance.now() - fill.enteredAt);
  } else {
    telemetry.refused();
    if (failed) telemetry.notStored(fill.key, fill.where, 'store-unavailable', 'the store failed');
    else telemetry.notStored(fill.key, fill.where, 'refused-by-store', refusal(store.name, fill, entry, cause));
  }
  return { stored, entry };
}

// One cause, the store's own when it named one (`CacheStore.set`), else what this process knows.
function refusal(storeName: string, fill: Fill, entry: CachedEntry, cause: StoreRefusal | undefined): string {
  const doomedBy = fill.doomedBy;
  if (cause === 'expired' || (cause === undefined && doomedBy !== undefined)) {
    const what = doomedBy === undefined ? 'one of its groups or its key' : describeTag(doomedBy);
    return `refused by the store: ${what} was expired after this fill started`;
  }
  switch (cause) {
    case 'newer':
      return 'refused by the store: it holds an entry of this key whose fill started later';
    case 'too-large':
      return `refused by the store: an entry of ${entry.body.length} body bytes is over its size limit`;
    case 'ttl':
      return `refused by the store: it does not keep an entry for ${entry.staleUntil - entry.storedAt} ms (ttl plus stale window)`;
    default:
      return `refused by the ${storeName} store, which named no cause`;
  }
}

/*
 * An entry kept no longer than MAX_TTL, its stale window cut first: every store keeps at least that long, so a ttl
 * and a stale window that each pass alone never make an entry no store takes. Rounded down a millisecond where
 * floating point would put a store's whole-ms lifetime one above.
 */
function withinMaxTtl(entry: CachedEntry): CachedEntry {
  const { storedAt } = entry;
  if (entry.staleUntil - storedAt <= MAX_TTL && entry.freshUntil - storedAt <= MAX_TTL) return entry;
  let until = storedAt + MAX_TTL;
  if (Math.ceil(until - storedAt) > MAX_TTL) until = storedAt + (MAX_TTL - 1);
  const { status, headers, body, etag, vary, tags, startedAt } = entry;
  const freshUntil = Math.min(entry.freshUntil, until);
  const staleUntil = Math.min(entry.staleUntil, until);
  return { status, headers, body, etag, vary, tags, startedAt, storedAt, freshUntil, staleUntil };
}
