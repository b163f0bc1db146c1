import { type CdnTagHeader, cdnTagsOption, DEFAULT_MAX_KEY_LENGTH } from '../core/keys.js';
import { monotonicNow } from '../core/monotonic-clock.js';
import { checkOptionNames, positiveOption, ttlOption } from '../core/options.js';
import type { CacheStore } from '../stores/contract.js';
import { memoryStore } from '../stores/memory-store.js';
import { CACHE_OPTION_NAMES, type CacheOptions, type ExpiryNotice } from './engine-types.js';
import type { CacheTelemetry } from './instrumentation.js';
import { type EdgeSettings, edgeSettings } from './purger.js';
import { jsonSerializer, type Serializer, serializerOption } from './value-codec.js';

/** `createCache()`'s options, checked, with every default filled in. */
export interface CacheSettings {
  store: CacheStore;
  now: () => number;
  ttl: number;
  maxEntryBytes: number;
  statuses: ReadonlySet<number>;
  storeTimeout: number;
  waitTimeout: number;
  header: string | undefined;
  maxKeyLength: number;
  maxGroups: number;
  maxPending: number;
  retryInterval: number;
  fillLock: boolean;
  fillLockTime: number;
  cacheStatus: boolean;
  cdnTags: CdnTagHeader | undefined;
  expireFromCodeOnly: boolean;
  serializer: Serializer;
  onExpire: ((expiry: ExpiryNotice) => void | Promise<void>) | undefined;
  edge: EdgeSettings | undefined;
  telemetry: CacheTelemetry | undefined;
}

/** Validates a `statuses` option: a non-empty list of HTTP status codes. */
export function statusSet(value: unknown, name: string): ReadonlySet<number> {
  if (!Array.isArray(value) || value.length === 0)
    throw new TypeError(`option ${name} must be a non-empty array of status codes`);
  for (const status of value) {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new TypeError(`option ${name} must hold status codes from 100 to 599, got ${String(status)}`);
    }
  }
  return new Set(value as number[]);
}

function checkStore(store: unknown): CacheStore {
  if (typeof store !== 'object' || store === null) throw new TypeError('option store must be a store object');
  for (const method of ['get', 'set', 'expire', 'delete', 'clear'] as const) {
    if (typeof (store as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`option store needs to have a ${method}() function`);
    }
  }
  return store as CacheStore;
}

function telemetryOption(value: unknown): CacheTelemetry | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new TypeError('option telemetry must be a telemetry object, e.g. openTelemetry()');
  for (const method of ['start', 'outcome', 'notStored', 'storeError'] as const) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`option telemetry needs to have a ${method}() function`);
    }
  }
  return value as CacheTelemetry;
}

function booleanOption(raw: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = raw[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  return value;
}

function functionOption<F>(raw: Record<string, unknown>, name: string): F | undefined {
  const value = raw[name];
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`option ${name} must be a function`);
  return value as F | undefined;
}

function headerOption(value: unknown): string | undefined {
  if (value === false) return undefined;
  if (value === undefined) return 'X-Cache';
  if (typeof value !== 'string' || !value) throw new TypeError('option header must be a header name or false');
  return value;
}

// The store, and the clock its lifetimes are measured on: a store on this process's clock measures them on the
// monotonic clock; a shared store's entries are judged by every instance, so on the wall clock they share.
function storeAndClock(options: CacheOptions, raw: Record<string, unknown>): { store: CacheStore; now: () => number } {
  const given = functionOption<() => number>(raw, 'now');
  const store = options.store === undefined ? undefined : checkStore(options.store);
  const now = given ?? (store === undefined || store.processClock === true ? monotonicNow : Date.now);
  return { store: store ?? memoryStore({ now }), now };
}

/** Checks `createCache()`'s options, each by name, and fills in the defaults. */
export function cacheSettings(options: CacheOptions): CacheSettings {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, CACHE_OPTION_NAMES, 'createCache()');
  const raw = options as Record<string, unknown>;
  const waitTimeout = positiveOption(raw, 'waitTimeout', 10_000);
  const cdnTags = cdnTagsOption(raw.cdnTags, 'cdnTags') || undefined;
  const edge = edgeSettings(raw.edge);
  if (edge !== undefined && cdnTags === undefined) {
    throw new TypeError(
      "option edge needs option cdnTags ('Surrogate-Key' for Varnish and Fastly, 'Cache-Tag' for Cloudflare): the edge purges by the tags it reads there",
    );
  }
  return {
    ...storeAndClock(options, raw),
    ttl: ttlOption(raw, 'ttl', 60_000),
    maxEntryBytes: positiveOption(raw, 'maxEntryBytes', 2 ** 20, true),
    statuses: options.statuses === undefined ? new Set([200]) : statusSet(options.statuses, 'statuses'),
    storeTimeout: positiveOption(raw, 'storeTimeout', 500),
    waitTimeout,
    header: headerOption(options.header),
    maxKeyLength: positiveOption(raw, 'maxKeyLength', DEFAULT_MAX_KEY_LENGTH, true),
    maxGroups: positiveOption(raw, 'maxGroups', 64, true),
    maxPending: positiveOption(raw, 'maxPendingExpiries', 10_000, true),
    retryInterval: positiveOption(raw, 'retryInterval', 1_000),
    fillLock: booleanOption(raw, 'fillLock', true),
    fillLockTime: positiveOption(raw, 'fillLockTime', waitTimeout),
    cacheStatus: booleanOption(raw, 'cacheStatus', false),
    cdnTags,
    expireFromCodeOnly: booleanOption(raw, 'expireFromCodeOnly', false),
    serializer: serializerOption(raw.serializer, 'serializer') ?? jsonSerializer,
    onExpire: functionOption<CacheSettings['onExpire']>(raw, 'onExpire'),
    edge,
    telemetry: telemetryOption(raw.telemetry),
  };
}
