/**
 * The tiered store: an in-process tier (a memory store, bounded in bytes) in front of a Redis store. A hit the
 * process already holds costs no network round trip; every group and key expiry still reaches every instance.
 *
 * How it stays correct:
 * - The Redis store publishes each expiry on a stream (`<prefix>stream`) inside the very script that records it, so
 *   an expiry never lands without its message; each message carries a sequence number (`INCR`), the stamp (Redis
 *   `TIME`) and the epoch. Each tiered store reads the stream on a connection of its own (`XREAD BLOCK`) and keeps,
 *   per tag, the latest expiry stamp seen, plus a floor (the epoch).
 * - An entry in the tier is judged as the memory store judges its own: by its fill stamp (`startedAt`, Redis
 *   clock) against the expiry stamps of its tags and the floor, never by when a message arrived. An entry read
 *   from Redis just before its expiry's message arrives is therefore dropped when the message comes, whichever of
 *   the two the process handled first.
 * - Lossless: the tier serves only while the reader has proved, less than `maxLag` ms ago, that it had every
 *   message published up to some moment. After each read the reader asks Redis for the last sequence number
 *   (`streamState`, atomic with the epoch and the stream's last id); it is caught up as of that request once it
 *   holds every message up to that number. A number skipped (the stream was trimmed past its position) or going
 *   back (Redis restarted or was flushed), or the epoch lost (records lost, or held by another server process than
 *   the one that wrote them: a restart from a snapshot, a failover; see check_run in lua.ts) drops the
 *   whole tier and starts again from Redis's state; a dropped connection bypasses the tier at once. An entry read
 *   from Redis joins the tier only if the reader already followed the stream when the read was sent, and nothing
 *   was dropped meanwhile.
 * - Read-your-writes: `expire()` applies the stamp Redis recorded to this process's tier before it returns, so the
 *   write's response never leaves before its own instance stops serving the old copy.
 * - `strict`: every hit of the tier is confirmed by one small script that checks, in Redis, that the same fill is
 *   held and that none of its tags (nor the epoch) was expired since it started; the body does not travel. Then no
 *   instance serves a copy after the response of a write on another instance.
 *
 * A lookup the tier answers is synchronous. Its `stamp` is a lower bound of Redis's clock (the last stamp Redis
 * sent, advanced by the time elapsed since, less a drift allowance), so a fill dated from it is never dated late.
 *
 * On Redis Cluster (see cluster.ts for the layout and the clock rule) the same guarantees hold, per bucket:
 * - Each of the 16 buckets has its own stream and sequence counter in its slot (a script may not reach another
 *   slot, so there is no global stream); the script that records an expiry in a bucket publishes it there, with the
 *   bucket's epoch after the write. A clear() publishes a message with no tag on every bucket, and so does pruning
 *   that raised a bucket's epoch with no tag of its own; either only raises that bucket's floor.
 * - XREAD over several slots is CROSSSLOT, and a blocking XREAD per bucket would hold 16 connections, so the reader
 *   polls: each round sends one script per bucket, in parallel over the store's client, that answers atomically the
 *   node's clock, the bucket's epoch, its last sequence number and last message id, and the messages after the
 *   reader's cursor (`CLUSTER_SCRIPTS.poll`). Once every bucket answered with nothing missing, the reader is caught
 *   up as of when the round was sent. A sequence number skipped or going back, a stream that does not end at the
 *   reader's cursor, or an epoch going back (records lost) in any bucket drops the whole tier, and the reader starts
 *   again from every bucket's state. A round that fails or takes longer than `maxLag` proves nothing: a node out of
 *   reach makes the tier bypassed once the last proof is `maxLag` old. Rounds are `min(maxLag / 4, 25)` ms apart,
 *   so an expiry reaches the tier within that plus one round trip (the slowest bucket's), and `maxLag` at most.
 * - An entry is judged against the floors (epochs) of its own bucket and of each of its tags' buckets, and the
 *   records of its tags: the comparison the cluster store makes, with the same stamps (an entry's startedAt from its
 *   bucket's node, records `clockSkew` ahead of theirs), so the tier never calls valid what the store would not.
 * - Read-your-writes: `expire()` records each tag with the stamp its own bucket answered. Those stamps are ahead of
 *   the nodes' clocks (by `clockSkew`), so they are never taken as a reading of the clock.
 * - `strict`: the confirmation runs on the entry's bucket (same fill held, epoch, its tags there) and on each other
 *   bucket of its tags (epoch, its tags there): one script per bucket involved, in parallel.
 */

