/*
 * The engine's shapes: its options, stats and events. Types only (and the option name list, derived from the
 * options type); what a lookup asks and answers lives with the fill (fill.ts).
 */
import type { GroupCacheError } from '../core/errors.js';
import type { CdnTagHeader } from '../core/keys.js';
import type { CacheStore, EvictionReason, HeaderList } from '../stores/contract.js';
import type { CacheTelemetry } from './instrumentation.js';
import type { EdgeOptions } from './purger.js';
import type { BypassReason, NotStoredReason } from './reasons.js';
import type { SerializerOption } from './value-codec.js';

/** Options of {@link createCache}. Every duration is in milliseconds. */
export interface CacheOptions {
  /** Where entries and group-expiry records live. Default: a new `memoryStore()`. */
  store?: CacheStore;
  /** Default lifetime of an entry. Default 60,000 ms, at most one year. Routes and key functions can override it. */
  ttl?: number;
  /** Largest body stored; larger responses are passed through uncached. Default 1 MiB. */
  maxEntryBytes?: number;
  /** Statuses that may be stored. Default `[200]`. */
  statuses?: readonly number[];
  /** Longest wait for one store call before the request is served uncached. Default 500 ms. */
  storeTimeout?: number;
  /**
   * Longest wait of a concurrent miss for the fill already running on its key, in this process or (with
   * `fillLock`) in another instance. Default 10,000 ms.
   */
  waitTimeout?: number;
  /**
   * One fill per key across processes, with a store that can lock fills (the Redis store): a cold miss first takes
   * the key's lock in the store; the holder runs the handler, the other instances poll the store for its entry (10
   * ms, doubling to 100 ms) and answer it as a hit, or run their own handler once `waitTimeout` passed or the holder
   * finished without storing. Store failures here fail open (the handler runs; an `error` event). `false` turns it
   * off: each process then fills once per key. Ignored with a store that cannot lock. Default true.
   */
  fillLock?: boolean;
  /**
   * How long a fill lock holds unless its holder releases it, in ms: the longest a crashed holder keeps its key from
   * being filled. A handler that runs longer loses its exclusivity (another instance may fill too). Default:
   * `waitTimeout`.
   */
  fillLockTime?: number;
  /** Name of the response header that says HIT, MISS, STALE or BYPASS; `false` turns it off. Default `'X-Cache'`. */
  header?: string | false;
  /** Keys and group names longer than this are stored by their SHA-256 digest. Default 256. */
  maxKeyLength?: number;
  /** Most groups one entry may carry. Default 64. */
  maxGroups?: number;
  /** Most tags whose failed expiry waits for a retry; past it the oldest is dropped and reported. Default 10,000. */
  maxPendingExpiries?: number;
  /** First delay before a failed expiry is retried; it doubles up to 30 s. Default 1,000 ms. */
  retryInterval?: number;
  /**
   * Clock for TTLs and `Age`, in epoch ms. Default: with a memory store, the process's monotonic clock (a step of the
   * wall clock neither lengthens nor shortens a lifetime); with a shared store, `Date.now`. A default memory store
   * gets the same clock.
   */
  now?: () => number;
  /** Send RFC 9211 `Cache-Status` beside the status header (`group-cache; hit; ttl=42`...). Default false. */
  cacheStatus?: boolean;
  /**
   * Send each entry's groups to a CDN in this header, on misses and hits: `'Surrogate-Key'` (Fastly, space-separated)
   * or `'Cache-Tag'` (Cloudflare, comma-separated). Long names and names with separators go by their digest; past
   * 16 KiB the rest are dropped with a process warning. Routes may override it. Default false (none).
   */
  cdnTags?: CdnTagHeader | false;
  /**
   * Called after every expiry the store recorded (`expireGroups`, `expireKey`, a write's groups, a retried expiry),
   * with the group names, the keys, and `cdnTags`: the groups as the CDN header spelled them, to purge a CDN with.
   * Its errors (thrown or rejected) are reported as `error` events, never thrown. Default none.
   */
  onExpire?: (expiry: ExpiryNotice) => void | Promise<void>;
  /**
   * A shared cache in front of the app (Varnish, a CDN) that expiry reaches: every group expiry purges its tags at
   * each of `purgers` as part of expiring (a write's response waits for it; a failed purge fails the expiry, so
   * under `onError: 'fail'` the write is answered 503), and cached routes tell the edge how long it may keep a
   * response (`Surrogate-Control`). Pair it with `cdnTags`. See docs/edge.md. Default none.
   */
  edge?: EdgeOptions;
  /**
   * How `getOrSet` and `wrap` store values (each call may override it): `'json'`; `'v8'`, Node's structured clone,
   * which also keeps `Date`, `Map`, `Set`, `BigInt`, typed arrays and `NaN`; or a `Serializer` of your own. A value
   * its serializer cannot give back as it was is returned, not stored, and reported (`EVALUE`). Default `'json'`.
   */
  serializer?: SerializerOption;
  /**
   * This app expires this cache's groups from code only (`cache.expireGroups()`), or lets entries run out by TTL,
   * and never names groups in `res.locals.expireGroups` / `ctx.state.expireGroups` / `reply.expireGroups`. Without
   * it, the first miss of a route reports `EMISUSE` (a process warning and an `error` event, once per process) when
   * the process never made an `expireGroups()` middleware, since a write's groups would then never be expired.
   * Default false.
   */
  expireFromCodeOnly?: boolean;
  /**
   * A telemetry integration told of every lookup, fill, expiry, purge and store call, and of every decision:
   * `openTelemetry()` from `group-cache/opentelemetry` records them as OpenTelemetry spans and metrics. Default none
   * (nothing is recorded, and a hit pays nothing for it).
   */
  telemetry?: CacheTelemetry;
}

