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
 *   back (Redis restarted or was flushed) drops the whole tier and starts again from Redis's state; a dropped
 *   connection bypasses the tier at once. An entry read from Redis joins the tier only if the reader already
 *   followed the stream when the read was sent, and nothing was dropped meanwhile.
 * - Read-your-writes: `expire()` applies the stamp Redis recorded to this process's tier before it returns, so the
 *   write's response never leaves before its own instance stops serving the old copy.
 * - `strict`: every hit of the tier is confirmed by one small script that checks, in Redis, that the same fill is
 *   held and that none of its tags (nor the epoch) was expired since it started; the body does not travel. Then no
 *   instance serves a copy after the response of a write on another instance.
 *
 * A lookup the tier answers is synchronous. Its `stamp` is a lower bound of Redis's clock (the last stamp Redis
 * sent, advanced by the time elapsed since, less a drift allowance), so a fill dated from it is never dated late.
 */

import { performance } from 'node:perf_hooks';
import { checkOptionNames, positiveOption } from '../core/options.js';
import type { CachedEntry, CacheStore, EvictionReason, PeekLookup, StoreLookup, StoreStats } from './contract.js';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
import { type StoreClient, type StreamConnection, type StreamMessage, storeClient, streamConnection } from './redis-client.js';
import { SCRIPTS } from './redis-scripts.js';
import type { RedisStore } from './redis-store.js';
import { unwire, wire } from './redis-wire.js';

/** Options of the in-process tier: those of {@link MemoryStore} about entries. */
export type TierOptions = Pick<MemoryStoreOptions, 'maxBytes' | 'maxEntries' | 'maxEntryBytes' | 'now'>;

