/**
 * The tiered store: an in-process tier (a memory store, bounded in bytes) in front of a Redis store. A hit the
 * process already holds costs no network round trip; every group and key expiry still reaches every instance.
 *
 * How it stays correct:
 * - The Redis store publishes each expiry on a stream (`<prefix>stream`) inside the very script that records it, so
 *   an expiry never lands without its message; each message carries a sequence number (`INCR`), the stamp (Redis
 *   `TIME`) and the epoch. Each tiered store follows the stream (stream-follower.ts, which says why the tier may
 *   trust it) and keeps, per tag, the latest expiry stamp seen, plus a floor, the epoch (tier-records.ts).
 * - An entry in the tier is judged as the memory store judges its own: by its fill stamp (`startedAt`, Redis
 *   clock) against the expiry stamps of its tags and the floor, never by when a message arrived. An entry read
 *   from Redis just before its expiry's message arrives is therefore dropped when the message comes, whichever of
 *   the two the process handled first. An entry read from Redis joins the tier only if the follower already
 *   followed the stream when the read was sent, and nothing was dropped meanwhile.
 * - Read-your-writes: `expire()` applies the stamp Redis recorded to this process's tier before it returns, so the
 *   write's response never leaves before its own instance stops serving the old copy.
 * - `strict`: every hit of the tier is confirmed in Redis (tier-confirm.ts). Then no instance serves a copy after
 *   the response of a write on another instance.
 *
 * A lookup the tier answers is synchronous. Its `stamp` is a lower bound of Redis's clock (the last stamp Redis
 * sent, advanced by the time elapsed since, less a drift allowance), so a fill dated from it is never dated late.
 *
 * On Redis Cluster (see cluster.ts for the layout and the clock rule) the same guarantees hold, per bucket:
 * - Each of the 16 buckets has its own stream and sequence counter in its slot (a script may not reach another
 *   slot, so there is no global stream); the script that records an expiry in a bucket publishes it there, with the
 *   bucket's epoch after the write. A clear() publishes a message with no tag on every bucket, and so does pruning
 *   that raised a bucket's epoch with no tag of its own; either only raises that bucket's floor.
 * - An entry is judged against the floors (epochs) of its own bucket and of each of its tags' buckets, and the
 *   records of its tags: the comparison the cluster store makes, with the same stamps (an entry's startedAt from its
 *   bucket's node, records `clockSkew` ahead of theirs), so the tier never calls valid what the store would not.
 * - Read-your-writes: `expire()` records each tag with the stamp its own bucket answered. Those stamps are ahead of
 *   the nodes' clocks (by `clockSkew`), so they are never taken as a reading of the clock.
 */

import { checkOptionNames, positiveOption } from '../../core/options.js';
import type { CachedEntry, CacheStore, EvictionReason, PeekLookup, StoreLookup, StoreStats } from '../contract.js';
import { MemoryStore, type MemoryStoreOptions } from '../memory-store.js';
import { type StoreClient, storeClient } from './client.js';
import { bucketOf, type ClusterLayout } from './cluster.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import { SCRIPTS } from './scripts.js';
import type { RedisStore } from './store.js';
import { streamConnection } from './stream-connection.js';
import { StreamFollower } from './stream-follower.js';
import { TierConfirm } from './tier-confirm.js';
import { TierRecords } from './tier-records.js';
import { wire } from './wire.js';

/** Options of the in-process tier: those of {@link MemoryStore} about entries. */
export type TierOptions = Pick<MemoryStoreOptions, 'maxBytes' | 'maxEntries' | 'maxEntryBytes' | 'now'>;