import { performance } from 'node:perf_hooks';
import { checkOptionNames, positiveOption } from '../../core/options.js';
import type { CachedEntry, CacheStore, EvictionReason, PeekLookup, StoreLookup, StoreStats } from '../contract.js';
import { MemoryStore, type MemoryStoreOptions } from '../memory-store.js';
import { type StoreClient, storeClient } from './client.js';
import { BUCKETS, bucketOf, type ClusterLayout } from './cluster.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import { SCRIPTS } from './scripts.js';
import type { RedisStore } from './store.js';
import { type StreamConnection, type StreamMessage, streamConnection } from './stream-connection.js';
import { unwire, wire } from './wire.js';

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

/** Where the cluster reader stands in one bucket's stream. */
interface BucketCursor {
  /** The id of the last message applied; undefined until the reader has read the bucket's state. */
  cursor: string | undefined;
  sequence: number;
}

/** What the cluster poll script answers for one bucket (see CLUSTER_SCRIPTS.poll). */
type PollReply = [now: number, epoch: number, sequence: number, lastId: string, messages: StreamMessage[]];

/** On a cluster, per entry: its id, the buckets whose floors judge it (its own first), and its tags by bucket. */
interface Plan {
  id: string;
  buckets: number[];
  groups: Array<[bucket: number, tags: string[]]>;
}

interface PendingConfirm {
  entry: CachedEntry;
  waiting: Array<{ resolve(now: number): void; reject(error: Error): void }>;
}

const OPTION_NAMES = Object.keys({
  redis: true,
  l1: true,
  maxLag: true,
  strict: true,
  maxRecords: true,
} satisfies Record<keyof TieredStoreOptions, true>);

// Messages read at once; a full batch proves nothing about what follows it.
const BATCH = 1_000;
// Allowance for the two clocks drifting apart (NTP slews by at most 500 ppm): the tier's stamp stays below Redis's.
const DRIFT = 1e-3;
// On a cluster, the longest time between two poll rounds (ms); less when maxLag / 4 is less.
const POLL_INTERVAL = 25;
const NEVER = new Promise<never>(() => {});

