import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { GroupNames } from '../core/expiry-groups.js';
import type { CdnTagHeader } from '../core/keys.js';
import { StoreClock } from '../core/store-clock.js';
import type { CacheStore } from '../stores/contract.js';
import { type CacheSettings, cacheSettings } from './cache-options.js';
import { type DataKeyResult, type DataOptions, getOrSet as getOrSetData, wrap as wrapData } from './data-cache.js';
import { EdgePurge } from './edge-purge.js';
import type {
  CacheOptions,
  CacheStats,
  ExpireCallOptions,
  GroupCacheEvents,
  InspectedEntry,
  InspectOptions,
} from './engine-types.js';
import { Expiry } from './expiry.js';
import { expiryTrigger } from './expiry-trigger.js';
import type { Acquired, AcquireRequest } from './fill.js';
import { FillLock, lockingStore } from './fill-lock.js';
import { inspectKey } from './inspect.js';
import { type CacheTelemetry, traced, tracedLookup, tracedStore } from './instrumentation.js';
import { Lookups } from './lookup.js';
import type { EdgeSettings } from './purger.js';
import { Telemetry } from './telemetry.js';
import { callStore } from './timeout.js';
import type { Serializer } from './value-codec.js';

/**
 * The framework-free cache engine, a facade over its parts: lookups with one fill per key (lookup.ts), group and
 * key expiry with its retry queue (expiry.ts), inspection (inspect.ts), and the counters, events and logs of every
 * decision (telemetry.ts).
 */
export class GroupCache extends EventEmitter<GroupCacheEvents> {
  readonly store: CacheStore;
  readonly ttl: number;
  readonly maxEntryBytes: number;
  readonly statuses: ReadonlySet<number>;
  readonly storeTimeout: number;
  readonly waitTimeout: number;
  /** The status header's name (as configured), or undefined when turned off. */
  readonly header: string | undefined;
  readonly maxKeyLength: number;
  readonly maxGroups: number;
  readonly now: () => number;
  /** Whether routes send `Cache-Status` unless they say otherwise. */
  readonly cacheStatus: boolean;
  /** The CDN tag header routes send unless they say otherwise, or undefined. */
  readonly cdnTags: CdnTagHeader | undefined;
  /** The shared cache in front of the app that expiry purges (`edge` option), or undefined. */
  readonly edge: EdgeSettings | undefined;
  /** True when this app expires this cache from code only: no `expireGroups()` middleware is expected. */
  readonly expireFromCodeOnly: boolean;
  /** How `getOrSet` and `wrap` store values unless a call says otherwise. */
  readonly serializer: Serializer;
  readonly #telemetry: Telemetry;
  readonly #storeClock = new StoreClock();
  readonly #lookups: Lookups;
  readonly #expiry: Expiry;
  readonly #edgePurge: EdgePurge | undefined;
  readonly #hooks: CacheTelemetry | undefined;

