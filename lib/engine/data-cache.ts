/*
 * Data on the response cache: `cache.getOrSet(key, loader, options)` and `cache.wrap(fn, keyFn, options)` cache
 * values as the seed cached function results, through the engine's one entry point
 * (`cache.lookup()`), so a value shares everything a response has: the store, the group and key expiry records,
 * one fill per key, and a fill stamp taken when the call entered. Expiring `user_group_1` invalidates the cached
 * `/users/1` response and the cached `loadUser(1)` result at once.
 *
 * A value is stored as a `CachedEntry` whose body is its serialized form (status 200, the serializer's content
 * type, no vary: value-codec.ts) under
 * `dataKeyId(key)` (`d:` + key), a name space of its own: a value and a response of the same key never share a
 * slot. Its tags are its groups and `keyId(key)`, the tag `expireKey(key)` expires, so `expireKey('user_1')`
 * invalidates the value and the response named `user_1` alike (expiring too much costs a miss, never a stale read).
 *
 * A caller gets the same value on a miss and on a hit: a miss returns what it decoded from the bytes it stored, and
 * a value that does not come back from its serializer as it went in is returned as the loader gave it, not stored,
 * and reported (`EVALUE`), so that every call of its key gets the loader's own value.
 */
import { performance } from 'node:perf_hooks';
import { bodyEtag } from '../core/body-etag.js';
import { GroupCacheError } from '../core/errors.js';
import { normalizeGroups, normalizeKeyResult } from '../core/key-function.js';
import { dataKeyId, keyId } from '../core/keys.js';
import { checkOptionNames, ttlOption } from '../core/options.js';
import type { CachedEntry } from '../stores/contract.js';
import type { Acquired, AcquireRequest, Fill } from './fill.js';
import {
  codecOf,
  roundTripMismatch,
  type Serializer,
  type SerializerOption,
  serializerOption,
  type ValueCodec,
} from './value-codec.js';

/** What the data API needs of the cache it runs on (a `GroupCache`). */
export interface DataHost {
  readonly ttl: number;
  readonly maxEntryBytes: number;
  readonly maxGroups: number;
  readonly maxKeyLength: number;
  readonly serializer: Serializer;
  now(): number;
  lookup(request: AcquireRequest): Acquired | Promise<Acquired>;
  report(error: unknown): void;
  recordBypass(reason: string, where: string, key?: string): void;
  getOrSet<T>(key: string, loader: () => T | Promise<T>, options?: DataOptions): Promise<T>;
}

/** Options of `cache.getOrSet()` and `cache.wrap()`. Every duration is in milliseconds. */
export interface DataOptions {
  /** Group names the value belongs to (a single name or a list): expiring any of them invalidates it. Default none. */
  groups?: string | readonly string[];
  /** Lifetime of the value. Default: the cache's `ttl` (60,000 ms unless set). */
  ttl?: number;
  /**
   * How long past its TTL a value is still returned, at once, while one loader refreshes it in the background; a
   * failed refresh is reported as an `error` event and the stale value stays. Default 0 (never: a value past its
   * TTL is loaded again, and the caller waits for it).
   */
  staleWhileRevalidate?: number;
  /**
   * How the value is stored: `'json'`, `'v8'` (Node's structured clone: also `Date`, `Map`, `Set`, `BigInt`, typed
   * arrays, `NaN`) or a {@link Serializer} of your own. Default: the cache's `serializer` (JSON unless set).
   */
  serializer?: SerializerOption;
}

const DATA_OPTION_NAMES = Object.keys({
  groups: true,
  ttl: true,
  staleWhileRevalidate: true,
  serializer: true,
} satisfies Record<keyof DataOptions, true>);

/** The full form of what a `cache.wrap()` key function returns. */
export interface DataKeySpec {
  /** The cache key of this call. Any non-empty string; long keys are hashed. */
  key: string;
  /** Group names of this call's value, added to the options' groups. */
  groups?: string | readonly string[];
  /** Lifetime of this call's value in ms, overriding the options' `ttl`. */
  ttl?: number;
}

/** What a `cache.wrap()` key function returns: a key, a spec, or a falsy value to call the function uncached. */
export type DataKeyResult = string | DataKeySpec | null | undefined | false;

/** Validated data options: what `getOrSet`, `wrap` and `@cached` calls look values up with. */
export interface DataSettings {
  groups: string[];
  ttl: number;
  staleWhileRevalidate: number;
  codec: ValueCodec;
}

