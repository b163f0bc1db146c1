import type { KeyFunction } from '../core/key-function.js';
import { type CdnTagHeader, cdnTagsOption } from '../core/keys.js';
import { checkOptionNames, positiveOption, ttlOption } from '../core/options.js';
import type { GroupCache } from '../engine/cache.js';
import { statusSet } from '../engine/cache-options.js';
import { defaultCache, noteRoute } from '../engine/default-cache.js';
import { StatusHeaders } from './cache-status.js';
import { type CacheControlOption, cacheControlOption, type SentCacheControl, sentCacheControl } from './client-freshness.js';
import type { StoragePolicy } from './storage-policy.js';
import { COOKIE_PREFIX } from './vary.js';

/**
 * Options of a cached route (`groupCache(keyFn, options)`). Unset ones fall back to the cache's. `Req` is what the
 * adapter's key function gets (Express `req`, Koa `ctx`, Fastify `request`), for `refresh`.
 */
export interface RouteOptions<Cache = GroupCache, Req = unknown> {
  /** The cache to use. Default: the process-wide default cache shared with `expireGroups()`. */
  cache?: Cache;
  /**
   * Lifetime of this route's entries, in ms. A key function's `ttl` overrides it. `'headers'`: the handler's
   * response sets it (RFC 9111 §4.2.1: `s-maxage`, else `max-age`, else `Expires` minus `Date`), at most one year;
   * the cache's `ttl` when the response says nothing; a lifetime of 0 (`max-age=0`, `no-cache`, a past
   * `Expires`) is not stored. The handler's `cacheTtl` and the key function's `ttl` still win over the headers.
   */
  ttl?: number | 'headers';
  /**
   * The `Cache-Control` clients get instead of the handler's, on every response the cache serves or stores (a
   * miss as the handler sent it, with this header replaced; a hit; a stale copy). A string, or a function of the
   * response ({@link CacheControlInfo}) returning one, or undefined to keep the handler's (a function that throws
   * is reported as `ERESPONSE` and the handler's is kept). A hit's `Age` never exceeds its `max-age` /
   * `s-maxage` (the smaller): an older entry is still served, with `Age` equal to that limit. Responses that
   * bypass the cache keep the handler's. Default: the handler's `Cache-Control`, replayed as it was sent.
   */
  cacheControl?: CacheControlOption;
  /**
   * Lets a client refresh this route's entry: when it returns true for a GET, the handler runs and its response
   * replaces the entry, fresh or not (e.g. `(req) => req.get('x-refresh') === process.env.REFRESH_SECRET`). A
   * predicate that throws is reported (`EKEYFUNCTION`) and counts as false. Default none: nothing a client sends
   * (`Cache-Control: no-cache` included) bypasses or refreshes the cache.
   */
  refresh?(req: Req): boolean;
  /** Statuses that may be stored. Default: the cache's (200 only). */
  statuses?: readonly number[];
  /** Largest body stored, in bytes. Default: the cache's (1 MiB). */
  maxEntryBytes?: number;
  /** Cache requests that carry `Authorization` (the response must not depend on who asks). Default false. */
  allowAuthorization?: boolean;
  /** Store responses that set cookies; every client then gets the cookie. Default false. */
  allowSetCookie?: boolean;
  /** Store responses marked `Cache-Control: private`. Default false. */
  allowPrivate?: boolean;
  /**
   * Request headers whose values are mixed into the key (one entry per combination), and single cookies as
   * `'cookie:<name>'` (`['accept-language', 'cookie:sid']`): a session cookie in the key without a key function
   * written for it. Default none.
   */
  vary?: readonly string[];
  /**
   * How long past its TTL an entry is still served, in ms, while one request refills it: that request runs the
   * handler, every other one meanwhile gets the stale copy at once (`X-Cache: STALE`). Default 0 (never).
   */
  staleWhileRevalidate?: number;
  /**
   * How long past its TTL an entry may stand in for a refill that fails (the handler throws, calls
   * `next(err)`, answers 5xx, or outlasts `handlerTimeout`), in ms: the client gets the stale copy
   * (`X-Cache: STALE`) instead of the error, and the entry stays. Default 0 (never).
   */
  staleIfError?: number;
  /**
   * Lets `staleIfError` serve an entry invalidated by a group or key expiry. Read-your-writes does not hold for
   * such a response: a client may see data from before a write it already got an answer for. Default false.
   */
  staleIfErrorAfterExpire?: boolean;
  /** With `staleIfError`: a refill still running after this many ms counts as failed. Default none. */
  handlerTimeout?: number;
  /** Send RFC 9211 `Cache-Status` beside the status header. Default: the cache's `cacheStatus` (false). */
  cacheStatus?: boolean;
  /**
   * Send the entry's groups to a CDN in this header (`'Surrogate-Key'` space-separated, `'Cache-Tag'`
   * comma-separated), on misses and hits; `false` turns the cache's setting off here. Default: the cache's `cdnTags`.
   */
  cdnTags?: CdnTagHeader | false;
}