  constructor(options: CacheOptions = {}) {
    super();
    const settings = cacheSettings(options);
    this.#hooks = settings.telemetry;
    this.store = settings.telemetry === undefined ? settings.store : tracedStore(settings.store, settings.telemetry);
    this.now = settings.now;
    this.ttl = settings.ttl;
    this.maxEntryBytes = settings.maxEntryBytes;
    this.statuses = settings.statuses;
    this.storeTimeout = settings.storeTimeout;
    this.waitTimeout = settings.waitTimeout;
    this.header = settings.header;
    this.maxKeyLength = settings.maxKeyLength;
    this.maxGroups = settings.maxGroups;
    this.cacheStatus = settings.cacheStatus;
    this.cdnTags = settings.cdnTags;
    this.edge = settings.edge;
    this.expireFromCodeOnly = settings.expireFromCodeOnly;
    this.serializer = settings.serializer;
    const telemetry = new Telemetry(this, settings.telemetry);
    this.#telemetry = telemetry;
    // Tags whose expiry waits for a retry: the expiry queue fills it, lookups serve no entry that carries one.
    const pending = new Set<string>();
    this.#lookups = new Lookups({
      ...this.#common(),
      waitTimeout: this.waitTimeout,
      now: this.now,
      fillLock: this.#fillLock(settings, telemetry),
      processClock: this.store.processClock === true,
      storeClock: this.#storeClock,
      telemetry,
      pending,
    });
    this.#edgePurge = edgePurgeOf(settings, telemetry);
    this.#expiry = new Expiry({
      ...this.#common(),
      maxPending: settings.maxPending,
      retryInterval: settings.retryInterval,
      onExpire: settings.onExpire,
      edge: this.#edgePurge,
      telemetry,
      storeClock: this.#storeClock,
      pending,
      doomFills: (tags) => this.#lookups.doomFills(tags),
    });
    this.store.onEvict?.((id, reason) => telemetry.evicted(id, reason));
  }

  // Set when the store can lock fills across instances and `fillLock` is not false.
  #fillLock(settings: CacheSettings, telemetry: Telemetry): FillLock | undefined {
    const locking = settings.fillLock ? lockingStore(this.store) : undefined;
    if (locking === undefined) return undefined;
    return new FillLock(locking, {
      lockTime: settings.fillLockTime,
      waitTimeout: this.waitTimeout,
      storeTimeout: this.storeTimeout,
      report: (error) => telemetry.report(error),
    });
  }

  #common(): { store: CacheStore; storeTimeout: number; maxKeyLength: number } {
    return { store: this.store, storeTimeout: this.storeTimeout, maxKeyLength: this.maxKeyLength };
  }

  /**
   * Expires every response tagged with any of `groups`, at once, whatever their number: one write per group.
   * Takes a group name, a number (an id: `42` names the group `'42'`) or a list of them. Resolves once the store
   * has recorded it. If the store cannot be reached, the expiry is queued and retried until it lands, this process
   * serves no entry of those groups meanwhile, and the promise rejects with a `GroupCacheError` (`EEXPIRE`) so a
   * caller can choose to fail its own response. A value that is not a group name (an object, `''`, `NaN`) never
   * costs the valid ones their expiry: they are applied, and the promise then rejects with `EINVALIDGROUP`. With
   * an `edge`, it resolves once every edge was purged too, and rejects with `EPURGE` when one could not be (its
   * purge is retried meanwhile). `options.trigger` names the request that caused it, for `expire` listeners,
   * `onExpire` and the inspector (the `expireGroups()` middleware passes the write's).
   */
  async expireGroups(groups: GroupNames, options?: ExpireCallOptions): Promise<void> {
    const trigger = expiryTrigger(options);
    const hooks = this.#hooks;
    if (hooks === undefined || hooks.enabled?.('expire') === false) return this.#expiry.expireGroups(groups, trigger);
    const names = typeof groups === 'object' && groups !== null ? [...groups].map(String) : [String(groups)];
    return traced(hooks.start('expire', { groups: names }), () => this.#expiry.expireGroups(groups, trigger)) as Promise<void>;
  }

  /** Expires one key: its entry, and any fill of it already running, are never served. `options` as above. */
  async expireKey(key: string, options?: ExpireCallOptions): Promise<void> {
    const trigger = expiryTrigger(options);
    const hooks = this.#hooks;
    if (hooks === undefined || hooks.enabled?.('expire') === false) return this.#expiry.expireKey(key, trigger);
    return traced(hooks.start('expire', { keys: [String(key)] }), () => this.#expiry.expireKey(key, trigger)) as Promise<void>;
  }

  /** Removes every entry and group record of this cache's store. */
  clear(): Promise<void> {
    const hooks = this.#hooks;
    if (hooks === undefined || hooks.enabled?.('purge') === false) return this.#clear();
    return traced(hooks.start('purge', {}), () => this.#clear()) as Promise<void>;
  }

  async #clear(): Promise<void> {
    this.#lookups.forgetFills();
    const stamp = await callStore('store.clear', this.storeTimeout, () => this.store.clear());
    if (typeof stamp === 'number') this.#storeClock.sample(stamp, performance.now());
  }

  /** Stops retry timers and closes the store. Expiries still pending are reported as dropped. */
  async close(): Promise<void> {
    this.#expiry.close();
    this.#edgePurge?.close();
    await this.store.close?.();
  }

  stats(): CacheStats {
    const store = this.store.stats?.();
    const telemetry = this.#telemetry;
    return {
      ...telemetry.counts,
      evictions: store?.evictions ?? telemetry.evictions,
      entries: store?.entries ?? 0,
      bytes: store?.bytes ?? 0,
      pendingExpiries: this.#expiry.pending.size,
      pendingPurges: this.#edgePurge?.pending ?? 0,
      bypassReasons: { ...telemetry.bypassReasons },
      notStoredReasons: { ...telemetry.notStoredReasons },
    };
  }

  /**
   * What is stored for `key` (a route's key; a data key with `{ data: true }`), without serving it or changing
   * its recency: status, headers, size, groups, age and state (fresh, stale, or invalidated and by what). The body
   * only with `{ body: true }`. Undefined when nothing is held. A route with a `vary` option stores each variant
   * under its own id: inspect sees the one without a variant suffix.
   */
  inspect(key: string, options: InspectOptions = {}): Promise<InspectedEntry | undefined> {
    return inspectKey({ ...this.#common(), now: this.now, pending: this.#expiry.pending }, key, options);
  }

  /**
   * Reports a run-time failure: an `error` event, or the `debug` log when nobody listens. For adapters and the
   * route flow (the engine's interface with the HTTP layer: {@link lookup}, `report`, {@link recordBypass}).
   */
  report(error: unknown): void {
    this.#telemetry.report(error);
  }

  /** Counts a request served past the cache, and emits `bypass` with the reason. For the route flow. */
  recordBypass(reason: string, where: string, key?: string): void {
    this.#telemetry.bypass(reason, where, key);
  }

  /**
   * Looks a request up: a hit, a stale copy, a fill for the caller to run, or a pass (uncached). Concurrent
   * misses on one key wait for the first one's fill and share its entry if the store accepted it. The engine's
   * one entry point for the HTTP layer (`cached-route.ts`): a synchronous answer when the store answers so.
   */
  lookup(request: AcquireRequest): Acquired | Promise<Acquired> {
    const hooks = this.#hooks;
    if (hooks === undefined || hooks.enabled?.('lookup') === false) return this.#lookups.lookup(request);
    return tracedLookup(hooks, request, () => this.#lookups.lookup(request));
  }

  /**
   * The value of `key`: from the cache, or from `loader` (run once per key however many call at once; the others
   * get its value). A miss and a hit answer the same value: what the serializer (`serializer` option: `'json'` by
   * default, `'v8'`, or your own) decodes from the bytes stored. Values share the store, groups and key expiry of
   * responses: `expireGroups('user_group_1')` invalidates this value and the responses of that group at once;
   * `expireKey(key)` invalidates it too. Never a response's slot: data keys have their own name space. Options:
   * `groups` (default none), `ttl` (default the cache's), `staleWhileRevalidate` (default 0: a stale value is
   * returned at once while one loader refreshes it in the background; a failed refresh is an `error` event) and
   * `serializer` (default the cache's).
   *
   * A miss resolves once the store took or refused the value. A loader that started before an expiry of its groups
   * or key never has its value served as fresh afterwards: its caller gets it, the store refuses it, and callers
   * that waited for it run their own loader (as they do after a loader error, which rejects this call).
   * `undefined` is returned and not cached (a "not found" to ask again); a value the serializer cannot give back
   * as it was (under JSON: `NaN`, `Infinity`, a `Date`, a `Map`, a class instance, a function, a cycle...) is
   * returned as the loader gave it, not cached, and reported as an `error` event (`EVALUE`). A store failure never
   * fails the call: the loader's value is returned, the error reported.
   */
  getOrSet<T>(key: string, loader: () => T | Promise<T>, options?: DataOptions): Promise<T> {
    return getOrSetData(this, key, loader, options);
  }

  /**
   * `fn` with its results cached by {@link getOrSet}: the returned function takes `fn`'s arguments (and `this`),
   * and resolves with its result, cached under `keyFn(...args)`: a key string or `{ key, groups?, ttl? }` (may be
   * async), or a falsy value to call `fn` uncached. `options` are {@link getOrSet}'s, fixed or computed from the
   * arguments; a key function's `groups` add to theirs and its `ttl` overrides theirs. A key or options function
   * that throws or returns junk is reported (`EKEYFUNCTION`) and `fn` runs uncached.
   */
  wrap<Args extends unknown[], R>(
    fn: (...args: Args) => R,
    keyFn: (...args: Args) => DataKeyResult | Promise<DataKeyResult>,
    options?: DataOptions | ((...args: Args) => DataOptions),
  ): (...args: Args) => Promise<Awaited<R>> {
    return wrapData(this, fn, keyFn, options);
  }
}

/** Creates a cache. With no options: a memory store of 64 MiB and a 60 s TTL. */
export function createCache(options?: CacheOptions): GroupCache {
  return new GroupCache(options);
}

// Set when the cache has an `edge`: every group expiry purges it as part of expiring.
function edgePurgeOf(settings: CacheSettings, telemetry: Telemetry): EdgePurge | undefined {
  const { edge, maxPending, retryInterval } = settings;
  return edge === undefined ? undefined : new EdgePurge({ edge, telemetry, maxPending, retryInterval });
}
