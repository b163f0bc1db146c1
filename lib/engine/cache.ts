import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import { GroupCacheError } from '../core/errors.js';
import { collectExpiryGroups, type GroupNames } from '../core/expiry-groups.js';
import {
  type CdnTagHeader,
  cdnTag,
  cdnTagsOption,
  DEFAULT_MAX_KEY_LENGTH,
  dataKeyId,
  entryTags,
  groupTag,
  keyId,
} from '../core/keys.js';
import { monotonicNow } from '../core/monotonic-clock.js';
import { checkOptionNames, MAX_TTL, positiveOption, ttlOption } from '../core/options.js';
import { StoreClock } from '../core/store-clock.js';
import type { CachedEntry, CacheStore, PeekLookup, StoreLookup, StoreRefusal } from '../stores/contract.js';
import { entrySize } from '../stores/entry-size.js';
import { memoryStore } from '../stores/memory-store.js';
import { type DataKeyResult, type DataOptions, getOrSet as getOrSetData, wrap as wrapData } from './data-cache.js';
import {
  type Acquired,
  type AcquireRequest,
  CACHE_OPTION_NAMES,
  type CacheOptions,
  type CacheStats,
  type ExpireEvent,
  type ExpiryNotice,
  type GroupCacheEvents,
  type InspectedEntry,
  type InspectOptions,
} from './engine-types.js';
import { FillLock, lockingStore } from './fill-lock.js';
import {
  BYPASS_REASONS,
  bypassReason,
  NOT_STORED_REASONS,
  type NotStoredReason,
  notStoredReason,
  reasonCounts,
} from './reasons.js';
import { callStore } from './timeout.js';
import { jsonSerializer, type Serializer, serializerOption } from './value-codec.js';

export type {
  Acquired,
  AcquireRequest,
  BypassEvent,
  CacheOptions,
  CacheStats,
  EvictEvent,
  ExpireEvent,
  ExpiryNotice,
  GroupCacheEvents,
  InspectedEntry,
  InspectOptions,
  KeyEvent,
  NotStoredEvent,
  StoreEvent,
} from './engine-types.js';

const debug = createDebug('group-cache');
// The decision logs (`DEBUG=group-cache*`), one namespace per part. Created once: the hit path only reads `enabled`.
const routeLog = createDebug('group-cache:route');
const expireLog = createDebug('group-cache:expire');
const storeLog = createDebug('group-cache:store');
// Failures of the store itself (as opposed to a key function or a handler's values), logged under `:store`.
const STORE_CODES: ReadonlySet<string> = new Set(['ESTORE', 'ETIMEOUT', 'EEXPIRE', 'EEXPIREDROPPED']);

/**
 * One running fill of a key: the handler's response on its way into the store. Concurrent misses on the key
 * wait for it and share the entry only if the store accepted it.
 */
export class Fill {
  readonly key: string;
  readonly id: string;
  readonly tags: readonly string[];
  /** Store-clock stamp taken before the handler ran. */
  readonly startedAt: number;
  readonly where: string;
  readonly #cache: GroupCache;
  readonly #waiters = new Set<(entry: CachedEntry | undefined) => void>();
  #settled = false;
  #result: CachedEntry | undefined;
  // Releases the store's fill lock this fill holds (fill-lock.ts): once, when it settles or is given up.
  #unlock: (() => void) | undefined;
  /** @internal While this fill first waits for another instance's fill of its key (fill-lock.ts). */
  _locking: Promise<unknown> | undefined;
  /** @internal The first of its tags this process expired while it ran: the store will refuse it for that. */
  _doomedBy: string | undefined;