/** What `onExpire` gets: an expiry the store recorded. */
export interface ExpiryNotice extends ExpireEvent {
  /** The groups as `Surrogate-Key` / `Cache-Tag` send them (digests for long or odd names), for a CDN purge. */
  cdnTags: string[];
}

/** Every option name of {@link CacheOptions}, for the unknown-option check. */
export const CACHE_OPTION_NAMES = Object.keys({
  store: true,
  ttl: true,
  maxEntryBytes: true,
  statuses: true,
  storeTimeout: true,
  waitTimeout: true,
  fillLock: true,
  fillLockTime: true,
  header: true,
  maxKeyLength: true,
  maxGroups: true,
  maxPendingExpiries: true,
  retryInterval: true,
  now: true,
  cacheStatus: true,
  cdnTags: true,
  onExpire: true,
  edge: true,
  expireFromCodeOnly: true,
  serializer: true,
  telemetry: true,
} satisfies Record<keyof CacheOptions, true>);

/** Counters since the cache was created, plus the store's own numbers where it has them. */
export interface CacheStats {
  hits: number;
  /** Requests that ran the handler to fill the cache (invalidated and stale lookups included). */
  misses: number;
  /** Responses served stale (RFC 9111's sense): past their TTL, inside a route's stale window. */
  stale: number;
  /** Lookups that found an entry invalidated by a group or key expiry. */
  invalidated: number;
  bypasses: number;
  stores: number;
  /** Fills the store refused because a group was expired while they ran, or a newer entry was there. */
  refused: number;
  /** Concurrent misses that waited for the running fill of their key. */
  waits: number;
  /** Group or key tags expired. */
  expires: number;
  errors: number;
  evictions: number;
  entries: number;
  bytes: number;
  /** Tags whose expiry did not reach the store yet and is being retried. */
  pendingExpiries: number;
  /** Tags whose edge purge failed and is being retried, counted once per edge (`edge`). */
  pendingPurges: number;
  /** `bypasses` by reason: a fixed set of short keys, each present (unknown reasons count as `other`). */
  bypassReasons: Record<BypassReason, number>;
  /** Fills not stored, by reason (refused by policy, aborted, refused by the store...): a fixed set of keys. */
  notStoredReasons: Record<NotStoredReason, number>;
}

