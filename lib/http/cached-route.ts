import { GroupCacheError } from '../core/errors.js';
import { type KeyFunction, type KeyResult, normalizeKeyResult } from '../core/key-function.js';
import { type CdnTagHeader, keyId } from '../core/keys.js';
import { isPromiseLike } from '../core/promise.js';
import type { GroupCache } from '../engine/cache.js';
import { checkExpiryMiddleware } from '../engine/default-cache.js';
import type { Acquired, AcquireRequest } from '../engine/fill.js';
import type { CachedEntry } from '../stores/contract.js';
import type { BypassDetail, StatusHeader, StatusHeaders } from './cache-status.js';
import { type CacheControlInfo, type CacheControlOption, type SentCacheControl, sentCacheControl } from './client-freshness.js';
import { EdgeControl } from './edge-control.js';
import { type Replay, replayEntry } from './replay.js';
import type { RequestInfo } from './request-info.js';
import { ResponseCapture, type RouteCapture } from './response-capture.js';
import { type RouteOptions, routeSettings } from './route-options.js';
import type { StoragePolicy } from './storage-policy.js';
import { requestRefusal } from './storage-policy.js';
import { SeenVary, varyKeySuffix } from './vary.js';

export type { CacheControlInfo, CacheControlOption, RequestInfo, RouteOptions, StatusHeader };

// What a lookup answers once the request's selection was complete, and a lookup's fill.
type Answered = Exclude<Acquired, { type: 'vary' }>;
type Filling = Extract<Acquired, { type: 'fill' }>;

// A lookup as the route asked it: what answering it needs, and what asking again needs.
interface Asked {
  request: AcquireRequest;
  /** The key with the route's `vary` values: variants' ids derive from it. */
  key: string;
  info: RequestInfo;
  ttl: number;
  fromHeaders: boolean;
  refresh: boolean;
}

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
 * and Cache-Status when on).
 */