/** See the top of this file. */
export class TieredStore implements CacheStore {
  readonly name = 'tiered';
  readonly #redis: RedisStore;
  readonly #client: StoreClient;
  // One node: the stream reader's connection and the keys it reads. Undefined on a cluster.
  readonly #stream: StreamConnection | undefined;
  readonly #keys: { records: string; sequence: string; stream: string; run: string };
  // On a cluster: the layout, each bucket's reader keys and position, and the time between two poll rounds.
  readonly #layout: ClusterLayout | undefined;
  readonly #bucketKeys: string[][] = [];
  readonly #buckets: BucketCursor[] = [];
  readonly #interval: number;
  #polling = false;
  readonly #plans = new WeakMap<CachedEntry, Plan>();
  readonly #tierOptions: TierOptions;
  readonly #now: () => number;
  readonly #maxLag: number;
  readonly #block: number;
  readonly #strict: boolean;
  readonly #maxRecords: number;
  #tier: MemoryStore;
  // Per tag, the latest expiry stamp seen (Redis clock); Map order is arrival order, pruning takes the front.
  readonly #records = new Map<string, number>();
  // The floor (the epoch, or a record dropped) of each bucket: one on one node, BUCKETS on a cluster.
  readonly #floors: number[];
  // The epoch Redis last reported, per bucket (0: none yet).
  readonly #epochs: number[];
  // The longest time an entry of the tier was kept (ms), never lowered: records older than it can be dropped.
  #longestKept = 0;
  // Reader state: the last message id and sequence number applied, undefined cursor until it has Redis's state.
  #cursor: string | undefined;
  #sequence = 0;
  // performance.now() of the last request as of which the reader held every message; -Infinity when unknown.
  #caughtUpAt = Number.NEGATIVE_INFINITY;
  // A state read that showed messages not yet read: caught up as of `at` once `sequence` is applied.
  #awaiting: { at: number; sequence: number } | undefined;
  // Bumped whenever the tier is dropped: a Redis read sent before must not fill the new tier.
  #generation = 0;
  // Lower bound of Redis's clock: a stamp and when it arrived (performance.now()).
  #clockStamp = 0;
  #clockAt = 0;
  #handedOut = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  // Resolves when the store is closed: a poll round or a pause between rounds stops waiting.
  readonly #closing = new Promise<undefined>((resolve) => {
    this.#wake = () => resolve(undefined);
  });
  readonly #running: Promise<void>;
  #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;
  readonly #counts = { tierHits: 0, confirmed: 0, redisReads: 0, flushes: 0, messages: 0 };
  readonly #wired = new WeakMap<CachedEntry, string[]>();
  // Strict: keys whose confirmation is on its way, and the one each will send next.
  readonly #sendingConfirm = new Set<string>();
  readonly #nextConfirm = new Map<string, PendingConfirm>();

  constructor(options: TieredStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    checkOptionNames(options, OPTION_NAMES, 'tieredStore()');
    const raw = options as unknown as Record<string, unknown>;
    const redis = options.redis as unknown;
    if (typeof redis !== 'object' || redis === null || typeof (redis as RedisStore).entryKey !== 'function') {
      throw new TypeError('option redis must be a redisStore()');
    }
    if (options.l1 !== undefined && (typeof options.l1 !== 'object' || options.l1 === null)) {
      throw new TypeError('option l1 must be an object');
    }
    if (options.strict !== undefined && typeof options.strict !== 'boolean')
      throw new TypeError('option strict must be a boolean');
    this.#redis = options.redis;
    this.#tierOptions = { ...options.l1 };
    this.#tier = new MemoryStore(this.#tierOptions);
    this.#now = this.#tierOptions.now ?? Date.now;
    this.#maxLag = positiveOption(raw, 'maxLag', 1_000);
    this.#block = Math.max(1, Math.floor(this.#maxLag / 4));
    this.#strict = options.strict ?? false;
    this.#maxRecords = positiveOption(raw, 'maxRecords', 100_000, true);
    this.#keys = this.#redis.streamKeys;
    const layout = this.#redis.layout;
    this.#layout = layout;
    const buckets = layout === undefined ? 1 : BUCKETS;
    this.#floors = new Array<number>(buckets).fill(0);
    this.#epochs = new Array<number>(buckets).fill(0);
    this.#interval = Math.max(1, Math.min(POLL_INTERVAL, Math.floor(this.#maxLag / 4)));
    if (layout === undefined) {
      const stream = streamConnection(this.#redis.client, [SCRIPTS.streamState]);
      this.#stream = stream;
      this.#client = storeClient(this.#redis.client, [SCRIPTS.confirm]);
      stream.onDown(() => {
        this.#caughtUpAt = Number.NEGATIVE_INFINITY;
        this.#awaiting = undefined;
      });
      this.#running = this.#follow(stream);
    } else {
      // Polling holds no connection, so the rounds share the store's cluster client.
      this.#stream = undefined;
      this.#client = storeClient(this.#redis.client, [SCRIPTS.confirm, CLUSTER_SCRIPTS.confirm, CLUSTER_SCRIPTS.poll]);
      for (let n = 0; n < BUCKETS; n++) {
        const { records, sequence, stream, run } = layout.streamKeys(n);
        this.#bucketKeys.push([records, sequence, stream, run]);
        this.#buckets.push({ cursor: undefined, sequence: 0 });
      }
      this.#running = this.#poll();
    }
  }

  /** True while the tier may answer: the reader is caught up as of less than `maxLag` ms ago. */
  #serving(): boolean {
    return performance.now() - this.#caughtUpAt <= this.#maxLag;
  }

  // The latest expiry stamp among the entry's tags, the floors that judge it included.
  #expiredAt(id: string, entry: CachedEntry): number {
    let latest = this.#layout === undefined ? this.#floors[0]! : this.#bucketFloor(id, entry);
    for (const tag of entry.tags) {
      const stamp = this.#records.get(tag);
      if (stamp !== undefined && stamp > latest) latest = stamp;
    }
    return latest;
  }

  // On a cluster: the highest floor among the entry's own bucket and its tags' buckets.
  #bucketFloor(id: string, entry: CachedEntry): number {
    let latest = 0;
    for (const n of this.#plan(id, entry).buckets) {
      const floor = this.#floors[n]!;
      if (floor > latest) latest = floor;
    }
    return latest;
  }

  // Computed once per entry (the tier holds an entry under one id; another id computes it again).
  #plan(id: string, entry: CachedEntry): Plan {
    let plan = this.#plans.get(entry);
    if (plan === undefined || plan.id !== id) {
      const groups = new Map<number, string[]>([[this.#layout!.home(id), []]]);
      for (const tag of entry.tags) {
        const sent = wire(tag);
        const n = bucketOf(sent);
        const group = groups.get(n);
        if (group === undefined) groups.set(n, [sent]);
        else group.push(sent);
      }
      plan = { id, buckets: [...groups.keys()], groups: [...groups] };
      this.#plans.set(entry, plan);
    }
    return plan;
  }

  // The bucket whose floor a tag's record belongs to.
  #bucketOfTag(tag: string): number {
    return this.#layout === undefined ? 0 : bucketOf(wire(tag));
  }

  get(id: string): StoreLookup | Promise<StoreLookup> {
    if (this.#serving()) {
      const entry = this.#tier.get(id).entry;
      if (entry !== undefined) {
        const expiredAt = this.#expiredAt(id, entry);
        if (expiredAt < entry.startedAt && this.#now() < entry.freshUntil) {
          if (this.#strict) return this.#confirm(id, entry, expiredAt);
          this.#counts.tierHits++;
          return { entry, expiredAt, stamp: this.#stamp() };
        }
      }
    }
    return this.#read(id);
  }

  /*
   * Strict: the lookup waits for a confirmation sent after it arrived, so an expiry that landed before the request
   * (before a write's response its client saw) is always seen. Lookups of one key that arrive while its confirmation
   * is on its way share the next one, sent when that one answers: one call serves a burst of hits.
   */
  async #confirm(id: string, entry: CachedEntry, expiredAt: number): Promise<StoreLookup> {
    let next = this.#nextConfirm.get(id);
    if (next === undefined) {
      next = { entry, waiting: [] };
      this.#nextConfirm.set(id, next);
      // Sent at the end of this tick (lookups of this tick join it), or when the one on its way answers.
      if (!this.#sendingConfirm.has(id)) queueMicrotask(() => this.#sendConfirm(id));
    } else if (next.entry !== entry) {
      // The tier holds another fill of the key now: confirm this one alone.
      next = { entry, waiting: [] };
      this.#runConfirm(id, next);
    }
    const waiting = next.waiting;
    const now = await new Promise<number>((resolve, reject) => {
      waiting.push({ resolve, reject });
    });
    if (now > 0) {
      this.#counts.tierHits++;
      this.#counts.confirmed++;
      return { entry, expiredAt, stamp: now };
    }
    this.#tier.delete(id);
    return this.#read(id);
  }

  #sendConfirm(id: string): void {
    const confirm = this.#nextConfirm.get(id);
    if (confirm === undefined) return;
    this.#nextConfirm.delete(id);
    this.#sendingConfirm.add(id);
    this.#runConfirm(id, confirm, () => {
      this.#sendingConfirm.delete(id);
      this.#sendConfirm(id);
    });
  }

  #runConfirm(id: string, confirm: PendingConfirm, then?: () => void): void {
    this.#confirmCall(id, confirm.entry).then(
      (now) => {
        then?.();
        for (const waiter of confirm.waiting) waiter.resolve(now);
      },
      (error: unknown) => {
        then?.();
        for (const waiter of confirm.waiting) waiter.reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  // The confirmation script: Redis's clock when the fill is still held and valid, 0 when not.
  async #confirmCall(id: string, entry: CachedEntry): Promise<number> {
    const status = this.#client.unavailable();
    if (status !== undefined) throw new Error(`redis client is not ready (status ${status})`);
    if (this.#layout !== undefined) return this.#confirmOnCluster(id, entry);
    let tags = this.#wired.get(entry);
    if (tags === undefined) {
      tags = entry.tags.map(wire);
      this.#wired.set(entry, tags);
    }
    const args = [this.#redis.entryKey(id), this.#keys.records, this.#keys.run, String(entry.startedAt), ...tags];
    const [now, held] = (await this.#client.run(SCRIPTS.confirm, args)) as [number, number];
    this.#sample(now);
    return held === 1 ? now : 0;
  }

  // The entry's own bucket (the fill held, its epoch, its tags there) and each other bucket of its tags, in parallel.
  async #confirmOnCluster(id: string, entry: CachedEntry): Promise<number> {
    const started = String(entry.startedAt);
    const replies = (await Promise.all(
      this.#plan(id, entry).groups.map(([n, tags], i) => {
        const records = this.#bucketKeys[n]![0]!;
        const run = this.#bucketKeys[n]![3]!;
        return i === 0
          ? this.#client.run(SCRIPTS.confirm, [this.#redis.entryKey(id), records, run, started, ...tags])
          : this.#client.run(CLUSTER_SCRIPTS.confirm, [records, run, started, ...tags]);
      }),
    )) as Array<[number, number]>;
    for (const [now] of replies) this.#sample(now);
    // The stamp of the lookup: the clock of the entry's own node, as a lookup in the cluster store answers.
    return replies.every(([, held]) => held === 1) ? replies[0]![0] : 0;
  }

  async #read(id: string): Promise<StoreLookup> {
    this.#counts.redisReads++;
    const generation = this.#generation;
    const following = this.#following();
    const lookup = await this.#redis.get(id);
    this.#sample(lookup.stamp);
    const entry = lookup.entry;
    if (entry !== undefined && lookup.expiredAt < entry.startedAt && following && generation === this.#generation) {
      this.#keep(id, entry);
    }
    return lookup;
  }

  /*
   * Puts an entry Redis holds as valid into the tier, unless a message this process already applied dooms it. Only
   * once the reader knows Redis's epoch: losing it is how a restart or a flush shows when no message follows.
   */
  #keep(id: string, entry: CachedEntry): void {
    if (!this.#epochsKnown(id, entry) || this.#expiredAt(id, entry) >= entry.startedAt) return;
    if (this.#tier.set(id, entry)) {
      const kept = entry.staleUntil - entry.storedAt;
      if (kept > this.#longestKept) this.#longestKept = kept;
    }
  }

  // Whether the reader knows the epoch of every bucket that judges the entry (on a cluster, a bucket whose epoch is
  // missing stops only the entries it judges from joining the tier).
  #epochsKnown(id: string, entry: CachedEntry): boolean {
    if (this.#layout === undefined) return this.#epochs[0]! > 0;
    return this.#plan(id, entry).buckets.every((n) => this.#epochs[n]! > 0);
  }

  async set(id: string, entry: CachedEntry): Promise<boolean> {
    const generation = this.#generation;
    const following = this.#following();
    // Let go of the copy this write replaces before sending it: a lookup meanwhile goes to Redis, behind the write
    // on the same connection, instead of answering the old copy from the tier (a refresh, then a read).
    this.#tier.delete(id);
    const stored = await this.#redis.set(id, entry);
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
        if (stamp !== undefined) this.#record(group, stamp);
      }
      return layout.sameClock && stamps.size > 0 ? Math.max(...stamps.values()) : undefined;
    }
    const stamp = await this.#redis.expire(tags);
    if (typeof stamp === 'number') {
      this.#sample(stamp);
      this.#record(tags, stamp);
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
      this.#sample(stamp);
      this.#raiseFloor(0, stamp);
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
    return { ...this.#counts, serving: this.#serving() };
  }

  onEvict(listener: (key: string, reason: EvictionReason) => void): void {
    this.#onEvict = listener;
    this.#tier.onEvict(listener);
  }

  /** Stops the reader, drops the tier and closes the Redis store (whose client stays connected). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#stream?.close();
    this.#client.release();
    this.#redis.close();
    await this.#running;
    this.#drop();
  }

  // --- the reader ---

  // Whether the reader follows every stream: a read sent now may fill the tier.
  #following(): boolean {
    return this.#layout === undefined ? this.#cursor !== undefined : this.#polling;
  }

  async #follow(stream: StreamConnection): Promise<void> {
    while (!this.#closed) {
      try {
        if (!stream.ready()) {
          this.#caughtUpAt = Number.NEGATIVE_INFINITY;
          await stream.waitReady(this.#block);
          continue;
        }
        if (this.#cursor === undefined) {
          await this.#checkState(stream);
          continue;
        }
        const messages = await stream.read(this.#keys.stream, this.#cursor, BATCH, this.#block);
        for (const message of messages) {
          if (!this.#apply(message)) break;
        }
        if (this.#cursor === undefined) continue;
        // A state read promised messages that a later read did not find: the stream lost them.
        if (messages.length === 0 && this.#awaiting !== undefined && this.#sequence < this.#awaiting.sequence) {
          this.#restart();
          continue;
        }
        if (messages.length < BATCH) await this.#checkState(stream);
      } catch {
        if (this.#closed) break;
        this.#caughtUpAt = Number.NEGATIVE_INFINITY;
        this.#awaiting = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.#block, 50)));
      }
    }
  }

  // Reads Redis's state: where the stream stands and the epoch. Starts following it when not yet (or again).
  async #checkState(reader: StreamConnection): Promise<void> {
    const at = performance.now();
    const { records, sequence, stream, run } = this.#keys;
    const [now, epoch, last, lastId] = (await reader.run(SCRIPTS.streamState, [records, sequence, stream, run])) as [
      number,
      number,
      number,
      string,
    ];
    this.#sample(now);
    this.#raiseFloor(0, epoch);
    // The epoch gone: Redis lost its records (restart, flush, eviction). The next lookup makes a new one above every
    // stamp the tier holds; until then nothing says so, so the tier goes now.
    const epochLost = epoch === 0 && this.#epochs[0]! > 0;
    this.#epochs[0] = epoch;
    if (this.#cursor === undefined || last < this.#sequence || epochLost) {
      // First start, after a gap, or the counter or the epoch went back (Redis restarted or was flushed): nothing
      // the tier holds can be vouched for.
      if (this.#cursor !== undefined) this.#drop();
      this.#cursor = lastId;
      this.#sequence = last;
      this.#awaiting = undefined;
      this.#caughtUpAt = at;
      return;
    }
    if (this.#sequence >= last) {
      this.#awaiting = undefined;
      this.#caughtUpAt = at;
    } else {
      this.#awaiting = { at, sequence: last };
    }
  }

  // Applies one message; false (and the tier dropped) when its sequence number shows messages were missed.
  #apply([id, fields]: StreamMessage): boolean {
    const { sequence, stamp, epoch, tags } = parse(fields);
    if (sequence !== this.#sequence + 1) {
      this.#restart();
      return false;
    }
    this.#counts.messages++;
    this.#sequence = sequence;
    this.#cursor = id;
    this.#raiseFloor(0, epoch);
    if (epoch > 0) this.#epochs[0] = epoch;
    // A clear(): everything the tier holds is gone from Redis.
    if (tags.length === 0) this.#drop();
    else this.#record(tags, stamp);
    const awaiting = this.#awaiting;
    if (awaiting !== undefined && sequence >= awaiting.sequence) {
      this.#awaiting = undefined;
      if (awaiting.at > this.#caughtUpAt) this.#caughtUpAt = awaiting.at;
    }
    return true;
  }

  // --- the reader on a cluster: poll rounds ---

  async #poll(): Promise<void> {
    while (!this.#closed) {
      let again = false;
      if (this.#client.unavailable() !== undefined) {
        this.#caughtUpAt = Number.NEGATIVE_INFINITY;
      } else {
        const at = performance.now();
        try {
          const round = Promise.all(
            this.#bucketKeys.map(
              (keys, n) =>
                this.#client.run(CLUSTER_SCRIPTS.poll, [
                  ...keys,
                  this.#buckets[n]!.cursor ?? '',
                  String(BATCH),
                ]) as Promise<PollReply>,
            ),
          );
          // Past maxLag, the proof this round would bring is worthless when it comes: give up on it.
          const replies = await this.#within(round, this.#maxLag);
          if (replies !== undefined && !this.#closed) again = this.#applyRound(at, replies);
        } catch {
          // A node out of reach: no proof this round; the tier goes once the last one is maxLag old.
        }
      }
      if (!again) await this.#within(NEVER, this.#interval);
    }
  }

  // `work`'s result, or undefined once `ms` passed or the store closed.
  async #within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([work, timeout, this.#closing]);
    } finally {
      clearTimeout(timer);
    }
  }

  /*
   * Applies one round (a reply per bucket, sent at `at`). Answers true when a bucket had more messages than one
   * reply carries (poll again at once). Any sign of a message missed, or of records lost, drops the tier.
   */
  #applyRound(at: number, replies: readonly PollReply[]): boolean {
    let more = false;
    for (let n = 0; n < replies.length; n++) {
      const [now, epoch, last, lastId, messages] = replies[n]!;
      const bucket = this.#buckets[n]!;
      this.#sample(now);
      if (bucket.cursor === undefined) {
        // First round, or the first after a drop: follow from here.
        bucket.cursor = lastId;
        bucket.sequence = last;
        this.#epochs[n] = epoch;
        this.#raiseFloor(n, epoch);
        continue;
      }
      for (const [id, fields] of messages) {
        const message = parse(fields);
        if (message.sequence !== bucket.sequence + 1) {
          this.#restart();
          return false;
        }
        this.#counts.messages++;
        bucket.sequence = message.sequence;
        bucket.cursor = id;
        this.#raiseFloor(n, message.epoch);
        if (message.epoch > this.#epochs[n]!) this.#epochs[n] = message.epoch;
        // A message with no tag (a clear(), or pruning that raised the epoch) only raises the floor: with every
        // bucket's floor raised, a clear() leaves nothing the tier holds valid.
        if (message.tags.length > 0) this.#record(message.tags, message.stamp);
      }
      if (messages.length >= BATCH) {
        more = true;
        continue;
      }
      // Nothing missing: the counter stands at the last message applied, the stream ends there, and the epoch (read
      // after those messages) did not go back. Else a message was trimmed, the counter or the stream was lost, or
      // the records were (the epoch missing or made again lower).
      if (last !== bucket.sequence || lastId !== bucket.cursor || epoch < this.#epochs[n]!) {
        this.#restart();
        return false;
      }
      this.#epochs[n] = epoch;
      this.#raiseFloor(n, epoch);
    }
    this.#polling = true;
    if (!more && at > this.#caughtUpAt) this.#caughtUpAt = at;
    return more;
  }

  // Messages were missed: drop the tier and follow again from Redis's state.
  #restart(): void {
    this.#drop();
    this.#cursor = undefined;
    this.#awaiting = undefined;
    this.#polling = false;
    for (const bucket of this.#buckets) bucket.cursor = undefined;
    this.#caughtUpAt = Number.NEGATIVE_INFINITY;
  }

  #drop(): void {
    this.#generation++;
    this.#counts.flushes++;
    this.#tier = new MemoryStore(this.#tierOptions);
    if (this.#onEvict !== undefined) this.#tier.onEvict(this.#onEvict);
    this.#records.clear();
  }

  #raiseFloor(bucket: number, epoch: number): void {
    if (epoch > this.#floors[bucket]!) this.#floors[bucket] = epoch;
  }

  #record(tags: readonly string[], stamp: number): void {
    for (const tag of tags) {
      const previous = this.#records.get(tag);
      if (previous !== undefined) {
        if (previous >= stamp) continue;
        this.#records.delete(tag);
      }
      this.#records.set(tag, stamp);
    }
    // A record older than the longest-kept entry can match none left; one over the bound goes early. Either way
    // the floor rises over it, so dropping a record never makes an entry fresher.
    const cutoff = this.#longestKept === 0 ? 0 : this.#clock(performance.now()) - this.#longestKept * 1000;
    for (const [tag, at] of this.#records) {
      if (this.#records.size <= this.#maxRecords && at >= cutoff) break;
      this.#records.delete(tag);
      this.#raiseFloor(this.#bucketOfTag(tag), at);
    }
  }

  // --- Redis's clock, from below ---

  #clock(at: number): number {
    return this.#clockStamp + Math.floor((at - this.#clockAt) * 1000 * (1 - DRIFT));
  }

  #sample(stamp: number): void {
    const at = performance.now();
    if (stamp >= this.#clock(at)) {
      this.#clockStamp = stamp;
      this.#clockAt = at;
    }
  }

  // A stamp for a lookup the tier answered: never above Redis's clock, never below one handed out before.
  #stamp(): number {
    const now = this.#clock(performance.now());
    if (now > this.#handedOut) this.#handedOut = now;
    return this.#handedOut;
  }
}

/** The fields of a stream message (see `publish` in lua.ts). */
function parse(fields: readonly string[]): { sequence: number; stamp: number; epoch: number; tags: string[] } {
  let sequence = 0;
  let stamp = 0;
  let epoch = 0;
  const tags: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string;
    switch (fields[i]) {
      case 'n':
        sequence = Number(value);
        break;
      case 's':
        stamp = Number(value);
        break;
      case 'e':
        epoch = Number(value);
        break;
      case 't':
        tags.push(unwire(value));
        break;
    }
  }
  return { sequence, stamp, epoch, tags };
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
