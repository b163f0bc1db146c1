import { GroupCacheError } from '../core/errors.js';
import { type KeyFunction, type KeyResult, normalizeKeyResult } from '../core/key-function.js';
import { type CdnTagHeader, cdnTagsOption, keyId } from '../core/keys.js';
import { checkOptionNames, positiveOption, ttlOption } from '../core/options.js';
import { isPromiseLike } from '../core/promise.js';
import type { Acquired, AcquireRequest, GroupCache } from '../engine/cache.js';
import { statusSet } from '../engine/cache.js';
import { checkExpiryMiddleware, defaultCache, noteRoute } from '../engine/default-cache.js';
import type { CachedEntry } from '../stores/contract.js';
import { type BypassDetail, type StatusHeader, StatusHeaders } from './cache-status.js';
import {
  type CacheControlInfo,
  type CacheControlOption,
  cacheControlOption,
  type SentCacheControl,
  sentCacheControl,
} from './client-freshness.js';
import { type Replay, replayEntry } from './replay.js';
import type { RequestInfo } from './request-info.js';
import { ResponseCapture } from './response-capture.js';
import type { StoragePolicy } from './storage-policy.js';
import { requestRefusal } from './storage-policy.js';
import { COOKIE_PREFIX, codingVariant, entrySuits, varyKeySuffix } from './vary.js';

export type { CacheControlInfo, CacheControlOption, RequestInfo, StatusHeader };

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

/** The key of a key function that gave groups only: method and URL, query parameters sorted. HEAD reads GET's. */
export function defaultKey(method: string, url: string): string {
  const query = url.indexOf('?');
  const verb = method === 'HEAD' ? 'GET' : method;
  if (query === -1) return `${verb} ${url}`;
  const params = new URLSearchParams(url.slice(query + 1));
  params.sort();
  const sorted = params.toString();
  return `${verb} ${url.slice(0, query)}${sorted === '' ? '' : `?${sorted}`}`;
}

/**
 * What an adapter does with a request. `headers` are the status headers to set before the handler runs (X-Cache,
 * and Cache-Status when on); `header` is X-Cache alone, as before `headers` existed.
 */
