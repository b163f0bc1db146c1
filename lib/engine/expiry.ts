import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import { GroupCacheError } from '../core/errors.js';
import { collectExpiryGroups, type GroupNames } from '../core/expiry-groups.js';
import { cdnTag, groupTag, keyId } from '../core/keys.js';
import type { StoreClock } from '../core/store-clock.js';
import type { CacheStore } from '../stores/contract.js';
import { Backoff } from './backoff.js';
import type { EdgePurge } from './edge-purge.js';
import type { ExpireEvent, ExpiryNotice, ExpiryTrigger } from './engine-types.js';
import type { Telemetry } from './telemetry.js';
import { callStore } from './timeout.js';

const expireLog = createDebug('group-cache:expire');

// Tags per store call: a write may name any number of groups, the store gets them in bounded batches.
const EXPIRY_BATCH = 1_000;

/** What expiry needs of the cache it works for. */
export interface ExpirySettings {
  store: CacheStore;
  storeTimeout: number;
  maxKeyLength: number;
  /** Most tags waiting for a retry; past it the oldest is dropped and reported. */
  maxPending: number;
  /** First delay before a retry; it doubles up to 30 s. */
  retryInterval: number;
  onExpire: ((expiry: ExpiryNotice) => void | Promise<void>) | undefined;
  /** Purges the edges of the groups expired (`createCache({ edge })`), as part of each expiry. */
  edge: EdgePurge | undefined;
  telemetry: Telemetry;
  storeClock: StoreClock;
  /** Where tags wait for a retry (shared with the lookups, which serve no entry that carries one). */
  pending: Set<string>;
  /** Called with the tags before the store records them: fills of those tags running here are doomed. */
  doomFills(tags: readonly string[]): void;
}

/**
 * Group and key expiry: one store write per batch of tags, and a retry queue for what the store could not take.
 * While a tag waits here, no entry carrying it is served by this process (`pending`).
 */
export class Expiry {
  readonly #settings: ExpirySettings;
  // Tags whose expiry has not reached the store yet.
  readonly #pending: Set<string>;
  // What each queued tag names, so that a retried expiry can tell onExpire too.
  readonly #pendingNames = new Map<string, { group?: string; key?: string }>();
  readonly #backoff = new Backoff(() => void this.#retry());
  #closed = false;

  constructor(settings: ExpirySettings) {
    this.#settings = settings;
    this.#pending = settings.pending;
  }

  /** Tags whose expiry is queued for a retry. */
  get pending(): ReadonlySet<string> {
    return this.#pending;
  }