  constructor(cache: GroupCache, request: AcquireRequest, startedAt: number) {
    this.#cache = cache;
    this.key = request.key;
    this.id = request.id;
    this.tags = entryTags(request.groups, request.keyTag, cache.maxKeyLength);
    this.where = request.source.where;
    this.startedAt = startedAt;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves with the stored entry, or undefined if it was not stored or `ms` passed first. */
  wait(ms: number): Promise<CachedEntry | undefined> {
    if (this.#settled) return Promise.resolve(this.#result);
    return new Promise((resolve) => {
      const done = (entry: CachedEntry | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(entry);
      };
      const timer = setTimeout(done, ms, undefined);
      this.#waiters.add(done);
    });
  }

  /** Hands the finished response to the store; waiters get it only if the store accepted it. */
  commit(entry: CachedEntry): Promise<boolean> {
    return this.#cache._commit(this, entry);
  }

  /**
   * The fill failed and its fallback was served stale instead (`staleIfError`): the stored entry stays. `why` says
   * how it failed (default: the handler failed).
   */
  servedStale(why = 'the handler failed'): void {
    this.cancel(`${why}: its stale copy was served`, 'served-stale');
    this.#cache._servedStale(this.key, this.where);
  }

  /**
   * The response will not be stored (refused by policy, too large, errored or aborted). `key` is the stats key, when
   * the reason's text, which may quote user data, must not be what picks it.
   */
  cancel(reason: string, key: NotStoredReason = notStoredReason(reason)): void {
    this.#cache._notStored(this, reason, key);
    this.#cache._release(this);
    this._settle(undefined);
  }

  /** @internal Holds the store's fill lock until this fill settles. */
  _holdLock(unlock: () => void): void {
    this.#unlock = unlock;
    if (this.#settled) this._unlock();
  }

  /** @internal */
  _unlock(): void {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  /** @internal */
  _settle(entry: CachedEntry | undefined): void {
    // Stored, refused, cancelled or served stale: the lock goes in every case, after the store took the entry.
    this._unlock();
    if (this.#settled) return;
    this.#settled = true;
    this.#result = entry;
    for (const waiter of [...this.#waiters]) waiter(entry);
  }
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

const MAX_RETRY_DELAY = 30_000;
// A margin under the estimate of the store's clock at a request's entry, for rounding (see store-clock.ts).
const STAMP_SLACK_US = 1;
// Tags per store call: a write may name any number of groups, the store gets them in bounded batches.
const EXPIRY_BATCH = 1_000;

/**
 * The framework-free cache engine: lookups with one fill per key, group and key expiry by time stamps, stats,
 * events, and a retry queue for expiries the store could not take.
 */
export class GroupCache extends EventEmitter<GroupCacheEvents> {
  readonly store: CacheStore;
  readonly ttl: number;
  readonly maxEntryBytes: number;
  readonly statuses: ReadonlySet<number>;
  readonly storeTimeout: number;
  readonly waitTimeout: number;
  /** The status header as `[name, ...]` (name as configured), or undefined when turned off. */
  readonly header: string | undefined;
  readonly maxKeyLength: number;
  readonly maxGroups: number;
  readonly now: () => number;
  /** Whether routes send `Cache-Status` unless they say otherwise. */
  readonly cacheStatus: boolean;
  /** The CDN tag header routes send unless they say otherwise, or undefined. */
  readonly cdnTags: CdnTagHeader | undefined;
  /** True when this app expires this cache from code only: no `expireGroups()` middleware is expected. */
  readonly expireFromCodeOnly: boolean;
  /** How `getOrSet` and `wrap` store values unless a call says otherwise. */
  readonly serializer: Serializer;
  readonly #onExpire: ((expiry: ExpiryNotice) => void | Promise<void>) | undefined;
  // What each queued tag names, so that a retried expiry can tell onExpire too.
  readonly #pendingNames = new Map<string, { group?: string; key?: string }>();
  readonly #maxPending: number;
  readonly #retryInterval: number;
  readonly #inflight = new Map<string, Fill>();
  // Set when the store can lock fills and `fillLock` is not false.
  readonly #fillLock: FillLock | undefined;
  // Tags whose expiry has not reached the store yet. While one is here, no entry carrying it is served.
  readonly #pending = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAttempt = 0;
  #closed = false;
  readonly #counts = {
    hits: 0,
    misses: 0,
    stale: 0,
    invalidated: 0,
    bypasses: 0,
    stores: 0,
    refused: 0,
    waits: 0,
    expires: 0,
    errors: 0,
  };
  readonly #bypassReasons = reasonCounts(BYPASS_REASONS);
  readonly #notStoredReasons = reasonCounts(NOT_STORED_REASONS);
  #evictions = 0;
  readonly #storeClock = new StoreClock();
  // The store's stamps are this process's clock (`CacheStore.processClock`): fills are dated exactly.
  readonly #processClock: boolean;

  constructor(options: CacheOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    checkOptionNames(options, CACHE_OPTION_NAMES, 'createCache()');
    const raw = options as Record<string, unknown>;
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('option now must be a function');
    const store = options.store === undefined ? undefined : checkStore(options.store);
    // A store on this process's clock measures lifetimes on the monotonic clock; a shared store's entries are judged
    // by every instance, so on the wall clock they share.
    this.now = options.now ?? (store === undefined || store.processClock === true ? monotonicNow : Date.now);
    this.store = store ?? memoryStore({ now: this.now });
    this.#processClock = this.store.processClock === true;
    this.ttl = ttlOption(raw, 'ttl', 60_000);
    this.maxEntryBytes = positiveOption(raw, 'maxEntryBytes', 2 ** 20, true);
    this.statuses = options.statuses === undefined ? new Set([200]) : statusSet(options.statuses, 'statuses');
    this.storeTimeout = positiveOption(raw, 'storeTimeout', 500);
    this.waitTimeout = positiveOption(raw, 'waitTimeout', 10_000);
    if (options.header !== undefined && options.header !== false && (typeof options.header !== 'string' || !options.header)) {
      throw new TypeError('option header must be a header name or false');
    }
    this.header = options.header === false ? undefined : (options.header ?? 'X-Cache');
    this.maxKeyLength = positiveOption(raw, 'maxKeyLength', DEFAULT_MAX_KEY_LENGTH, true);
    this.maxGroups = positiveOption(raw, 'maxGroups', 64, true);
    this.#maxPending = positiveOption(raw, 'maxPendingExpiries', 10_000, true);
    this.#retryInterval = positiveOption(raw, 'retryInterval', 1_000);
    if (options.fillLock !== undefined && typeof options.fillLock !== 'boolean')
      throw new TypeError('option fillLock must be a boolean');
    if (options.cacheStatus !== undefined && typeof options.cacheStatus !== 'boolean')
      throw new TypeError('option cacheStatus must be a boolean');
    this.cacheStatus = options.cacheStatus ?? false;
    this.cdnTags = cdnTagsOption(raw.cdnTags, 'cdnTags') || undefined;
    if (options.expireFromCodeOnly !== undefined && typeof options.expireFromCodeOnly !== 'boolean')
      throw new TypeError('option expireFromCodeOnly must be a boolean');
    this.expireFromCodeOnly = options.expireFromCodeOnly ?? false;
    this.serializer = serializerOption(raw.serializer, 'serializer') ?? jsonSerializer;
    if (options.onExpire !== undefined && typeof options.onExpire !== 'function')
      throw new TypeError('option onExpire must be a function');
    this.#onExpire = options.onExpire;
    const lockTime = positiveOption(raw, 'fillLockTime', this.waitTimeout);
    const locking = lockingStore(this.store);
    this.#fillLock =
      locking === undefined || options.fillLock === false
        ? undefined
        : new FillLock(locking, {
            lockTime,
            waitTimeout: this.waitTimeout,
            storeTimeout: this.storeTimeout,
            report: (error) => this.report(error),
          });
    this.store.onEvict?.((id, reason) => {
      this.#evictions++;
      if (this.listenerCount('evict') > 0) this.emit('evict', { id, reason });
    });
  }

  /**
   * Expires every response tagged with any of `groups`, at once, whatever their number: one write per group.
   * Takes a group name, a number (an id: `42` names the group `'42'`) or a list of them. Resolves once the store
   * has recorded it. If the store cannot be reached, the expiry is queued and retried until it lands, this process
   * serves no entry of those groups meanwhile, and the promise rejects with a `GroupCacheError` (`EEXPIRE`) so a
   * caller can choose to fail its own response. A value that is not a group name (an object, `''`, `NaN`) never
   * costs the valid ones their expiry: they are applied, and the promise then rejects with `EINVALIDGROUP`.
   */
  async expireGroups(groups: GroupNames): Promise<void> {
    const { groups: list, rejected } = collectExpiryGroups(groups);
    let failure: unknown;
    for (let i = 0; i < list.length; i += EXPIRY_BATCH) {
      const batch = list.slice(i, i + EXPIRY_BATCH);
      try {
        await this.#expire(
          batch.map((group) => groupTag(group, this.maxKeyLength)),
          { groups: batch, keys: [] },
        );
      } catch (error) {
        failure ??= error; // each failed batch is queued for retry on its own; the rest still go
      }
    }
    if (rejected.length > 0) {
      const invalid = new GroupCacheError(
        'EINVALIDGROUP',
        `expireGroups got ${rejected.length} value(s) that are not group names, not expired: ${rejected.slice(0, 5).join('; ')}` +
          ` (group names are non-empty strings or finite numbers; ${list.length} valid group(s) were expired)`,
        { details: { rejected, expired: list } },
      );
      this.#reportLoudly(invalid);
      failure ??= invalid;
    }
    if (failure !== undefined) throw failure;
  }

  /** Expires one key: its entry, and any fill of it already running, are never served. */
  async expireKey(key: string): Promise<void> {
    if (typeof key !== 'string' || key === '') throw new TypeError('argument key must be a non-empty string');
    const id = keyId(key, this.maxKeyLength);
    await this.#expire([id], { groups: [], keys: [key] });
    try {
      await callStore('store.delete', this.storeTimeout, () => this.store.delete(id));
    } catch (error) {
      // The expiry record already makes the entry stale; the delete only frees its memory early.
      this.report(error);
    }
  }

  async #expire(tags: string[], event: ExpireEvent): Promise<void> {
    this.#doomFills(tags);
    const sentAt = performance.now();
    try {
      const stamp = await callStore('store.expire', this.storeTimeout, () => this.store.expire(tags));
      const doneAt = performance.now();
      if (typeof stamp === 'number') this.#storeClock.sample(stamp, doneAt);
      expireLog('expired groups %j keys %j in %s ms', event.groups, event.keys, (doneAt - sentAt).toFixed(2));
    } catch (error) {
      expireLog(
        'expiry of groups %j keys %j failed after %s ms, queued for retry: %s',
        event.groups,
        event.keys,
        (performance.now() - sentAt).toFixed(2),
        (error as Error)?.message,
      );
      this.#queueExpiry(tags, event);
      const failure = new GroupCacheError(
        'EEXPIRE',
        `could not expire ${describeExpiry(event)} now; queued for retry (${this.#pending.size} pending)`,
        { cause: error, details: { ...event } },
      );
      this.report(failure);
      throw failure;
    }
    this.#counts.expires += tags.length;
    if (this.listenerCount('expire') > 0) this.emit('expire', event);
    this.#notifyExpire(event);
  }

  // onExpire runs after the store recorded the expiry, outside the caller's path: its failure is only reported.
  #notifyExpire(event: ExpireEvent): void {
    const onExpire = this.#onExpire;
    if (onExpire === undefined || (event.groups.length === 0 && event.keys.length === 0)) return;
    const notice: ExpiryNotice = { groups: [...event.groups], keys: [...event.keys], cdnTags: event.groups.map(cdnTag) };
    const failed = (error: unknown): void => {
      this.report(
        new GroupCacheError('EEXPIRE', `onExpire failed: ${String((error as Error)?.message ?? error)}`, {
          cause: error,
          details: { ...event },
        }),
      );
    };
    try {
      const result = onExpire(notice);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /*
   * When a fill starts, on the store's clock: dated back to when its request entered the app, since a param
   * loader, an upstream middleware or an async key function may have read its data before the lookup, and a write
   * landing in between must doom the fill (see store-clock.ts). Never before a new epoch this lookup made.
   */
  #startedAt(lookup: StoreLookup, enteredAt: number, sentAt: number | undefined, arrivedAt: number): number {
    const started =
      (this.#processClock
        ? Math.floor((performance.timeOrigin + enteredAt) * 1000)
        : this.#storeClock.at(enteredAt, lookup.stamp, arrivedAt, sentAt)) - STAMP_SLACK_US;
    return lookup.notBefore !== undefined && started < lookup.notBefore ? lookup.notBefore : started;
  }

  // A request arriving after an expiry must not join a fill that started before it.
  #doomFills(tags: readonly string[]): void {
    if (this.#inflight.size === 0) return;
    const doomed = new Set(tags);
    for (const [id, fill] of this.#inflight) {
      const tag = fill.tags.find((tag) => doomed.has(tag));
      if (tag === undefined) continue;
      fill._doomedBy ??= tag;
      this.#inflight.delete(id);
      // The store will refuse it: other instances need not wait for it either.
      fill._unlock();
    }
  }

  #queueExpiry(tags: readonly string[], event: ExpireEvent): void {
    for (const tag of tags) {
      this.#pending.delete(tag);
      this.#pending.add(tag);
    }
    if (this.#onExpire !== undefined) {
      // Tags are built from the event's names in order: groups first (expireGroups), or the one key (expireKey).
      const names = [...event.groups.map((group) => ({ group })), ...event.keys.map((key) => ({ key }))];
      tags.forEach((tag, i) => {
        const name = names[i];
        if (name !== undefined) this.#pendingNames.set(tag, name);
      });
    }
    const dropped: string[] = [];
    for (const tag of this.#pending) {
      if (this.#pending.size <= this.#maxPending) break;
      this.#pending.delete(tag);
      this.#pendingNames.delete(tag);
      dropped.push(tag);
    }
    if (dropped.length > 0) this.#reportDropped(dropped, 'the retry queue is full');
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed || this.#pending.size === 0) return;
    const delay = Math.min(this.#retryInterval * 2 ** this.#retryAttempt, MAX_RETRY_DELAY);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#retry();
    }, delay);
    this.#retryTimer.unref();
  }

  async #retry(): Promise<void> {
    const tags = [...this.#pending];
    try {
      await callStore('store.expire (retry)', this.storeTimeout, () => this.store.expire(tags));
      for (const tag of tags) this.#pending.delete(tag);
      this.#retryAttempt = 0;
      this.#counts.expires += tags.length;
      expireLog('retried expiry of %d tags landed', tags.length);
      const landed: ExpireEvent = { groups: [], keys: [] };
      for (const tag of tags) {
        const name = this.#pendingNames.get(tag);
        this.#pendingNames.delete(tag);
        if (name?.group !== undefined) landed.groups.push(name.group);
        if (name?.key !== undefined) landed.keys.push(name.key);
      }
      this.#notifyExpire(landed);
    } catch (error) {
      this.#retryAttempt++;
      expireLog('retry of %d expiries failed: %s', tags.length, (error as Error).message);
    }
    this.#scheduleRetry();
  }

  #reportDropped(tags: readonly string[], why: string): void {
    const error = new GroupCacheError(
      'EEXPIREDROPPED',
      `${tags.length} group/key expiries were never applied because ${why}: ${tags.slice(0, 5).join(', ')}`,
      { details: { tags: [...tags] } },
    );
    this.#reportLoudly(error);
  }

  // Losing an invalidation must never pass silently: with no `error` listener it becomes a process warning.
  #reportLoudly(error: GroupCacheError): void {
    this.report(error);
    if (this.listenerCount('error') === 0) process.emitWarning(error.message, 'GroupCacheWarning', error.code);
  }

  /** Removes every entry and group record of this cache's store. */
  async clear(): Promise<void> {
    this.#inflight.clear();
    const stamp = await callStore('store.clear', this.storeTimeout, () => this.store.clear());
    if (typeof stamp === 'number') this.#storeClock.sample(stamp, performance.now());
  }

  /** Stops retry timers and closes the store. Expiries still pending are reported as dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#pending.size > 0) this.#reportDropped([...this.#pending], 'the cache was closed');
    this.#pending.clear();
    this.#pendingNames.clear();
    await this.store.close?.();
  }

  stats(): CacheStats {
    const store = this.store.stats?.();
    return {
      ...this.#counts,
      evictions: store?.evictions ?? this.#evictions,
      entries: store?.entries ?? 0,
      bytes: store?.bytes ?? 0,
      pendingExpiries: this.#pending.size,
      bypassReasons: { ...this.#bypassReasons },
      notStoredReasons: { ...this.#notStoredReasons },
    };
  }

  /**
   * What is stored for `key` (a route's key; a data key with `{ data: true }`), without serving it or changing
   * its recency: status, headers, size, groups, age and state (fresh, stale, or invalidated and by what). The body
   * only with `{ body: true }`. Undefined when nothing is held. A route with a `vary` option stores each variant
   * under its own id: inspect sees the one without a variant suffix.
   */
  async inspect(key: string, options: InspectOptions = {}): Promise<InspectedEntry | undefined> {
    if (typeof key !== 'string' || key === '') throw new TypeError('argument key must be a non-empty string');
    const id = options.data === true ? dataKeyId(key, this.maxKeyLength) : keyId(key, this.maxKeyLength);
    const store = this.store;
    const lookup: PeekLookup = await callStore('store.peek', this.storeTimeout, () =>
      store.peek === undefined ? store.get(id) : store.peek(id),
    );
    const entry = lookup.entry;
    if (entry === undefined) return undefined;
    const now = this.now();
    const queued = entry.tags
      .filter((tag) => this.#pending.has(tag))
      .map((tag) => `${describeTag(tag)} (expiry queued for retry)`);
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
    if (options.body === true) inspected.body = entry.body;
    return inspected;
  }

  /**
   * Reports a run-time failure: an `error` event, or the `debug` log when nobody listens. For adapters and the
   * route flow (the engine's interface with the HTTP layer: {@link lookup}, `report`, {@link recordBypass}).
   */
  report(error: unknown): void {
    this.#counts.errors++;
    const failure =
      error instanceof GroupCacheError
        ? error
        : new GroupCacheError('ESTORE', String((error as Error)?.message ?? error), { cause: error });
    if (STORE_CODES.has(failure.code)) storeLog('%s: %s', failure.code, failure.message);
    if (this.listenerCount('error') > 0) this.emit('error', failure);
    else debug('%s: %s', failure.code, failure.message);
  }

  /** Counts a request served past the cache, and emits `bypass` with the reason. For the route flow. */
  recordBypass(reason: string, where: string, key?: string): void {
    this.#counts.bypasses++;
    this.#bypassReasons[bypassReason(reason)]++;
    if (routeLog.enabled) routeLog('%s %s bypass: %s', where, key ?? '-', reason);
    if (this.listenerCount('bypass') > 0) this.emit('bypass', key === undefined ? { reason, where } : { reason, where, key });
  }

  // True when a group or key of the entry was expired after its fill started, or its expiry is still queued here.
  #invalidated(entry: CachedEntry, expiredAt: number): boolean {
    if (entry.startedAt <= expiredAt) return true;
    if (this.#pending.size === 0) return false;
    return entry.tags.some((tag) => this.#pending.has(tag));
  }

  /**
   * Looks a request up: a hit, a stale copy, a fill for the caller to run, or a pass (uncached). Concurrent
   * misses on one key wait for the first one's fill and share its entry if the store accepted it. The engine's
   * one entry point for the HTTP layer (`cached-route.ts`): a synchronous answer when the store answers so.
   */
  lookup(request: AcquireRequest): Acquired | Promise<Acquired> {
    // The send time bounds the store's clock from above (store-clock.ts). A store on the process clock needs none;
    // any other needs it on every lookup, since one that answered synchronously may not next time (the tiered
    // store: tier hits, then Redis reads), and a late answer dated by its own round trip alone falls too early.
    const sentAt = this.#processClock ? undefined : performance.now();
    let lookup: StoreLookup | Promise<StoreLookup>;
    try {
      lookup = callStore('store.get', this.storeTimeout, () => this.store.get(request.id));
    } catch (error) {
      return this.#passOnError(error, request);
    }
    if (lookup instanceof Promise) {
      return lookup.then(
        (result) => this.#afterLookup(result, request, sentAt),
        (error: unknown) => this.#passOnError(error, request),
      );
    }
    return this.#afterLookup(lookup, request, sentAt);
  }

  #passOnError(error: unknown, request: AcquireRequest): Acquired {
    this.report(error);
    this.recordBypass('store unavailable', request.source.where, request.key);
    return { type: 'pass', reason: 'store unavailable' };
  }

  /*
   * The one place freshness is decided, reading the clock once: fresh (inside its TTL) is a hit; stale (past it,
   * inside the route's staleWhileRevalidate window) is served at once while one request refills the key; an
   * entry past its TTL inside the staleIfError window, or invalidated when the route allows it, stands by as the
   * fallback of the fill. Invalidated is never served as fresh, and never as stale unless the route opts in.
   */
  #afterLookup(lookup: StoreLookup, request: AcquireRequest, sentAt: number | undefined): Acquired | Promise<Acquired> {
    const held = lookup.entry;
    let fallback: CachedEntry | undefined;
    // A stale copy this request refills: served at once instead if another instance holds the key's fill lock.
    let revalidating: CachedEntry | undefined;
    const suits = held !== undefined && request.accepts(held);
    if (held !== undefined && !suits && request.variant !== undefined) {
      // Another variant of the key (a `Vary: Accept-Encoding` entry of another coding) lives beside this one.
      const id = request.variant(held);
      if (id !== undefined && id !== request.id) return this.lookup({ ...request, id, variant: undefined });
    }
    if (held !== undefined && suits) {
      const now = this.now();
      const invalidated = this.#invalidated(held, lookup.expiredAt);
      if (!invalidated) {
        if (now < held.freshUntil) return this.#hit(held, request, now);
        if (now < held.freshUntil + request.staleWhileRevalidate) {
          const running = this.#inflight.get(request.id);
          // Otherwise this request is the one refill, and waits for it like any miss.
          if ((running !== undefined && !running.settled) || !request.canFill) return this.#stale(held, request);
          revalidating = held;
        }
      } else {
        this.#counts.invalidated++;
        if (this.listenerCount('invalidated') > 0) this.emit('invalidated', { key: request.key, where: request.source.where });
      }
      if (
        request.staleIfError > 0 &&
        now < held.freshUntil + request.staleIfError &&
        (!invalidated || request.staleIfErrorAfterExpire)
      ) {
        fallback = held;
      }
    }
    const arrivedAt = performance.now();
    this.#storeClock.sample(lookup.stamp, arrivedAt);
    const startedAt = this.#startedAt(lookup, request.enteredAt, sentAt, arrivedAt);
    const running = this.#inflight.get(request.id);
    if (running !== undefined && !running.settled) return this.#join(running, startedAt, request, fallback);
    return this.#startFill(startedAt, request, fallback, true, revalidating);
  }

  async #join(running: Fill, startedAt: number, request: AcquireRequest, fallback: CachedEntry | undefined): Promise<Acquired> {
    this.#counts.waits++;
    // A fill that first waits for another instance's entry is bounded by waitTimeout on its own; its handler then
    // gets a waitTimeout of its own too.
    if (running._locking !== undefined) await running._locking;
    const shared = await running.wait(this.waitTimeout);
    if (this.#servable(shared, 0, request)) return this.#hit(shared, request, this.now());
    // The fill it waited for stored another variant (a `Vary: Accept-Encoding` entry of another coding).
    const id = shared === undefined || request.variant === undefined ? undefined : request.variant(shared);
    if (id !== undefined && id !== request.id) return this.lookup({ ...request, id, variant: undefined });
    // A fill still running after waitTimeout (a handler that never settles) must not hold later requests too, here
    // or in other instances. A request that waited once runs its handler now, without waiting for a lock.
    if (!running.settled) {
      this._release(running);
      running._unlock();
    }
    return this.#startFill(startedAt, request, fallback, false);
  }

  // Whether an entry that arrived after the lookup (a shared fill's) may be served as a hit: the same tests.
  #servable(entry: CachedEntry | undefined, expiredAt: number, request: AcquireRequest): entry is CachedEntry {
    return entry !== undefined && request.accepts(entry) && this.now() < entry.freshUntil && !this.#invalidated(entry, expiredAt);
  }

  #hit(entry: CachedEntry, request: AcquireRequest, now: number): Acquired {
    this.#counts.hits++;
    // Checked first: with the log off, a hit builds nothing.
    if (routeLog.enabled) routeLog('%s %s hit age=%dms', request.source.where, request.key, now - entry.storedAt);
    if (this.listenerCount('hit') > 0) this.emit('hit', { key: request.key, where: request.source.where });
    // The clock read that judged it fresh dates its Age too: one read per hit.
    return { type: 'hit', entry, now };
  }

  #stale(entry: CachedEntry, request: AcquireRequest): Acquired {
    if (routeLog.enabled) routeLog('%s %s stale age=%dms', request.source.where, request.key, this.now() - entry.storedAt);
    this._servedStale(request.key, request.source.where);
    return { type: 'stale', entry };
  }

