import type { EventEmitter } from 'node:events';
import createDebug from 'debug';
import { GroupCacheError } from '../core/errors.js';
import type { CachedEntry, EvictionReason } from '../stores/contract.js';
import type { CacheStats, ExpireEvent, GroupCacheEvents } from './engine-types.js';
import type { CacheTelemetry } from './instrumentation.js';
import { BYPASS_REASONS, bypassReason, NOT_STORED_REASONS, type NotStoredReason, reasonCounts } from './reasons.js';

const debug = createDebug('group-cache');
// The decision logs (`DEBUG=group-cache*`), one namespace per part. Created once: the hit path only reads `enabled`.
const routeLog = createDebug('group-cache:route');
const storeLog = createDebug('group-cache:store');
// Failures of the store itself (as opposed to a key function or a handler's values), logged under `:store`.
const STORE_CODES: ReadonlySet<string> = new Set(['ESTORE', 'ETIMEOUT', 'EEXPIRE', 'EEXPIREDROPPED']);

/** The counters of `stats()` that the engine keeps itself (the rest come from the store and the expiry queue). */
export type CacheCounts = Pick<
  CacheStats,
  'hits' | 'misses' | 'stale' | 'invalidated' | 'bypasses' | 'stores' | 'refused' | 'waits' | 'expires' | 'errors'
>;

/** What names a request in events and logs (an `AcquireRequest`'s `source`, or a running `Fill`). */
export interface Source {
  readonly where: string;
}

/**
 * What the engine tells about its decisions, in one place: the counters of `stats()`, the events a listener gets,
 * the decision logs and a telemetry integration's counts. Each event is built only when someone listens, each log
 * line only when its log is on, each count only when the cache was given `telemetry`.
 */
export class Telemetry {
  readonly counts: CacheCounts = {
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
  readonly bypassReasons = reasonCounts(BYPASS_REASONS);
  readonly notStoredReasons = reasonCounts(NOT_STORED_REASONS);
  evictions = 0;
  readonly #events: EventEmitter<GroupCacheEvents>;
  readonly #hooks: CacheTelemetry | undefined;

  constructor(events: EventEmitter<GroupCacheEvents>, hooks?: CacheTelemetry) {
    this.#events = events;
    this.#hooks = hooks;
  }

  // `source.where` is read only when a log or a listener needs it: an adapter may work it out on demand.
  // The entry's body size is read only for a listener; `now` dates its age for the log.
  hit(key: string, source: Source, now: number, entry: CachedEntry): void {
    this.counts.hits++;
    if (this.#hooks !== undefined) this.#hooks.outcome('hit', source);
    if (routeLog.enabled) routeLog('%s %s hit age=%dms', source.where, key, now - entry.storedAt);
    if (this.#events.listenerCount('hit') > 0) {
      this.#events.emit('hit', { key, where: source.where, bytes: entry.body.length });
    }
  }

  /** A lookup that found nothing it could serve; `note` says why when the log should (`HEAD: not filled`). */
  miss(key: string, source: Source, note?: string): void {
    this.counts.misses++;
    if (this.#hooks !== undefined) this.#hooks.outcome('miss', source);
    if (routeLog.enabled) routeLog(note === undefined ? '%s %s miss' : '%s %s miss (%s)', source.where, key, note);
    if (this.#events.listenerCount('miss') > 0) this.#events.emit('miss', { key, where: source.where });
  }

  /** A stale copy served, by a lookup (with its `age`) or in place of a failed fill. */
  stale(key: string, source: Source, age?: number): void {
    if (age !== undefined && routeLog.enabled) routeLog('%s %s stale age=%dms', source.where, key, age);
    this.counts.stale++;
    if (this.#hooks !== undefined) this.#hooks.outcome('stale', source);
    if (this.#events.listenerCount('stale') > 0) this.#events.emit('stale', { key, where: source.where });
  }

  invalidated(key: string, source: Source): void {
    this.counts.invalidated++;
    if (this.#events.listenerCount('invalidated') > 0) this.#events.emit('invalidated', { key, where: source.where });
  }

  /** A miss that waited for the running fill of its key in this process. */
  waited(): void {
    this.counts.waits++;
  }

  /** A fill that first waited `ms` for another instance's fill of its key, and how that ended. */
  waitedForInstance(where: string, ms: number, outcome: string): void {
    this.counts.waits++;
    debug('fill of %s waited %d ms for another instance: %s', where, Math.round(ms), outcome);
  }

  /** A fill the store took: `ms` since its request entered the app. */
  stored(key: string, where: string, bytes: number, ms: number): void {
    this.counts.stores++;
    if (this.#events.listenerCount('store') > 0) this.#events.emit('store', { key, where, bytes, ms });
  }

  /** A fill the store refused (or could not take): counted apart from the reason it is filed under. */
  refused(): void {
    this.counts.refused++;
  }

  notStored(key: string, where: string, reason: NotStoredReason, detail: string): void {
    this.notStoredReasons[reason]++;
    this.#hooks?.notStored(reason, where);
    routeLog('%s %s not stored (%s): %s', where, key, reason, detail);
    if (this.#events.listenerCount('notStored') > 0) this.#events.emit('notStored', { key, where, reason, detail });
  }

  /** A request served past the cache, with the reason. */
  bypass(reason: string, where: string, key?: string): void {
    this.counts.bypasses++;
    const short = bypassReason(reason);
    this.bypassReasons[short]++;
    this.#hooks?.outcome('bypass', { where }, short);
    if (routeLog.enabled) routeLog('%s %s bypass: %s', where, key ?? '-', reason);
    if (this.#events.listenerCount('bypass') > 0) {
      this.#events.emit('bypass', key === undefined ? { reason, where } : { reason, where, key });
    }
  }

  /** Tags the store recorded as expired; `event` names them for listeners (a retried expiry has none). */
  expired(tags: number, event?: ExpireEvent): void {
    this.counts.expires += tags;
    if (event !== undefined && this.#events.listenerCount('expire') > 0) this.#events.emit('expire', event);
  }

  evicted(id: string, reason: EvictionReason): void {
    this.evictions++;
    if (this.#events.listenerCount('evict') > 0) this.#events.emit('evict', { id, reason });
  }

  /** A run-time failure: an `error` event, or the `debug` log when nobody listens. */
  report(error: unknown): void {
    this.counts.errors++;
    const failure =
      error instanceof GroupCacheError
        ? error
        : new GroupCacheError('ESTORE', String((error as Error)?.message ?? error), { cause: error });
    if (STORE_CODES.has(failure.code)) {
      storeLog('%s: %s', failure.code, failure.message);
      this.#hooks?.storeError(failure.code);
    }
    if (this.#events.listenerCount('error') > 0) this.#events.emit('error', failure);
    else debug('%s: %s', failure.code, failure.message);
  }

  // Losing an invalidation must never pass silently: with no `error` listener it becomes a process warning.
  reportLoudly(error: GroupCacheError): void {
    this.report(error);
    if (this.#events.listenerCount('error') === 0) process.emitWarning(error.message, 'GroupCacheWarning', error.code);
  }
}