  /** See `GroupCache.expireGroups`. */
  async expireGroups(groups: GroupNames, trigger?: ExpiryTrigger): Promise<void> {
    const { groups: list, rejected } = collectExpiryGroups(groups);
    let failure: unknown;
    for (let i = 0; i < list.length; i += EXPIRY_BATCH) {
      const batch = list.slice(i, i + EXPIRY_BATCH);
      try {
        await this.#expire(
          batch.map((group) => groupTag(group, this.#settings.maxKeyLength)),
          withTrigger({ groups: batch, keys: [] }, trigger),
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
      this.#settings.telemetry.reportLoudly(invalid);
      failure ??= invalid;
    }
    if (failure !== undefined) throw failure;
  }

  /** See `GroupCache.expireKey`. */
  async expireKey(key: string, trigger?: ExpiryTrigger): Promise<void> {
    if (typeof key !== 'string' || key === '') throw new TypeError('argument key must be a non-empty string');
    const { store, storeTimeout, maxKeyLength, telemetry } = this.#settings;
    const id = keyId(key, maxKeyLength);
    await this.#expire([id], withTrigger({ groups: [], keys: [key] }, trigger));
    try {
      await callStore('store.delete', storeTimeout, () => store.delete(id));
    } catch (error) {
      // The expiry record already makes the entry stale; the delete only frees its memory early.
      telemetry.report(error);
    }
  }

  async #expire(tags: string[], event: ExpireEvent): Promise<void> {
    const { store, storeTimeout, storeClock, telemetry } = this.#settings;
    this.#settings.doomFills(tags);
    const sentAt = performance.now();
    try {
      const stamp = await callStore('store.expire', storeTimeout, () => store.expire(tags));
      const doneAt = performance.now();
      if (typeof stamp === 'number') storeClock.sample(stamp, doneAt);
      expireLog('expired groups %j keys %j in %s ms', event.groups, event.keys, (doneAt - sentAt).toFixed(2));
    } catch (error) {
      const after = (performance.now() - sentAt).toFixed(2);
      expireLog(
        'expiry of groups %j keys %j failed after %s ms, queued for retry: %s',
        event.groups,
        event.keys,
        after,
        messageOf(error),
      );
      this.#queue(tags, event);
      const failure = new GroupCacheError(
        'EEXPIRE',
        `could not expire ${describeExpiry(event)} now; queued for retry (${this.#pending.size} pending)`,
        { cause: error, details: { ...event } },
      );
      telemetry.report(failure);
      throw failure;
    }
    telemetry.expired(tags.length, event);
    this.#notify(event);
    // Part of expiring: a write's response waits for it, and a failed purge fails the expiry (onError decides).
    await this.#settings.edge?.purge(event.groups);
  }

  // onExpire runs after the store recorded the expiry, outside the caller's path: its failure is only reported.
  #notify(event: ExpireEvent): void {
    const { onExpire, telemetry } = this.#settings;
    if (onExpire === undefined || (event.groups.length === 0 && event.keys.length === 0)) return;
    const notice: ExpiryNotice = withTrigger(
      { groups: [...event.groups], keys: [...event.keys], cdnTags: event.groups.map(cdnTag) },
      event.trigger,
    );
    const failed = (error: unknown): void => {
      const message = `onExpire failed: ${messageOf(error)}`;
      telemetry.report(new GroupCacheError('EEXPIRE', message, { cause: error, details: { ...event } }));
    };
    try {
      const result = onExpire(notice);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  #queue(tags: readonly string[], event: ExpireEvent): void {
    for (const tag of tags) {
      this.#pending.delete(tag);
      this.#pending.add(tag);
    }
    if (this.#settings.onExpire !== undefined || this.#settings.edge !== undefined) {
      // Tags are built from the event's names in order: groups first (expireGroups), or the one key (expireKey).
      const names = [...event.groups.map((group) => ({ group })), ...event.keys.map((key) => ({ key }))];
      tags.forEach((tag, i) => {
        const name = names[i];
        if (name !== undefined) this.#pendingNames.set(tag, name);
      });
    }
    const dropped: string[] = [];
    for (const tag of this.#pending) {
      if (this.#pending.size <= this.#settings.maxPending) break;
      this.#pending.delete(tag);
      this.#pendingNames.delete(tag);
      dropped.push(tag);
    }
    if (dropped.length > 0) this.#reportDropped(dropped, 'the retry queue is full');
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#pending.size === 0) return;
    this.#backoff.schedule(this.#settings.retryInterval);
  }

  async #retry(): Promise<void> {
    const { store, storeTimeout, telemetry } = this.#settings;
    const tags = [...this.#pending];
    try {
      await callStore('store.expire (retry)', storeTimeout, () => store.expire(tags));
      for (const tag of tags) this.#pending.delete(tag);
      this.#backoff.settled(true);
      telemetry.expired(tags.length);
      expireLog('retried expiry of %d tags landed', tags.length);
      const landed = this.#landed(tags);
      this.#notify(landed);
      // Nobody waits for this one: a failed purge is reported and retried by the edge purge itself.
      this.#settings.edge?.purge(landed.groups).catch(() => {});
    } catch (error) {
      this.#backoff.settled(false);
      expireLog('retry of %d expiries failed: %s', tags.length, messageOf(error));
    }
    this.#scheduleRetry();
  }

  // The names a retried batch of tags stood for, taken off the queue.
  #landed(tags: readonly string[]): ExpireEvent {
    const landed: ExpireEvent = { groups: [], keys: [] };
    for (const tag of tags) {
      const name = this.#pendingNames.get(tag);
      this.#pendingNames.delete(tag);
      if (name?.group !== undefined) landed.groups.push(name.group);
      if (name?.key !== undefined) landed.keys.push(name.key);
    }
    return landed;
  }

  #reportDropped(tags: readonly string[], why: string): void {
    const error = new GroupCacheError(
      'EEXPIREDROPPED',
      `${tags.length} group/key expiries were never applied because ${why}: ${tags.slice(0, 5).join(', ')}`,
      { details: { tags: [...tags] } },
    );
    this.#settings.telemetry.reportLoudly(error);
  }

  /** Stops retrying; expiries still queued are reported as dropped. */
  close(): void {
    this.#closed = true;
    this.#backoff.stop();
    if (this.#pending.size > 0) this.#reportDropped([...this.#pending], 'the cache was closed');
    this.#pending.clear();
    this.#pendingNames.clear();
  }
}

function withTrigger<Event extends ExpireEvent>(event: Event, trigger: ExpiryTrigger | undefined): Event {
  if (trigger !== undefined) event.trigger = trigger;
  return event;
}

function messageOf(error: unknown): string {
  return String((error as Error)?.message ?? error);
}

function describeExpiry(event: ExpireEvent): string {
  const names = [...event.groups.map((g) => `group ${JSON.stringify(g)}`), ...event.keys.map((k) => `key ${JSON.stringify(k)}`)];
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}