/** Options of {@link GroupCache.inspect}. */
export interface InspectOptions {
  /** Inspect a data key (`getOrSet`, `wrap`) instead of a route's key. Default false. */
  data?: boolean;
  /** Include the body. Default false: bodies may hold personal data. */
  body?: boolean;
}

/** What {@link GroupCache.inspect} reports of a stored entry. */
export interface InspectedEntry {
  key: string;
  /** The store id (`k:` + key, `d:` + key for a data key, or a digest for a long key). */
  id: string;
  status: number;
  headers: HeaderList;
  /** Bytes the entry takes in a memory store's accounting: body, headers, tags and metadata. */
  size: number;
  bodyBytes: number;
  /** Group names (`G:` + digest for a name stored by its digest). */
  groups: string[];
  /** Milliseconds since the response finished. */
  age: number;
  storedAt: number;
  freshUntil: number;
  staleUntil: number;
  /** `fresh` (a lookup would hit), `stale` (past `freshUntil`) or `invalidated` (by a group or key expiry). */
  state: 'fresh' | 'stale' | 'invalidated';
  /** Why it is not fresh. */
  why?: string;
  /** For `invalidated`: the groups and keys expired after its fill started, where the store can tell. */
  expiredBy?: string[];
  /** Only with `{ body: true }`. */
  body?: Buffer;
}

export interface KeyEvent {
  key: string;
  where: string;
}
/** A fresh entry served: `bytes` is the size of the body sent from the cache. */
export interface HitEvent extends KeyEvent {
  bytes: number;
}
export interface BypassEvent {
  reason: string;
  where: string;
  key?: string;
}
export interface StoreEvent extends KeyEvent {
  bytes: number;
  /** How long the fill took, from its request entering the app (or `getOrSet` being called) to the store taking it. */
  ms: number;
}
/** A fill that ran and was not stored: `reason` is its counted kind, `detail` the words of the log line. */
export interface NotStoredEvent extends KeyEvent {
  reason: NotStoredReason;
  detail: string;
}
export interface EvictEvent {
  /** The store id of the key (`k:` + key, or `K:` + digest for a long key). */
  id: string;
  reason: EvictionReason;
}
export interface ExpireEvent {
  groups: string[];
  keys: string[];
  /** The request that caused it, when a write middleware (or the inspector) did; none from code or a retry. */
  trigger?: ExpiryTrigger;
}

/** The request that caused an expiry, as the `expireGroups()` middleware names it. */
export interface ExpiryTrigger {
  /** The write's method (`POST`). */
  method: string;
  /** The matched route's pattern (`/users/:id`), else the path. */
  route: string;
  /** The write's response status. */
  status: number;
  /** The request's id, when it had one: its `X-Request-Id` header, else the response's (Fastify: else `request.id`). */
  requestId?: string;
}

/** Options of {@link GroupCache.expireGroups} and {@link GroupCache.expireKey}. */
export interface ExpireCallOptions {
  /** What caused this expiry: passed on to `expire` listeners, `onExpire` and the inspector. Strings are cut. */
  trigger?: ExpiryTrigger;
}

/** The events a cache emits. `error` never throws: with no listener it goes to the `debug` log. */
export interface GroupCacheEvents {
  hit: [HitEvent];
  miss: [KeyEvent];
  /** A stale copy was served (`staleWhileRevalidate`, `staleIfError`). */
  stale: [KeyEvent];
  /** A lookup found its entry invalidated by a group or key expiry. */
  invalidated: [KeyEvent];
  bypass: [BypassEvent];
  store: [StoreEvent];
  /** A fill ran and was not stored (the reasons `stats().notStoredReasons` counts). */
  notStored: [NotStoredEvent];
  evict: [EvictEvent];
  expire: [ExpireEvent];
  error: [GroupCacheError];
}
