/*
 * The headers that tell a client what the cache did: `X-Cache` (HIT, MISS, STALE, BYPASS; name configurable) and,
 * with `cacheStatus: true`, the `Cache-Status` field of RFC 9211, an sf-list (RFC 8941 §3.1) with one member:
 * `group-cache` and its parameters. Built here only, so that every adapter sends the same values.
 */
import type { CachedEntry } from '../stores/contract.js';

/** A header the cache sets: `[name, value]`. */
export type StatusHeader = readonly [name: string, value: string];

/**
 * Why the cache did not use a request (`Cache-Status: group-cache; fwd=bypass; detail="…"`: not looked up) or did
 * not store a response it looked up (`fwd=miss; detail="…"`). docs/http-outcomes.md has the table of both.
 */
export type BypassDetail =
  | 'method'
  | 'authorization'
  | 'key-function'
  | 'no-key'
  | 'store-unavailable'
  | 'status'
  | 'set-cookie'
  | 'no-store'
  | 'private'
  | 'vary-star'
  | 'too-large'
  /** A body the cache cannot read as bytes (Koa: a web stream, a Blob, no body at a status that needs one). */
  | 'body'
  /** The handler refused storing (`cacheSkip = true`). */
  | 'cache-skip'
  /** The handler's `cacheGroups` / `cacheTtl` / `cacheSkip` held a value that is not one (reported as an error). */
  | 'invalid-value'
  /** `ttl: 'headers'` and the response gives itself no freshness lifetime (`max-age=0`, `no-cache`, past `Expires`). */
  | 'no-ttl'
  /** The handler threw; the framework's error response, at a status the route may store, is not stored. */
  | 'handler-threw';

export const CACHE_STATUS = 'Cache-Status';
// RFC 9211 §2: the member names the cache; an sf-token.
const SELF = 'group-cache';

// RFC 9211 §2.4: ttl is the remaining freshness lifetime in whole seconds, negative once the response is stale.
function ttlSeconds(entry: CachedEntry, now: number): number {
  return Math.floor((entry.freshUntil - now) / 1000);
}

/**
 * The status headers of one route. `stored` (RFC 9211 §2.5) is never sent: the head goes out before the store has
 * answered (a body may still grow past maxEntryBytes, a group may be expired meanwhile), so a miss says `fwd=miss`
 * only, and the next request's `hit` is the proof that it was stored.
 */
export class StatusHeaders {
  readonly #header: string | undefined;
  readonly #cacheStatus: boolean;
  /** Whether `Cache-Status` is sent (`cacheStatus: true`): a handler's own is then not stored. */
  readonly sendsCacheStatus: boolean;
  readonly #hit: readonly StatusHeader[];
  readonly #stale: readonly StatusHeader[];
  /** A miss that runs the handler (X-Cache MISS; `fwd=miss`). Also a HEAD miss, which is not stored. */
  readonly miss: readonly StatusHeader[];
  readonly #bypass = new Map<BypassDetail, readonly StatusHeader[]>();
  readonly #refused = new Map<BypassDetail, readonly StatusHeader[]>();

  constructor(header: string | undefined, cacheStatus: boolean) {
    this.#header = header;
    this.#cacheStatus = cacheStatus;
    this.sendsCacheStatus = cacheStatus;
    this.#hit = this.#with('HIT', undefined);
    this.#stale = this.#with('STALE', undefined);
    this.miss = this.#with('MISS', `${SELF}; fwd=miss`);
  }

  #with(xCache: string, cacheStatus: string | undefined): readonly StatusHeader[] {
    const list: StatusHeader[] = [];
    if (this.#header !== undefined) list.push([this.#header, xCache]);
    if (this.#cacheStatus && cacheStatus !== undefined) list.push([CACHE_STATUS, cacheStatus]);
    return list;
  }

  /** A fresh entry served from the cache (RFC 9211 §2.1 `hit`, with its `ttl`). */
  hit(entry: CachedEntry, now: number): readonly StatusHeader[] {
    if (!this.#cacheStatus) return this.#hit;
    return this.#with('HIT', `${SELF}; hit; ttl=${ttlSeconds(entry, now)}`);
  }

  /**
   * A stale copy (X-Cache STALE): `fwd=stale` (RFC 9211 §2.2: the entry selected was stale, and a refill went to
   * the handler, this request's or another one's), with the negative `ttl` that says how long ago it went stale.
   */
  stale(entry: CachedEntry, now: number): readonly StatusHeader[] {
    if (!this.#cacheStatus) return this.#stale;
    return this.#with('STALE', `${SELF}; fwd=stale; ttl=${ttlSeconds(entry, now)}`);
  }

  /** A request the cache did not look up (X-Cache BYPASS; `fwd=bypass` with a `detail`, RFC 9211 §2.2, §2.7). */
  bypass(detail: BypassDetail): readonly StatusHeader[] {
    let list = this.#bypass.get(detail);
    if (list === undefined) {
      list = this.#with('BYPASS', `${SELF}; fwd=bypass; detail="${detail}"`);
      this.#bypass.set(detail, list);
    }
    return list;
  }

  /**
   * A response to a request that was looked up and missed, which will not be stored (X-Cache MISS, as for any miss:
   * the word says what the lookup found; `fwd=miss` with a `detail` says why nothing is kept).
   */
  refused(detail: BypassDetail): readonly StatusHeader[] {
    let list = this.#refused.get(detail);
    if (list === undefined) {
      list = this.#with('MISS', `${SELF}; fwd=miss; detail="${detail}"`);
      this.#refused.set(detail, list);
    }
    return list;
  }
}