export type Outcome =
  /** Write `replay` and do not run the handler. */
  | { type: 'hit'; replay: Replay }
  /**
   * Run the handler; feed its response to `capture`, and set `capture.headers()` once the head was judged (the
   * bypass status headers when it cannot be stored; `bypass` is X-Cache's alone).
   */
  | {
      type: 'miss';
      capture: ResponseCapture;
      headers: readonly StatusHeader[];
      header: StatusHeader | undefined;
      bypass: StatusHeader | undefined;
    }
  /** Run the handler; store nothing. */
  | { type: 'pass'; headers: readonly StatusHeader[]; header: StatusHeader | undefined };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function flag(options: Record<string, unknown>, name: string): boolean {
  const value = options[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  return value;
}

/**
 * One cached route, framework-free: runs the storage policy and the key function, looks the key up, and tells
 * the adapter to replay a hit, capture a miss or pass the request through. Adapters only translate.
 */
export class CachedRoute<Req> {
  readonly cache: GroupCache;
  readonly #keyFn: KeyFunction<Req>;
  readonly #policy: StoragePolicy;
  readonly #ttl: number;
  // `ttl: 'headers'`: the response's freshness headers set the TTL, #ttl when they say nothing.
  readonly #ttlFromHeaders: boolean;
  readonly #cacheControl: CacheControlOption | undefined;
  // A fixed `cacheControl`, parsed once.
  readonly #fixedControl: SentCacheControl | undefined;
  readonly #refresh: ((req: Req) => boolean) | undefined;
  readonly #vary: readonly string[];
  readonly #stale: { whileRevalidate: number; ifError: number; afterExpire: boolean; handlerTimeout: number | undefined };
  readonly #status: StatusHeaders;
  readonly #miss: StatusHeader | undefined;
  readonly #bypass: StatusHeader | undefined;
  readonly #cdnTags: CdnTagHeader | undefined;
  #cdnWarned = false;
  #expiryChecked = false;

  constructor(keyFn: KeyFunction<Req>, options: RouteOptions<GroupCache, Req> = {}) {
    if (typeof keyFn !== 'function') throw new TypeError('argument keyFn must be a function');
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    checkOptionNames(options, ROUTE_OPTION_NAMES, 'groupCache()');
    const raw = options as Record<string, unknown>;
    const cache = options.cache ?? defaultCache();
    if (typeof cache !== 'object' || typeof cache.lookup !== 'function') {
      throw new TypeError('option cache must be a cache made by createCache()');
    }
    this.cache = cache;
    noteRoute(cache);
    this.#keyFn = keyFn;
    this.#ttlFromHeaders = raw.ttl === 'headers';
    this.#ttl = this.#ttlFromHeaders ? cache.ttl : ttlOption(raw, 'ttl', cache.ttl);
    this.#cacheControl = cacheControlOption(raw.cacheControl);
    this.#fixedControl = typeof this.#cacheControl === 'string' ? sentCacheControl(this.#cacheControl) : undefined;
    if (raw.refresh !== undefined && typeof raw.refresh !== 'function') {
      throw new TypeError('option refresh must be a function of the request returning a boolean');
    }
    this.#refresh = options.refresh;
    this.#policy = {
      statuses: options.statuses === undefined ? cache.statuses : statusSet(options.statuses, 'statuses'),
      allowAuthorization: flag(raw, 'allowAuthorization'),
      allowSetCookie: flag(raw, 'allowSetCookie'),
      allowPrivate: flag(raw, 'allowPrivate'),
      maxEntryBytes: positiveOption(raw, 'maxEntryBytes', cache.maxEntryBytes),
    };
    const vary = options.vary ?? [];
    if (!Array.isArray(vary) || vary.some((name) => typeof name !== 'string' || name === '')) {
      throw new TypeError('option vary must be an array of request header names');
    }
    // Header names are case-insensitive; a cookie's name (`cookie:sid`) is not.
    this.#vary = vary.map((name: string) =>
      name.toLowerCase().startsWith(COOKIE_PREFIX) ? COOKIE_PREFIX + name.slice(COOKIE_PREFIX.length) : name.toLowerCase(),
    );
    this.#stale = {
      whileRevalidate: raw.staleWhileRevalidate === undefined ? 0 : ttlOption(raw, 'staleWhileRevalidate', 0),
      ifError: raw.staleIfError === undefined ? 0 : ttlOption(raw, 'staleIfError', 0),
      afterExpire: flag(raw, 'staleIfErrorAfterExpire'),
      handlerTimeout: raw.handlerTimeout === undefined ? undefined : ttlOption(raw, 'handlerTimeout', 0),
    };
    const header = cache.header;
    this.#status = new StatusHeaders(header, raw.cacheStatus === undefined ? cache.cacheStatus : flag(raw, 'cacheStatus'));
    this.#miss = header === undefined ? undefined : [header, 'MISS'];
    this.#bypass = header === undefined ? undefined : [header, 'BYPASS'];
    const cdnTags = cdnTagsOption(raw.cdnTags, 'cdnTags');
    this.#cdnTags = cdnTags === undefined ? cache.cdnTags : cdnTags || undefined;
  }

  // Tags past the CDN header's limit are lost to purges by them: said once per route, where an operator looks.
  #cdnDropped(where: string): (dropped: number, kept: number) => void {
    return (dropped, kept) => {
      if (this.#cdnWarned) return;
      this.#cdnWarned = true;
      process.emitWarning(
        `${this.#cdnTags} header of ${where} over its 16 KiB limit: ${dropped} group tag(s) dropped, ${kept} sent; ` +
          'a CDN purge of the dropped groups will not reach these responses (said once per route)',
        'GroupCacheWarning',
      );
    };
  }

  /** Decides what to do with a request. Never rejects: every failure becomes a pass, reported as an event. */
  begin(req: Req, info: RequestInfo): Outcome | Promise<Outcome> {
    const refusal = requestRefusal(info.method, info.headers, this.#policy);
    if (refusal !== undefined) return this.#pass(refusal.reason, refusal.detail, info);
    const refresh = this.#refresh !== undefined && info.method === 'GET' && this.#refreshes(req, info);
    let result: KeyResult | Promise<KeyResult>;
    try {
      result = this.#keyFn(req);
    } catch (error) {
      return this.#keyError(`threw: ${messageOf(error)}`, info, error);
    }
    if (isPromiseLike(result)) {
      return result.then(
        (value) => this.#withKey(value, info, refresh),
        (error: unknown) => this.#keyError(`rejected: ${messageOf(error)}`, info, error),
      );
    }
    return this.#withKey(result, info, refresh);
  }

  // The route's refresh predicate: only `true` refreshes; one that throws is reported and counts as false.
  #refreshes(req: Req, info: RequestInfo): boolean {
    try {
      return (this.#refresh as (req: Req) => boolean)(req) === true;
    } catch (error) {
      const failure = new GroupCacheError('EKEYFUNCTION', `refresh predicate of ${info.where} threw: ${messageOf(error)}`, {
        cause: error,
        details: { where: info.where },
      });
      this.cache.report(failure);
      return false;
    }
  }

  /*
   * The `Cache-Control` this response gets instead of the handler's, or undefined to keep the handler's. The
   * cache's TTL is never advertised by itself: it is the server's, and a client or CDN holding the response that
   * long would miss every group expiry meanwhile (RFC 9111 §5.2.2.10: only the origin's s-maxage binds a CDN).
   */
  #control(info: CacheControlInfo, where: string): SentCacheControl | undefined {
    const option = this.#cacheControl;
    if (option === undefined || typeof option === 'string') return this.#fixedControl;
    let value: unknown;
    try {
      value = option(info);
    } catch (error) {
      this.#controlError(`threw: ${messageOf(error)}`, where, error);
      return undefined;
    }
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '' || /[\r\n]/.test(value)) {
      this.#controlError(`returned ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`, where, undefined);
      return undefined;
    }
    return sentCacheControl(value);
  }

  #controlError(what: string, where: string, cause: unknown): void {
    const message = `cacheControl of ${where} ${what}; the handler's Cache-Control is sent`;
    this.cache.report(new GroupCacheError('ERESPONSE', message, { cause, details: { where } }));
  }

  #pass(reason: string, detail: BypassDetail, info: RequestInfo): Outcome {
    this.cache.recordBypass(reason, info.where);
    return { type: 'pass', headers: this.#status.bypass(detail), header: this.#bypass };
  }

  /** Reports what was wrong with the key function (`threw: …`, `returned …: …`) and bypasses the cache. */
  #keyError(what: string, info: RequestInfo, cause: unknown, details: Record<string, unknown> = {}): Outcome {
    const failure = new GroupCacheError('EKEYFUNCTION', `key function of ${info.where} ${what}`, {
      cause,
      details: { ...details, where: info.where },
    });
    this.cache.report(failure);
    return this.#pass('key function error', 'key-function', info);
  }

  #withKey(result: KeyResult, info: RequestInfo, refresh: boolean): Outcome | Promise<Outcome> {
    let spec: ReturnType<typeof normalizeKeyResult>;
    try {
      spec = normalizeKeyResult(result, this.cache.maxGroups, () => defaultKey(info.method, info.url));
    } catch (error) {
      // normalizeKeyResult only throws GroupCacheError, saying what was returned and what is wrong with it.
      const invalid = error as GroupCacheError;
      return this.#keyError(invalid.message, info, undefined, { ...invalid.details });
    }
    if (spec === undefined) return this.#pass('no key', 'no-key', info);
    const cache = this.cache;
    const key = this.#vary.length === 0 ? spec.key : spec.key + varyKeySuffix(this.#vary, info.headers);
    const id = keyId(key, cache.maxKeyLength);
    const request: AcquireRequest = {
      key: spec.key,
      id,
      groups: spec.groups,
      keyTag: id,
      source: info,
      canFill: info.method === 'GET',
      enteredAt: info.enteredAt,
      // A refresh takes no stored entry, fresh or not: the lookup starts a fill, whose entry replaces the old one.
      accepts: refresh ? () => false : (entry: CachedEntry) => entrySuits(entry, info.headers),
      // An entry compressed inside the cache for another coding class keeps its place; this request's class gets its own.
      variant: (entry: CachedEntry) => {
        const suffix = codingVariant(entry, info.headers);
        return suffix === undefined ? undefined : keyId(key + suffix, cache.maxKeyLength);
      },
      staleWhileRevalidate: this.#stale.whileRevalidate,
      staleIfError: this.#stale.ifError,
      staleIfErrorAfterExpire: this.#stale.afterExpire,
    };
    const ttl = spec.ttl ?? this.#ttl;
    // The key function's ttl wins over the response's headers, as it wins over the route's ttl.
    const fromHeaders = this.#ttlFromHeaders && spec.ttl === undefined;
    const acquired = cache.lookup(request);
    if (isPromiseLike(acquired)) return acquired.then((value) => this.#outcome(value, info, ttl, fromHeaders, spec.groups));
    return this.#outcome(acquired, info, ttl, fromHeaders, spec.groups);
  }

  #outcome(acquired: Acquired, info: RequestInfo, ttl: number, fromHeaders: boolean, groups: readonly string[]): Outcome {
    const cache = this.cache;
    switch (acquired.type) {
      case 'hit': {
        const now = acquired.now;
        const entry = acquired.entry;
        const control = this.#cacheControl === undefined ? undefined : this.#replayControl(entry, now, groups, info.where);
        return {
          type: 'hit',
          replay: replayEntry(entry, info.method, info.headers, now, this.#status.hit(entry, now), control),
        };
      }
      case 'stale':
        return { type: 'hit', replay: this.#staleReplay(acquired.entry, info, groups) };
      case 'fill': {
        if (!this.#expiryChecked) {
          this.#expiryChecked = true;
          checkExpiryMiddleware(cache, info.where);
        }
        const fallback = acquired.fallback;
        const capture = new ResponseCapture(acquired.fill, {
          policy: this.#policy,
          requestHeaders: info.headers,
          ttl,
          ttlFromHeaders: fromHeaders,
          cacheControl:
            this.#cacheControl === undefined
              ? undefined
              : (ttlLeft: number) => this.#control({ hit: false, age: 0, ttlLeft, groups }, info.where),
          staleFor: Math.max(this.#stale.whileRevalidate, this.#stale.ifError),
          now: cache.now,
          ownHeader: cache.header,
          fallback: fallback === undefined ? undefined : () => this.#staleReplay(fallback, info, groups),
          handlerTimeout: this.#stale.handlerTimeout,
          groups,
          status: this.#status,
          cdnTags: this.#cdnTags,
          onCdnDrop: this.#cdnDropped(info.where),
          maxKeyLength: cache.maxKeyLength,
          maxGroups: cache.maxGroups,
          report: (error) => cache.report(error),
        });
        return { type: 'miss', capture, headers: this.#status.miss, header: this.#miss, bypass: this.#bypass };
      }
      default:
        // A HEAD miss runs the handler and stores nothing (a HEAD is never stored as the GET): still a miss.
        if (acquired.reason === 'HEAD miss') return { type: 'pass', headers: this.#status.miss, header: this.#miss };
        return { type: 'pass', headers: this.#status.bypass('store-unavailable'), header: this.#bypass };
    }
  }

  #replayControl(entry: CachedEntry, now: number, groups: readonly string[], where: string): SentCacheControl | undefined {
    const age = Math.max(0, Math.floor((now - entry.storedAt) / 1000));
    return this.#control({ hit: true, age, ttlLeft: Math.max(0, entry.freshUntil - now), groups }, where);
  }

  #staleReplay(entry: CachedEntry, info: RequestInfo, groups: readonly string[]): Replay {
    const now = this.cache.now();
    const control = this.#cacheControl === undefined ? undefined : this.#replayControl(entry, now, groups, info.where);
    return replayEntry(entry, info.method, info.headers, now, this.#status.stale(entry, now), control);
  }
}