const ROUTE_OPTION_NAMES = Object.keys({
  cache: true,
  ttl: true,
  statuses: true,
  maxEntryBytes: true,
  allowAuthorization: true,
  allowSetCookie: true,
  allowPrivate: true,
  vary: true,
  staleWhileRevalidate: true,
  staleIfError: true,
  staleIfErrorAfterExpire: true,
  handlerTimeout: true,
  cacheStatus: true,
  cdnTags: true,
  cacheControl: true,
  refresh: true,
} satisfies Record<keyof RouteOptions, true>);

function flag(options: Record<string, unknown>, name: string): boolean {
  const value = options[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  return value;
}

/** A route's options, checked and resolved against its cache's. */
export interface RouteSettings<Req> {
  cache: GroupCache;
  keyFn: KeyFunction<Req>;
  policy: StoragePolicy;
  ttl: number;
  // `ttl: 'headers'`: the response's freshness headers set the TTL, `ttl` when they say nothing.
  ttlFromHeaders: boolean;
  cacheControl: CacheControlOption | undefined;
  // A fixed `cacheControl`, parsed once.
  fixedControl: SentCacheControl | undefined;
  refresh: ((req: Req) => boolean) | undefined;
  vary: readonly string[];
  stale: { whileRevalidate: number; ifError: number; afterExpire: boolean; handlerTimeout: number | undefined };
  status: StatusHeaders;
  cdnTags: CdnTagHeader | undefined;
}

/** Checks `groupCache(keyFn, options)`'s arguments and resolves its options; throws a TypeError naming the bad one. */
export function routeSettings<Req>(keyFn: KeyFunction<Req>, options: RouteOptions<GroupCache, Req> = {}): RouteSettings<Req> {
  if (typeof keyFn !== 'function') throw new TypeError('argument keyFn must be a function');
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, ROUTE_OPTION_NAMES, 'groupCache()');
  const raw = options as Record<string, unknown>;
  const cache = options.cache ?? defaultCache();
  if (typeof cache !== 'object' || typeof cache.lookup !== 'function') {
    throw new TypeError('option cache must be a cache made by createCache()');
  }
  noteRoute(cache);
  const ttlFromHeaders = raw.ttl === 'headers';
  const ttl = ttlFromHeaders ? cache.ttl : ttlOption(raw, 'ttl', cache.ttl);
  const cacheControl = cacheControlOption(raw.cacheControl);
  const fixedControl = typeof cacheControl === 'string' ? sentCacheControl(cacheControl) : undefined;
  if (raw.refresh !== undefined && typeof raw.refresh !== 'function') {
    throw new TypeError('option refresh must be a function of the request returning a boolean');
  }
  return {
    cache,
    keyFn,
    ttl,
    ttlFromHeaders,
    cacheControl,
    fixedControl,
    refresh: options.refresh,
    policy: storagePolicy(raw, cache),
    vary: varyOption(options.vary),
    stale: {
      whileRevalidate: raw.staleWhileRevalidate === undefined ? 0 : ttlOption(raw, 'staleWhileRevalidate', 0),
      ifError: raw.staleIfError === undefined ? 0 : ttlOption(raw, 'staleIfError', 0),
      afterExpire: flag(raw, 'staleIfErrorAfterExpire'),
      handlerTimeout: raw.handlerTimeout === undefined ? undefined : ttlOption(raw, 'handlerTimeout', 0),
    },
    status: new StatusHeaders(cache.header, raw.cacheStatus === undefined ? cache.cacheStatus : flag(raw, 'cacheStatus')),
    cdnTags: cdnTagsOf(raw, cache),
  };
}

