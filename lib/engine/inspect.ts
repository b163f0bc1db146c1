import { dataKeyId, keyId } from '../core/keys.js';
import { describeTag } from '../core/tag-names.js';
import type { CachedEntry, CacheStore, PeekLookup } from '../stores/contract.js';
import { entrySize } from '../stores/entry-size.js';
import type { InspectedEntry, InspectOptions } from './engine-types.js';
import { callStore } from './timeout.js';

/** What inspecting needs of the cache. */
export interface InspectSettings {
  store: CacheStore;
  storeTimeout: number;
  maxKeyLength: number;
  now(): number;
  /** Tags whose expiry is queued for a retry in this process. */
  pending: ReadonlySet<string>;
}

/** See `GroupCache.inspect`. */
export async function inspectKey(
  settings: InspectSettings,
  key: string,
  options: InspectOptions = {},
): Promise<InspectedEntry | undefined> {
  if (typeof key !== 'string' || key === '') throw new TypeError('argument key must be a non-empty string');
  const { store, storeTimeout, maxKeyLength } = settings;
  const id = options.data === true ? dataKeyId(key, maxKeyLength) : keyId(key, maxKeyLength);
  const lookup: PeekLookup = await callStore('store.peek', storeTimeout, () =>
    store.peek === undefined ? store.get(id) : store.peek(id),
  );
  const entry = lookup.entry;
  if (entry === undefined) return undefined;
  const now = settings.now();
  const inspected: InspectedEntry = {
    key,
    id,
    status: entry.status,
    headers: entry.headers,
    size: entrySize(id, entry),
    bodyBytes: entry.body.length,
    groups: entry.tags.filter((tag) => /^[gG]:/.test(tag)).map((tag) => (tag.startsWith('g:') ? tag.slice(2) : tag)),
    age: Math.max(0, now - entry.storedAt),
    storedAt: entry.storedAt,
    freshUntil: entry.freshUntil,
    staleUntil: entry.staleUntil,
    state: 'fresh',
  };
  judge(inspected, entry, lookup, settings.pending, now);
  if (options.body === true) inspected.body = entry.body;
  return inspected;
}

// Its state and why: invalidated (by what, where the store can tell), stale, or left fresh.
function judge(
  inspected: InspectedEntry,
  entry: CachedEntry,
  lookup: PeekLookup,
  pending: ReadonlySet<string>,
  now: number,
): void {
  const queued = entry.tags.filter((tag) => pending.has(tag)).map((tag) => `${describeTag(tag)} (expiry queued for retry)`);
  if (entry.startedAt <= lookup.expiredAt || queued.length > 0) {
    inspected.state = 'invalidated';
    const expired = lookup.expiredBy?.map(([tag]) => describeTag(tag));
    if (expired !== undefined || queued.length > 0) inspected.expiredBy = [...(expired ?? []), ...queued];
    inspected.why =
      inspected.expiredBy !== undefined && inspected.expiredBy.length > 0
        ? `expired after its fill started: ${inspected.expiredBy.join(', ')}`
        : 'a group or key of it was expired after its fill started (this store does not say which)';
  } else if (now >= entry.freshUntil) {
    inspected.state = 'stale';
    inspected.why = `past freshUntil by ${now - entry.freshUntil} ms`;
  }
}