/** Options of {@link tieredStore}. */
export interface TieredStoreOptions {
  /**
   * The Redis store behind the tier: `redisStore({ client, prefix })`, ioredis or node-redis. The tiered store owns
   * it from then on, and reads the expiry stream on a second connection it opens with the client's `duplicate()`.
   */
  redis: RedisStore;
  /** The in-process tier: `maxBytes` (default 64 MiB), `maxEntries`, `maxEntryBytes`, `now` (default `Date.now`, the cache's clock for TTLs). */
  l1?: TierOptions;
  /**
   * The longest time, in ms, after an expiry landed in Redis during which another instance may still serve the old
   * copy from its tier. Past it without proof that the reader is caught up (Redis slow, connection lost), the tier
   * is bypassed. Default 1,000.
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

/** See the top of this file. */
export class TieredStore implements CacheStore {
  readonly name = 'tiered';
  readonly #redis: RedisStore;
  readonly #client: StoreClient;
  readonly #stream: StreamConnection;
  readonly #keys: { records: string; sequence: string; stream: string };
  readonly #tierOptions: TierOptions;
  readonly #now: () => number;
  readonly #maxLag: number;
  readonly #block: number;
  readonly #strict: boolean;
  readonly #maxRecords: number;
  #tier: MemoryStore;
  // Per tag, the latest expiry stamp seen (Redis clock); Map order is arrival order, pruning takes the front.
  readonly #records = new Map<string, number>();
  #floor = 0;
  // The epoch Redis last reported (0: none yet).
  #epochSeen = 0;
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
    if ((redis as RedisStore).cluster)
      throw new TypeError(
        'tieredStore() does not run on Redis Cluster yet (the expiry stream is not published there): use redisStore() alone on a cluster',
      );
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
    this.#stream = streamConnection(this.#redis.client, [SCRIPTS.streamState]);
    this.#client = storeClient(this.#redis.client, [SCRIPTS.confirm]);
    this.#stream.onDown(() => {
      this.#caughtUpAt = Number.NEGATIVE_INFINITY;
      this.#awaiting = undefined;
    });
    this.#running = this.#follow();
  }

  /** True while the tier may answer: the reader is caught up as of less than `maxLag` ms ago. */
  #serving(): boolean {
    return performance.now() - this.#caughtUpAt <= this.#maxLag;
  }

  // The latest expiry stamp among `tags`, the floor included.
  #expiredAt(tags: readonly string[]): number {
    let latest = this.#floor;
    for (const tag of tags) {
      const stamp = this.#records.get(tag);
      if (stamp !== undefined && stamp > latest) latest = stamp;
    }
    return latest;
  }

  get(id: string): StoreLookup | Promise<StoreLookup> {
    if (this.#serving()) {
      const entry = this.#tier.get(id).entry;
      if (entry !== undefined) {
        const expiredAt = this.#expiredAt(entry.tags);
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
    let tags = this.#wired.get(entry);
    if (tags === undefined) {
      tags = entry.tags.map(wire);
      this.#wired.set(entry, tags);
    }
    const args = [this.#redis.entryKey(id), this.#keys.records, String(entry.startedAt), ...tags];
    const [now, held] = (await this.#client.run(SCRIPTS.confirm, args)) as [number, number];
    this.#sample(now);
    return held === 1 ? now : 0;
  }

  async #read(id: string): Promise<StoreLookup> {
    this.#counts.redisReads++;
    const generation = this.#generation;
    const following = this.#cursor !== undefined;
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
    if (this.#epochSeen === 0 || this.#expiredAt(entry.tags) >= entry.startedAt) return;
    if (this.#tier.set(id, entry)) {
      const kept = entry.staleUntil - entry.storedAt;
      if (kept > this.#longestKept) this.#longestKept = kept;
    }
  }

  async set(id: string, entry: CachedEntry): Promise<boolean> {
    const generation = this.#generation;
    const following = this.#cursor !== undefined;
    // Let go of the copy this write replaces before sending it: a lookup meanwhile goes to Redis, behind the write
    // on the same connection, instead of answering the old copy from the tier (a refresh, then a read).
    this.#tier.delete(id);
    const stored = await this.#redis.set(id, entry);
    if (stored && following && generation === this.#generation) this.#keep(id, entry);
    return stored;
  }

  /** Records the expiry in Redis (which publishes it), then applies it to this process's tier before answering. */
  async expire(tags: readonly string[]): Promise<number | undefined> {
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
    if (typeof stamp === 'number') {
      this.#sample(stamp);
      if (stamp > this.#floor) this.#floor = stamp;
    }
    return stamp;
  }

  /** Inspection reads Redis, which holds the truth the tier copies. */
  peek(id: string): Promise<PeekLookup> {
    return this.#redis.peek(id);
  }

  lockFill(id: string, ms: number): Promise<string | undefined> {
    return this.#redis.lockFill(id, ms);
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
    this.#stream.close();
    this.#client.release();
    this.#redis.close();
    await this.#running;
    this.#drop();
  }

  // --- the reader ---

  async #follow(): Promise<void> {
    while (!this.#closed) {
      try {
        if (!this.#stream.ready()) {
          this.#caughtUpAt = Number.NEGATIVE_INFINITY;
          await this.#stream.waitReady(this.#block);
          continue;
        }
        if (this.#cursor === undefined) {
          await this.#checkState();
          continue;
        }
        const messages = await this.#stream.read(this.#keys.stream, this.#cursor, BATCH, this.#block);
        for (const message of messages) {
          if (!this.#apply(message)) break;
        }
        if (this.#cursor === undefined) continue;
        // A state read promised messages that a later read did not find: the stream lost them.
        if (messages.length === 0 && this.#awaiting !== undefined && this.#sequence < this.#awaiting.sequence) {
          this.#restart();
          continue;
        }
        if (messages.length < BATCH) await this.#checkState();
      } catch {
        if (this.#closed) break;
        this.#caughtUpAt = Number.NEGATIVE_INFINITY;
        this.#awaiting = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.#block, 50)));
      }
    }
  }

  // Reads Redis's state: where the stream stands and the epoch. Starts following it when not yet (or again).
  async #checkState(): Promise<void> {
    const at = performance.now();
    const { records, sequence, stream } = this.#keys;
    const [now, epoch, last, lastId] = (await this.#stream.run(SCRIPTS.streamState, [records, sequence, stream])) as [
      number,
      number,
      number,
      string,
    ];
    this.#sample(now);
    this.#raiseFloor(epoch);
    // The epoch gone: Redis lost its records (restart, flush, eviction). The next lookup makes a new one above every
    // stamp the tier holds; until then nothing says so, so the tier goes now.
    const epochLost = epoch === 0 && this.#epochSeen > 0;
    this.#epochSeen = epoch;
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
    if (sequence !== this.#sequence + 1) {
      this.#restart();
      return false;
    }
    this.#counts.messages++;
    this.#sequence = sequence;
    this.#cursor = id;
    this.#raiseFloor(epoch);
    if (epoch > 0) this.#epochSeen = epoch;
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

  // Messages were missed: drop the tier and follow again from Redis's state.
  #restart(): void {
    this.#drop();
    this.#cursor = undefined;
    this.#awaiting = undefined;
    this.#caughtUpAt = Number.NEGATIVE_INFINITY;
  }

  #drop(): void {
    this.#generation++;
    this.#counts.flushes++;
    this.#tier = new MemoryStore(this.#tierOptions);
    if (this.#onEvict !== undefined) this.#tier.onEvict(this.#onEvict);
    this.#records.clear();
  }

  #raiseFloor(epoch: number): void {
    if (epoch > this.#floor) this.#floor = epoch;
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
      this.#raiseFloor(at);
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