/**
 * Checks `groupCache(keyFn, options)`'s arguments where the route's cache is not known yet (a decorator, run when
 * its class is defined): throws the TypeError {@link routeSettings} would, and takes no cache.
 */
export function checkRouteOptions<Req>(keyFn: KeyFunction<Req>, options: RouteOptions<GroupCache, Req> = {}): void {
  if (typeof keyFn !== 'function') throw new TypeError('argument keyFn must be a function');
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, ROUTE_OPTION_NAMES, 'groupCache()');
  const raw = options as Record<string, unknown>;
  if (options.cache !== undefined && (typeof options.cache !== 'object' || typeof options.cache.lookup !== 'function')) {
    throw new TypeError('option cache must be a cache made by createCache()');
  }
  if (raw.ttl !== 'headers') ttlOption(raw, 'ttl', 1);
  cacheControlOption(raw.cacheControl);
  if (raw.refresh !== undefined && typeof raw.refresh !== 'function') {
    throw new TypeError('option refresh must be a function of the request returning a boolean');
  }
  if (raw.statuses !== undefined) statusSet(raw.statuses as readonly number[], 'statuses');
  for (const name of ['allowAuthorization', 'allowSetCookie', 'allowPrivate', 'staleIfErrorAfterExpire', 'cacheStatus']) {
    flag(raw, name);
  }
  positiveOption(raw, 'maxEntryBytes', 1);
  varyOption(options.vary);
  for (const name of ['staleWhileRevalidate', 'staleIfError', 'handlerTimeout']) {
    if (raw[name] !== undefined) ttlOption(raw, name, 0);
  }
  cdnTagsOption(raw.cdnTags, 'cdnTags');
}

function storagePolicy(raw: Record<string, unknown>, cache: GroupCache): StoragePolicy {
  return {
    statuses: raw.statuses === undefined ? cache.statuses : statusSet(raw.statuses as readonly number[], 'statuses'),
    allowAuthorization: flag(raw, 'allowAuthorization'),
    allowSetCookie: flag(raw, 'allowSetCookie'),
    allowPrivate: flag(raw, 'allowPrivate'),
    maxEntryBytes: positiveOption(raw, 'maxEntryBytes', cache.maxEntryBytes),
  };
}

function varyOption(given: unknown): readonly string[] {
  const vary = given ?? [];
  if (!Array.isArray(vary) || vary.some((name) => typeof name !== 'string' || name === '')) {
    throw new TypeError('option vary must be an array of request header names');
  }
  // Header names are case-insensitive; a cookie's name (`cookie:sid`) is not.
  return vary.map((name: string) =>
    name.toLowerCase().startsWith(COOKIE_PREFIX) ? COOKIE_PREFIX + name.slice(COOKIE_PREFIX.length) : name.toLowerCase(),
  );
}

function cdnTagsOf(raw: Record<string, unknown>, cache: GroupCache): CdnTagHeader | undefined {
  const cdnTags = cdnTagsOption(raw.cdnTags, 'cdnTags');
  return cdnTags === undefined ? cache.cdnTags : cdnTags || undefined;
}