/** Options of {@link tieredStore}. */
export interface TieredStoreOptions {
  /**
   * The Redis store behind the tier: `redisStore({ client, prefix })`, ioredis, node-redis or an ioredis `Cluster`.
   * The tiered store owns it from then on, and reads the expiry stream on a second connection it opens with the
   * client's `duplicate()`; on a cluster it polls the 16 buckets' streams on the client itself.
   */
  redis: RedisStore;
  /** The in-process tier: `maxBytes` (default 64 MiB), `maxEntries`, `maxEntryBytes`, `now` (default `Date.now`, the cache's clock for TTLs). */
  l1?: TierOptions;
  /**
   * The longest time, in ms, after an expiry landed in Redis during which another instance may still serve the old
   * copy from its tier. Past it without proof that the reader is caught up (Redis slow, connection lost), the tier
   * is bypassed. On Redis Cluster the reader polls every `min(maxLag / 4, 25)` ms. Default 1,000.
   */
  maxLag?: number;
  /** Confirm every hit of the tier with one small Redis call (no body): no lag at all across instances. Default false. */
  strict?: boolean;
  /** Bound on the expiry records the tier keeps; past it the oldest go and the floor rises over them. Default 100,000. */
  maxRecords?: number;
}

/** What a tiered store counts, beside {@link StoreStats}. */
export interface TierStats {
  /** Lookups the tier answered (confirmed ones included). */
  tierHits: number;
  /** Tier hits confirmed by Redis (strict mode). */
  confirmed: number;
  /** Lookups sent to Redis. */
  redisReads: number;
  /** Times the whole tier was dropped: a sequence gap, Redis lost the stream, or a `clear()`. */
  flushes: number;
  /** Stream messages applied. */
  messages: number;
  /** Whether the tier may answer now (the reader is caught up within `maxLag`). */
  serving: boolean;
}

const OPTION_NAMES = Object.keys({
  redis: true,
  l1: true,
  maxLag: true,
  strict: true,
  maxRecords: true,
} satisfies Record<keyof TieredStoreOptions, true>);

// The checks that come before any option is read.
function checkOptions(options: TieredStoreOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, OPTION_NAMES, 'tieredStore()');
  const redis = options.redis as unknown;
  if (typeof redis !== 'object' || redis === null || typeof (redis as RedisStore).entryKey !== 'function') {
    throw new TypeError('option redis must be a redisStore()');
  }
  if (options.l1 !== undefined && (typeof options.l1 !== 'object' || options.l1 === null)) {
    throw new TypeError('option l1 must be an object');
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean') throw new TypeError('option strict must be a boolean');
}

/** See the top of this file. */
export class TieredStore implements CacheStore {
  readonly name = 'tiered';
  readonly #redis: RedisStore;
  readonly #client: StoreClient;
  readonly #layout: ClusterLayout | undefined;
  readonly #tierOptions: TierOptions;
  readonly #now: () => number;
  readonly #strict: boolean;
  #tier: MemoryStore;
  readonly #records: TierRecords;
  readonly #follower: StreamFollower;
  readonly #confirm: TierConfirm;
  // Bumped whenever the tier is dropped: a Redis read sent before must not fill the new tier.
  #generation = 0;
  #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;
  readonly #counts = { tierHits: 0, confirmed: 0, redisReads: 0, flushes: 0 };