export function dataSettings(cache: DataHost, options: unknown, what: string): DataSettings {
  if (options === undefined) return { groups: [], ttl: cache.ttl, staleWhileRevalidate: 0, codec: codecOf(cache.serializer) };
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, DATA_OPTION_NAMES, what);
  const raw = options as Record<string, unknown>;
  return {
    groups: normalizeGroups(raw.groups, 'option groups', cache.maxGroups),
    ttl: ttlOption(raw, 'ttl', cache.ttl),
    // As on routes: an explicit 0 is refused (leave it out for none).
    staleWhileRevalidate: raw.staleWhileRevalidate === undefined ? 0 : ttlOption(raw, 'staleWhileRevalidate', 0),
    codec: codecOf(serializerOption(raw.serializer, 'serializer') ?? cache.serializer),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function quote(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

// What the engine is asked for a data key.
function dataRequest(cache: DataHost, key: string, settings: DataSettings, enteredAt: number, where: string): AcquireRequest {
  return {
    key,
    id: dataKeyId(key, cache.maxKeyLength),
    groups: settings.groups,
    keyTag: keyId(key, cache.maxKeyLength),
    source: { where },
    canFill: true,
    enteredAt,
    // A value another serializer wrote is not this call's to read: the engine takes it for a miss, and refills.
    selection: settings.codec.selection,
    staleWhileRevalidate: settings.staleWhileRevalidate,
    // A failed load rejects its caller: no fallback. A stale value this call refreshes comes as `revalidating`.
    staleIfError: 0,
    staleIfErrorAfterExpire: false,
  };
}

/**
 * Looks `key` up and answers its value: a hit, a stale value (with a refresh running), or the loader's result.
 * `enteredAt` is when the call entered: the fill is dated from it, so an expiry landing after it dooms the fill.
 */
export async function load<T>(
  cache: DataHost,
  key: string,
  loader: () => T | Promise<T>,
  settings: DataSettings,
  enteredAt: number,
  where: string,
): Promise<T> {
  const codec = settings.codec;
  const request = dataRequest(cache, key, settings, enteredAt, where);
  let acquired: Acquired;
  try {
    acquired = await cache.lookup(request);
  } catch (error) {
    cache.report(error); // the engine fails open itself; this only guards the guard
    return loader();
  }
  switch (acquired.type) {
    case 'hit':
    case 'stale':
      return decodeOrLoad(cache, codec, acquired.entry, key, where, loader);
    case 'pass':
    // Never answered to a complete selection: a value's entries vary on nothing.
    case 'vary':
      return loader();
    default: {
      const { fill, revalidating } = acquired;
      const stale = revalidating === undefined ? undefined : decode<T>(cache, codec, revalidating, key, where);
      if (stale === undefined) return fillWith(cache, fill, loader, settings);
      // The caller gets the stale value now (a route's refilling request waits instead): the refresh runs in the
      // background, where a failure is only reported and the stale value stays.
      fillWith(cache, fill, loader, settings).catch((error: unknown) => {
        cache.report(
          new GroupCacheError('ELOADER', `background refresh of ${where} key ${quote(key)} failed: ${messageOf(error)}`, {
            cause: error,
            details: { key, where },
          }),
        );
      });
      return stale.value;
    }
  }
}

function decode<T>(cache: DataHost, codec: ValueCodec, entry: CachedEntry, key: string, where: string): { value: T } | undefined {
  try {
    return { value: codec.decode(entry.body) as T };
  } catch (error) {
    cache.report(
      new GroupCacheError(
        'EVALUE',
        `cached value of ${where} key ${quote(key)} cannot be read by the ${codec.serializer.name} serializer (${messageOf(error)}): loaded again`,
        { cause: error, details: { key, where } },
      ),
    );
    return undefined;
  }
}

function decodeOrLoad<T>(
  cache: DataHost,
  codec: ValueCodec,
  entry: CachedEntry,
  key: string,
  where: string,
  loader: () => T | Promise<T>,
): T | Promise<T> {
  const decoded = decode<T>(cache, codec, entry, key, where);
  return decoded === undefined ? loader() : decoded.value;
}

/**
 * Runs the loader as the fill of its key; its value goes to the store and, whatever the store says, to the caller:
 * as a hit would decode it when it could be stored, as the loader gave it when it could not.
 */
async function fillWith<T>(cache: DataHost, fill: Fill, loader: () => T | Promise<T>, settings: DataSettings): Promise<T> {
  let value: T;
  try {
    value = await loader();
  } catch (error) {
    fill.cancel(`the loader failed: ${messageOf(error)}`);
    throw error;
  }
  return (await commitValue(cache, fill, value, settings)) as T;
}

function refuseValue(cache: DataHost, fill: Fill, codec: ValueCodec, problem: string, cause?: unknown): void {
  const name = codec.serializer.name;
  fill.cancel(`the ${name} serializer cannot hold the value: ${problem}`, name === 'json' ? 'not-json' : 'not-serializable');
  cache.report(
    new GroupCacheError(
      'EVALUE',
      `the value of ${fill.where} key ${quote(fill.key)} cannot be stored by the ${name} serializer (${problem}): returned, not cached`,
      { cause, details: { key: fill.key, where: fill.where, serializer: name } },
    ),
  );
}

/*
 * Awaited before the caller gets the value (one store round trip on a miss, bounded by storeTimeout): once
 * getOrSet resolves, the value is in the store or was refused, so the caller's next call, here or in another
 * process, finds it. Never rejects: the engine reports store failures, and a value is returned regardless.
 * Answers the value for the caller: decoded from the bytes stored, or the loader's own when none are.
 */
async function commitValue(cache: DataHost, fill: Fill, value: unknown, settings: DataSettings): Promise<unknown> {
  if (value === undefined) {
    fill.cancel('the loader returned undefined: not cached');
    return value;
  }
  const codec = settings.codec;
  let body: Buffer;
  let decoded: unknown;
  try {
    body = codec.encode(value);
  } catch (error) {
    refuseValue(cache, fill, codec, messageOf(error), error);
    return value;
  }
  if (body.length > cache.maxEntryBytes) {
    fill.cancel(`value of ${body.length} bytes over maxEntryBytes ${cache.maxEntryBytes}`);
    return value;
  }
  try {
    decoded = codec.decode(body);
  } catch (error) {
    refuseValue(cache, fill, codec, `its bytes do not read back: ${messageOf(error)}`, error);
    return value;
  }
  const mismatch = roundTripMismatch(value, decoded);
  if (mismatch !== undefined) {
    refuseValue(cache, fill, codec, mismatch);
    return value;
  }
  const storedAt = cache.now();
  const freshUntil = storedAt + settings.ttl;
  const entry: CachedEntry = {
    status: 200,
    headers: [['content-type', codec.contentType]],
    body,
    etag: bodyEtag(body),
    vary: [],
    tags: [...fill.tags],
    startedAt: fill.startedAt,
    storedAt,
    freshUntil,
    staleUntil: freshUntil + settings.staleWhileRevalidate,
  };
  try {
    await fill.commit(entry);
  } catch (error) {
    cache.report(error); // the engine reports store failures itself: this is a throwing `store` listener
  }
  return decoded;
}

/**
 * `cache.getOrSet()`: the value of `key`, from the cache or from `loader`. See `GroupCache.getOrSet` for the
 * contract; the cache method delegates here.
 */
export async function getOrSet<T>(cache: DataHost, key: string, loader: () => T | Promise<T>, options?: DataOptions): Promise<T> {
  const enteredAt = performance.now(); // first: whatever the loader reads is read after it
  if (typeof key !== 'string' || key === '') throw new TypeError('argument key must be a non-empty string');
  if (typeof loader !== 'function') throw new TypeError('argument loader must be a function');
  return load(cache, key, loader, dataSettings(cache, options, 'getOrSet()'), enteredAt, 'getOrSet');
}

/** Reads a wrap key function's result: undefined to call uncached; a `GroupCacheError` (`EKEYFUNCTION`) for junk. */
export function dataKeySpec(
  value: unknown,
  maxGroups: number,
): { key: string; groups: string[]; ttl: number | undefined } | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && (value as DataKeySpec).key === undefined) {
    // A route may leave the key out (its URL is the key); a function call has no URL.
    throw new GroupCacheError(
      'EKEYFUNCTION',
      'returned an object without a key: expected a key string or { key, groups?, ttl? }',
      {
        details: { returned: value },
      },
    );
  }
  return normalizeKeyResult(value, maxGroups, () => '');
}