export type Outcome =
  /** Write `replay` and do not run the handler. */
  | { type: 'hit'; replay: Replay }
  /**
   * Run the handler; feed its response to `capture`, and set `capture.headers()` once the head was judged (the
   * status headers of a refused miss when it cannot be stored).
   */
  | { type: 'miss'; capture: ResponseCapture; headers: readonly StatusHeader[] }
  /** Run the handler; store nothing. */
  | { type: 'pass'; headers: readonly StatusHeader[] };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
  readonly #seenVary = new SeenVary();
  readonly #stale: { whileRevalidate: number; ifError: number; afterExpire: boolean; handlerTimeout: number | undefined };
  readonly #status: StatusHeaders;
  readonly #cdnTags: CdnTagHeader | undefined;
  readonly #edge: EdgeControl;
  // What every miss's capture of this route shares, built once here rather than per miss.
  readonly #capture: RouteCapture;
  #cdnWarned = false;
  #expiryChecked = false;

  constructor(keyFn: KeyFunction<Req>, options?: RouteOptions<GroupCache, Req>) {
    const settings = routeSettings(keyFn, options);
    this.cache = settings.cache;
    this.#keyFn = settings.keyFn;
    this.#policy = settings.policy;
    this.#ttl = settings.ttl;
    this.#ttlFromHeaders = settings.ttlFromHeaders;
    this.#cacheControl = settings.cacheControl;
    this.#fixedControl = settings.fixedControl;
    this.#refresh = settings.refresh;
    this.#vary = settings.vary;
    this.#stale = settings.stale;
    this.#status = settings.status;
    this.#cdnTags = settings.cdnTags;
    this.#edge = new EdgeControl(settings.cache.edge, settings.cdnTags !== undefined);
    const cache = settings.cache;
    this.#capture = {
      policy: settings.policy,
      staleFor: Math.max(settings.stale.whileRevalidate, settings.stale.ifError),
      now: cache.now,
      ownHeader: cache.header?.toLowerCase(),
      handlerTimeout: settings.stale.handlerTimeout,
      status: settings.status,
      cdnTags: settings.cdnTags,
      onCdnDrop: (dropped, kept, where) => this.#cdnDropped(dropped, kept, where),
      edge: this.#edge,
      maxKeyLength: cache.maxKeyLength,
      maxGroups: cache.maxGroups,
      report: (error) => cache.report(error),
    };
  }

  // Tags past the CDN header's limit are lost to purges by them: said once per route, where an operator looks.
  #cdnDropped(dropped: number, kept: number, where: string): void {
    if (this.#cdnWarned) return;
    this.#cdnWarned = true;
    process.emitWarning(
      `${this.#cdnTags} header of ${where} over its 16 KiB limit: ${dropped} group tag(s) dropped, ${kept} sent; ` +
        'a CDN purge of the dropped groups will not reach these responses (said once per route)',
      'GroupCacheWarning',
    );
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
    return { type: 'pass', headers: this.#withEdge(this.#status.bypass(detail), this.#edge.refused) };
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
      selection: this.#seenVary.selection(info.headers, key, cache.maxKeyLength, refresh, false),
      staleWhileRevalidate: this.#stale.whileRevalidate,
      staleIfError: this.#stale.ifError,
      staleIfErrorAfterExpire: this.#stale.afterExpire,
    };
    const ttl = spec.ttl ?? this.#ttl;
    // The key function's ttl wins over the response's headers, as it wins over the route's ttl.
    const fromHeaders = this.#ttlFromHeaders && spec.ttl === undefined;
    const asked: Asked = { request, key, info, ttl, fromHeaders, refresh };
    const acquired = cache.lookup(request);
    return isPromiseLike(acquired) ? acquired.then((value) => this.#answer(value, asked)) : this.#answer(acquired, asked);
  }

  #answer(acquired: Acquired, asked: Asked): Outcome | Promise<Outcome> {
    const { request, info } = asked;
    if (acquired.type !== 'vary') return this.#outcome(acquired, info, asked.ttl, asked.fromHeaders, request.groups);
    // An entry of names this route had not seen vary: the request works their values out and asks once more.
    this.#seenVary.learn(acquired.names);
    const selection = this.#seenVary.selection(info.headers, asked.key, this.cache.maxKeyLength, asked.refresh, true);
    return Promise.resolve(this.cache.lookup({ ...request, selection })).then((value) => this.#answer(value, asked));
  }

  #outcome(acquired: Answered, info: RequestInfo, ttl: number, fromHeaders: boolean, groups: readonly string[]): Outcome {
    switch (acquired.type) {
      case 'hit':
        return { type: 'hit', replay: this.#hitReplay(acquired.entry, acquired.now, info, groups) };
      case 'stale':
        return { type: 'hit', replay: this.#staleReplay(acquired.entry, info, groups) };
      case 'fill':
        return this.#miss(acquired, info, ttl, fromHeaders, groups);
      default:
        // A HEAD miss runs the handler and stores nothing (a HEAD is never stored as the GET): still a miss.
        if (acquired.reason === 'HEAD miss')
          return { type: 'pass', headers: this.#withEdge(this.#status.miss, this.#edge.refused) };
        return { type: 'pass', headers: this.#withEdge(this.#status.bypass('store-unavailable'), this.#edge.refused) };
    }
  }

  #miss(acquired: Filling, info: RequestInfo, ttl: number, fromHeaders: boolean, groups: readonly string[]): Outcome {
    const cache = this.cache;
    if (!this.#expiryChecked) {
      this.#expiryChecked = true;
      checkExpiryMiddleware(cache, info.where);
    }
    const fallback = acquired.fallback;
    const capture = new ResponseCapture(acquired.fill, {
      route: this.#capture,
      requestHeaders: info.headers,
      ttl,
      ttlFromHeaders: fromHeaders,
      cacheControl:
        this.#cacheControl === undefined
          ? undefined
          : (ttlLeft: number) => this.#control({ hit: false, age: 0, ttlLeft, groups }, info.where),
      fallback: fallback === undefined ? undefined : () => this.#staleReplay(fallback, info, groups),
      groups,
      enteredAt: info.enteredAt,
    });
    return { type: 'miss', capture, headers: this.#status.miss };
  }

  // A fresh hit: judged fresh at `now`, so the edge may keep it too (for no longer than the entry's own TTL).
  #hitReplay(entry: CachedEntry, now: number, info: RequestInfo, groups: readonly string[]): Replay {
    const control = this.#cacheControl === undefined ? undefined : this.#replayControl(entry, now, groups, info.where);
    const status = this.#status.hit(entry, now);
    const headers = this.#edge.active
      ? this.#withEdge(status, this.#edge.grant(info.enteredAt, entry.freshUntil - now, false))
      : status;
    return replayEntry(entry, info.method, info.headers, now, headers, control);
  }

  #replayControl(entry: CachedEntry, now: number, groups: readonly string[], where: string): SentCacheControl | undefined {
    const age = Math.max(0, Math.floor((now - entry.storedAt) / 1000));
    return this.#control({ hit: true, age, ttlLeft: Math.max(0, entry.freshUntil - now), groups }, where);
  }

  #staleReplay(entry: CachedEntry, info: RequestInfo, groups: readonly string[]): Replay {
    const now = this.cache.now();
    const control = this.#cacheControl === undefined ? undefined : this.#replayControl(entry, now, groups, info.where);
    const headers = this.#withEdge(this.#status.stale(entry, now), this.#edge.refused);
    return replayEntry(entry, info.method, info.headers, now, headers, control);
  }

  // The status headers plus the edge's, without a copy when there are none (no `edge`: the hit path allocates nothing).
  #withEdge(status: readonly StatusHeader[], edge: readonly StatusHeader[]): readonly StatusHeader[] {
    return edge.length === 0 ? status : [...status, ...edge];
  }
}