  constructor(options: TieredStoreOptions) {
    checkOptions(options);
    const raw = options as unknown as Record<string, unknown>;
    this.#redis = options.redis;
    this.#tierOptions = { ...options.l1 };
    this.#tier = new MemoryStore(this.#tierOptions);
    this.#now = this.#tierOptions.now ?? Date.now;
    const maxLag = positiveOption(raw, 'maxLag', 1_000);
    this.#strict = options.strict ?? false;
    const layout = this.#redis.layout;
    this.#layout = layout;
    this.#records = new TierRecords(layout, positiveOption(raw, 'maxRecords', 100_000, true));
    const records = this.#records;
    const drop = (): void => this.#drop();
    const entryKey = (id: string): string => this.#redis.entryKey(id);
    if (layout === undefined) {
      const keys = this.#redis.streamKeys;
      const connection = streamConnection(this.#redis.client, [SCRIPTS.streamState]);
      this.#client = storeClient(this.#redis.client, [SCRIPTS.confirm]);
      this.#confirm = new TierConfirm(this.#client, records, entryKey, { keys });
      this.#follower = new StreamFollower({ records, drop, maxLag, client: this.#client, stream: { keys, connection } });
    } else {
      // Polling holds no connection, so the rounds share the store's cluster client.
      this.#client = storeClient(this.#redis.client, [SCRIPTS.confirm, CLUSTER_SCRIPTS.confirm, CLUSTER_SCRIPTS.poll]);
      this.#confirm = new TierConfirm(this.#client, records, entryKey, { layout });
      this.#follower = new StreamFollower({ records, drop, maxLag, client: this.#client, layout });
    }
  }

  get(id: string): StoreLookup | Promise<StoreLookup> {
    if (this.#follower.serving()) {
      const entry = this.#tier.get(id).entry;
      if (entry !== undefined) {
        const expiredAt = this.#records.expiredAt(id, entry);
        if (expiredAt < entry.startedAt && this.#now() < entry.freshUntil) {
          if (this.#strict) return this.#confirmed(id, entry, expiredAt);
          this.#counts.tierHits++;
          return { entry, expiredAt, stamp: this.#records.stamp() };
        }
      }
    }
    return this.#read(id);
  }

  // Strict: the hit, once Redis confirmed it; else the lookup goes to Redis.
  async #confirmed(id: string, entry: CachedEntry, expiredAt: number): Promise<StoreLookup> {
    const now = await this.#confirm.ask(id, entry);
    if (now > 0) {
      this.#counts.tierHits++;
      this.#counts.confirmed++;
      return { entry, expiredAt, stamp: now };
    }
    this.#tier.delete(id);
    return this.#read(id);
  }

  async #read(id: string): Promise<StoreLookup> {
    this.#counts.redisReads++;
    const generation = this.#generation;
    const following = this.#follower.following();
    const lookup = await this.#redis.get(id);
    this.#records.sample(lookup.stamp);
    const entry = lookup.entry;
    if (entry !== undefined && lookup.expiredAt < entry.startedAt && following && generation === this.#generation) {
      this.#keep(id, entry);
    }
    return lookup;
  }

  /*
   * Puts an entry Redis holds as valid into the tier, unless a message this process already applied dooms it. Only
   * once the follower knows Redis's epoch: losing it is how a restart or a flush shows when no message follows.
   */
  #keep(id: string, entry: CachedEntry): void {
    if (!this.#epochsKnown(id, entry) || this.#records.expiredAt(id, entry) >= entry.startedAt) return;
    if (this.#tier.set(id, entry)) this.#records.kept(entry.staleUntil - entry.storedAt);
  }

  // Whether the follower knows the epoch of every bucket that judges the entry (on a cluster, a bucket whose epoch
  // is missing stops only the entries it judges from joining the tier).
  #epochsKnown(id: string, entry: CachedEntry): boolean {
    if (this.#layout === undefined) return this.#follower.epochKnown(0);
    return this.#records.plan(id, entry).buckets.every((n) => this.#follower.epochKnown(n));
  }

  set(id: string, entry: CachedEntry): Promise<boolean> {
    return this.#write(id, entry, () => this.#redis.set(id, entry));
  }

  /** As {@link set}, releasing the fill lock `token` holds in the same call (RedisStore.setAndUnlock). */
  setAndUnlock(id: string, entry: CachedEntry, token: string): Promise<boolean> {
    return this.#write(id, entry, () => this.#redis.setAndUnlock(id, entry, token));
  }

  async #write(id: string, entry: CachedEntry, send: () => Promise<boolean>): Promise<boolean> {
    const generation = this.#generation;
    const following = this.#follower.following();
    // Let go of the copy this write replaces before sending it: a lookup meanwhile goes to Redis, behind the write
    // on the same connection, instead of answering the old copy from the tier (a refresh, then a read).
    this.#tier.delete(id);
    const stored = await send();
    if (stored && following && generation === this.#generation) this.#keep(id, entry);
    return stored;
  }

  /** Records the expiry in Redis (which publishes it), then applies it to this process's tier before answering. */
  async expire(tags: readonly string[]): Promise<number | undefined> {
    const layout = this.#layout;
    if (layout !== undefined) {
      // Each tag with its own bucket's stamp. Not sampled: they are clockSkew ahead of their nodes' clocks.
      const stamps = await this.#redis.expireStamps(tags);
      const byBucket = new Map<number, string[]>();
      for (const tag of tags) {
        const n = bucketOf(wire(tag));
        const group = byBucket.get(n);
        if (group === undefined) byBucket.set(n, [tag]);
        else group.push(tag);
      }
      for (const [n, group] of byBucket) {
        const stamp = stamps.get(n);
        if (stamp !== undefined) this.#records.record(group, stamp);
      }
      return layout.sameClock && stamps.size > 0 ? Math.max(...stamps.values()) : undefined;
    }
    const stamp = await this.#redis.expire(tags);
    if (typeof stamp === 'number') {
      this.#records.sample(stamp);
      this.#records.record(tags, stamp);
    }
    return stamp;
  }

  async delete(id: string): Promise<boolean> {
    this.#tier.delete(id);
    return this.#redis.delete(id);
  }

  async clear(): Promise<number | undefined> {
    const stamp = await this.#redis.clear();
    this.#drop();
    // On a cluster each bucket's new epoch comes with its message; one node answers its own.
    if (typeof stamp === 'number' && this.#layout === undefined) {
      this.#records.sample(stamp);
      this.#records.raiseFloor(0, stamp);
    }
    return stamp;
  }

  /** Inspection reads Redis, which holds the truth the tier copies. */
  peek(id: string): Promise<PeekLookup> {
    return this.#redis.peek(id);
  }

  lockFill(id: string, ms: number, within?: number): Promise<string | undefined> {
    return this.#redis.lockFill(id, ms, within);
  }

  unlockFill(id: string, token: string): Promise<void> {
    return this.#redis.unlockFill(id, token);
  }

  /** Numbers of the in-process tier (entries, bytes, evictions, records). */
  stats(): StoreStats {
    const tier = this.#tier.stats();
    return { ...tier, records: this.#records.size };
  }

  /** What the tier did: hits it answered, reads sent to Redis, drops, messages, and whether it serves now. */
  tierStats(): TierStats {
    return { ...this.#counts, messages: this.#follower.messages, serving: this.#follower.serving() };
  }

  onEvict(listener: (key: string, reason: EvictionReason) => void): void {
    this.#onEvict = listener;
    this.#tier.onEvict(listener);
  }

  /** Stops the follower, drops the tier and closes the Redis store (whose client stays connected). */
  async close(): Promise<void> {
    this.#follower.close();
    this.#client.release();
    this.#redis.close();
    await this.#follower.done;
    this.#drop();
  }

  #drop(): void {
    this.#generation++;
    this.#counts.flushes++;
    this.#tier = new MemoryStore(this.#tierOptions);
    if (this.#onEvict !== undefined) this.#tier.onEvict(this.#onEvict);
    this.#records.clear();
  }
}

/**
 * Creates a tiered store: an in-process tier in front of a Redis store, kept in sync through the expiry stream.
 *
 * ```js
 * const store = tieredStore({ redis: redisStore({ client: new Redis(url), prefix: 'gc:' }), l1: { maxBytes: 64 * 2 ** 20 } });
 * const cache = createCache({ store });
 * ```
 */
export function tieredStore(options: TieredStoreOptions): TieredStore {
  return new TieredStore(options);
}