  /** @internal Counts a stale copy served, by a lookup or in place of a failed fill. */
  _servedStale(key: string, where: string): void {
    this.#counts.stale++;
    if (this.listenerCount('stale') > 0) this.emit('stale', { key, where });
  }

  #startFill(
    startedAt: number,
    request: AcquireRequest,
    fallback: CachedEntry | undefined,
    lock = true,
    revalidating?: CachedEntry,
  ): Acquired | Promise<Acquired> {
    if (!request.canFill) {
      // Looked up and not found, answered by the handler: a miss (X-Cache says MISS), only never stored.
      this.#counts.misses++;
      if (routeLog.enabled) routeLog('%s %s miss (HEAD: not filled)', request.source.where, request.key);
      if (this.listenerCount('miss') > 0) this.emit('miss', { key: request.key, where: request.source.where });
      return { type: 'pass', reason: 'HEAD miss' };
    }
    const fill = new Fill(this, request, startedAt);
    const running = this.#inflight.get(request.id);
    if (running !== undefined && !running.settled) return this.#miss(fill, request, fallback, revalidating);
    this.#inflight.set(request.id, fill);
    if (this.#fillLock === undefined || !lock) return this.#miss(fill, request, fallback, revalidating);
    // Registered first, so that concurrent misses here join this one fill and its one wait for the lock.
    const locking = this.#lockedFill(this.#fillLock, fill, request, fallback, revalidating);
    fill._locking = locking;
    return locking;
  }

  #miss(fill: Fill, request: AcquireRequest, fallback: CachedEntry | undefined, revalidating?: CachedEntry): Acquired {
    this.#counts.misses++;
    if (routeLog.enabled) routeLog('%s %s miss', request.source.where, request.key);
    if (this.listenerCount('miss') > 0) this.emit('miss', { key: request.key, where: request.source.where });
    return revalidating === undefined ? { type: 'fill', fill, fallback } : { type: 'fill', fill, fallback, revalidating };
  }

  // Across instances (fill-lock.ts): fill holding the store's lock of the key, or answer the entry its holder stored.
  async #lockedFill(
    lock: FillLock,
    fill: Fill,
    request: AcquireRequest,
    fallback: CachedEntry | undefined,
    revalidating: CachedEntry | undefined,
  ): Promise<Acquired> {
    // While another instance refills, a copy inside the staleWhileRevalidate window is served at once, as it is
    // while a refill runs here. Only a fallback that cannot be invalidated (staleIfErrorAfterExpire off) qualifies.
    const stale =
      revalidating ??
      (fallback !== undefined &&
      !request.staleIfErrorAfterExpire &&
      this.now() < fallback.freshUntil + request.staleWhileRevalidate
        ? fallback
        : undefined);
    const outcome = await lock.acquire(
      fill.id,
      (lookup) => (this.#servable(lookup.entry, lookup.expiredAt, request) ? lookup.entry : undefined),
      stale === undefined,
    );
    if (outcome.type === 'held' && stale !== undefined) {
      this._release(fill);
      fill._settle(undefined);
      return this.#stale(stale, request);
    }
    if (outcome.waited > 0) {
      this.#counts.waits++;
      debug('fill of %s waited %d ms for another instance: %s', fill.where, Math.round(outcome.waited), outcome.type);
    }
    if (outcome.type === 'entry') {
      this._release(fill);
      fill._settle(outcome.entry);
      return this.#hit(outcome.entry, request, this.now());
    }
    if (outcome.type === 'locked') fill._holdLock(() => lock.release(fill.id, outcome.token));
    return this.#miss(fill, request, fallback, revalidating);
  }

  /** @internal Counts and logs a fill that was not stored. */
  _notStored(fill: Fill, reason: string, key: NotStoredReason): void {
    this.#notStoredReasons[key]++;
    routeLog('%s %s not stored (%s): %s', fill.where, fill.key, key, reason);
    if (this.listenerCount('notStored') > 0) {
      this.emit('notStored', { key: fill.key, where: fill.where, reason: key, detail: reason });
    }
  }

  /** @internal */
  _release(fill: Fill): void {
    if (this.#inflight.get(fill.id) === fill) this.#inflight.delete(fill.id);
  }

  /** @internal */
  async _commit(fill: Fill, given: CachedEntry): Promise<boolean> {
    const entry = withinMaxTtl(given);
    let stored = false;
    let failed = false;
    let cause: StoreRefusal | undefined;
    const refused = (why: StoreRefusal): void => {
      cause ??= why;
    };
    try {
      stored = await callStore('store.set', this.storeTimeout, () => this.store.set(fill.id, entry, refused));
    } catch (error) {
      failed = true;
      this.report(error);
    }
    this._release(fill);
    if (stored) {
      this.#counts.stores++;
      if (this.listenerCount('store') > 0) {
        this.emit('store', { key: fill.key, where: fill.where, bytes: entry.body.length });
      }
    } else {
      this.#counts.refused++;
      if (failed) this._notStored(fill, 'the store failed', 'store-unavailable');
      else this._notStored(fill, this.#refusal(fill, entry, cause), 'refused-by-store');
    }
    fill._settle(stored ? entry : undefined);
    return stored;
  }

  // One cause, the store's own when it named one (`CacheStore.set`), else what this process knows.
  #refusal(fill: Fill, entry: CachedEntry, cause: StoreRefusal | undefined): string {
    const doomedBy = fill._doomedBy;
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
        return `refused by the ${this.store.name} store, which named no cause`;
    }
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

function describeExpiry(event: ExpireEvent): string {
  const names = [...event.groups.map((g) => `group ${JSON.stringify(g)}`), ...event.keys.map((k) => `key ${JSON.stringify(k)}`)];
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

// A tag as a reader names it: `group "users"`, `key "user_1"`.
function describeTag(tag: string): string {
  if (tag === '\0epoch') return "the store's floor (records dropped or lost, or a clear())";
  const name = tag.slice(2);
  switch (tag[0]) {
    case 'g':
      return `group ${JSON.stringify(name)}`;
    case 'k':
      return `key ${JSON.stringify(name)}`;
    case 'G':
      return `group by digest ${name}`;
    case 'K':
      return `key by digest ${name}`;
    default:
      return `tag ${JSON.stringify(tag)}`;
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

/** Creates a cache. With no options: a memory store of 64 MiB and a 60 s TTL. */
export function createCache(options?: CacheOptions): GroupCache {
  return new GroupCache(options);
}