/**
 * `cache.wrap()`: `fn` behind `getOrSet`, keyed by `keyFn(...args)`. See `GroupCache.wrap` for the contract; the
 * cache method delegates here.
 */
export function wrap<Args extends unknown[], R>(
  cache: DataHost,
  fn: (...args: Args) => R,
  keyFn: (...args: Args) => DataKeyResult | Promise<DataKeyResult>,
  options?: DataOptions | ((...args: Args) => DataOptions),
): (...args: Args) => Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw new TypeError('argument fn must be a function');
  if (typeof keyFn !== 'function') throw new TypeError('argument keyFn must be a function');
  const fixed = typeof options === 'function' ? undefined : dataSettings(cache, options, 'wrap()');
  const where = `wrap(${fn.name || 'anonymous'})`;
  return async function wrapped(this: unknown, ...args: Args): Promise<Awaited<R>> {
    const enteredAt = performance.now();
    const call = async (): Promise<Awaited<R>> => await fn.apply(this, args);
    let key: string;
    let settings: DataSettings;
    let failing = 'key function';
    try {
      const spec = dataKeySpec(await keyFn.apply(this, args), cache.maxGroups);
      if (spec === undefined) {
        cache.recordBypass('no key', where);
        return call();
      }
      key = spec.key;
      failing = 'options function';
      settings = fixed ?? dataSettings(cache, (options as (...args: Args) => DataOptions).apply(this, args), `${where} options`);
      if (spec.ttl !== undefined) settings = { ...settings, ttl: spec.ttl };
      if (spec.groups.length > 0) {
        settings = { ...settings, groups: normalizeGroups([...settings.groups, ...spec.groups], 'groups', cache.maxGroups) };
      }
    } catch (error) {
      // As on routes: a key function that fails or returns junk is reported, and the call runs uncached.
      const message = error instanceof GroupCacheError ? error.message : `threw: ${messageOf(error)}`;
      cache.report(
        new GroupCacheError('EKEYFUNCTION', `${failing} of ${where} ${message}`, {
          cause: error,
          details: { where },
        }),
      );
      cache.recordBypass('key function error', where);
      return call();
    }
    return load(cache, key, call, settings, enteredAt, where);
  };
}
