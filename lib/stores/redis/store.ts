/**
 * The Redis store: one cache and one invalidation shared by every process and machine that uses the same Redis
 * and prefix. Supported: Redis 6.2 and 7 (the scripts use `ZMSCORE`), ioredis 5 and node-redis (`redis` v4 and later;
 * see `client.ts`). On Redis Cluster (an ioredis `Cluster` client) the keys spread over hash-tagged buckets:
 * see `cluster.ts` for that layout and its clock rule; what follows describes one node.
 *
 * How it stays correct:
 * - One clock: Redis's `TIME` (µs), read inside the scripts. A lookup returns it as the stamp a fill starts at;
 *   an expiry records it per tag. The app servers' clocks never order anything.
 * - Keys (all under `prefix`): `expiries`, a sorted set of tag → last expiry stamp, which also holds the epoch
 *   (member `"\0epoch"`): every entry started at or before it reads as stale. The epoch lives in the same key as
 *   the records so they are lost together (eviction, `FLUSHALL`, a restart without persistence), and a missing
 *   epoch is recreated at "now": lost records can never make an old entry fresh. `ttl`, the longest entry TTL
 *   seen (ms), bounds how long a record can matter. `e:<id>`, one hash per entry (`s` startedAt, `t` its tags,
 *   `m` JSON metadata, `b` the body bytes) with a `PX` TTL. `lock:<id>`, the fill lock of a key while one instance
 *   runs its handler (a random token and the server's run id, with a `PX`; released by compare-and-delete, or
 *   expired by its `PX`; a lock from before a restart or a failover is taken over). `run`, the run id of the Redis
 *   process that last wrote the records: a lookup on another one (restarted, from a snapshot or not, or a promoted
 *   replica) drops the epoch, since that Redis may hold an older state than the fleet wrote to (see check_run in
 *   lua.ts). Every script reads `INFO server` for it itself, so the check adds no round trip.
 *   `stream`, the expiry stream (trimmed to `streamLength`), and `seq`, its message counter: every expiry and
 *   `clear()` is published there by the script that records it, for the tiered stores (`tiered.ts`).
 * - `get`, `set` and `expire` are one round trip each (a Lua script). `set` refuses a fill that a tag expiry or
 *   the epoch dooms, one older than the fresh entry already there, and a ttl outside 1..MAX_TTL, checked before it
 *   writes anything so that an entry never exists without its expiry. `expire` is one `ZADD` whatever the number
 *   of entries tagged, then drops records older than the longest TTL and those over `maxRecords`, raising the
 *   epoch over whatever it drops.
 * - Ids and tags are sent as script arguments, never spliced into Lua source, so any content is safe.
 * - Redis's clock is trusted. Should it step back, an expiry is still recorded no lower than the last one, so no
 *   stale entry is served; should it jump far ahead and back, fills are refused until it catches up.
 *
 * What a user can rely on during an outage (Redis down, slow, restarting or out of memory): every call either
 * answers or fails; none waits for Redis to come back. A client that is reconnecting or closed fails at once,
 * without queueing, and the cache's `storeTimeout` bounds the rest, so requests are served by their handlers,
 * uncached, with an `error` event. Expiries that fail are queued and retried by the cache (see `createCache`),
 * and caching resumes by itself once the client is ready again. Entries written before Redis lost its data read
 * as misses afterwards.
 *
 * Under `maxmemory`, a `volatile-*` eviction policy evicts entries (they carry a TTL) and keeps the records; with
 * `allkeys-*`, evicting the records key empties the cache in effect (every older entry reads as a miss), safely.
 * `clear()` scans the prefix's keys: on a large database it can outlast `storeTimeout` while it goes on.
 *
 * The store does not own the client: `close()` leaves it connected; quit it yourself when you are done.
 */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MAX_TTL } from '../../core/options.js';
import type { CachedEntry, CacheStore, PeekLookup, StoreLookup } from '../contract.js';
import { type RedisClient, type StoreClient, storeClient } from './client.js';
import { ClusterLayout } from './cluster.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import { encodeMeta, entryOf, readMeta } from './entry-codec.js';
import { type GetReply, LookupBatch } from './lookups.js';
import { SCRIPTS } from './scripts.js';
import { checkOptions, type RedisStoreOptions, settingsOf } from './store-options.js';
import { wire } from './wire.js';

// Allowance for the app server's and Redis's clocks running at different rates (NTP slews by at most 500 ppm).
const DRIFT = 1e-3;
// The oldest clock sample a fill lock's deadline is computed from (ms).
const CLOCK_SAMPLE_AGE = 10_000;

function globEscape(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}

/** A store on Redis, shared by every cache that uses the same Redis and prefix. See the top of this file. */
export class RedisStore implements CacheStore {
  readonly name = 'redis';
  /** The prefix of every key this store writes. */
  readonly prefix: string;
  readonly #client: StoreClient;
  readonly #maxEntryBytes: number;
  readonly #maxRecords: number;
  readonly #streamLength: string;
  readonly #records: string;
  readonly #longestTtl: string;
  readonly #sequence: string;
  readonly #stream: string;
  readonly #run: string;
  #closed = false;
  /** The last clock a lookup answered (Redis µs) and performance.now() when it arrived: see {@link lockFill}. */
  #clock: { stamp: number; at: number } | undefined;
  readonly #clockSkewUs: number;
  /** Set on Redis Cluster: the bucketed layout every call goes through. */
  readonly #cluster: ClusterLayout | undefined;
  /** One node: the lookups of one event-loop turn go as one script call. */
  readonly #lookups: LookupBatch;
  // One decode per reply, however many lookups of one key it answers (the entry is shared, as a memory store's is).
  readonly #decoded = new WeakMap<GetReply, CachedEntry | null>();
  /** The client it was given, for a tiered store built on this one (it opens its own stream reader from it). */
  readonly client: RedisClient;

  constructor(options: RedisStoreOptions) {
    checkOptions(options);
    this.#client = storeClient(options.client, [...Object.values(SCRIPTS), ...Object.values(CLUSTER_SCRIPTS)]);
    const { prefix, maxEntryBytes, maxRecords, streamLength, clockSkew, waitReplicas, replicaTimeout } = settingsOf(options);
    this.prefix = prefix;
    this.#maxEntryBytes = maxEntryBytes;
    this.#maxRecords = maxRecords;
    this.#streamLength = String(streamLength);
    this.client = options.client;
    this.#records = `${this.prefix}expiries`;
    this.#longestTtl = `${this.prefix}ttl`;
    this.#sequence = `${this.prefix}seq`;
    this.#stream = `${this.prefix}stream`;
    this.#run = `${this.prefix}run`;
    this.#clockSkewUs = this.#client.cluster ? clockSkew * 1000 : 0;
    this.#cluster = this.#client.cluster
      ? new ClusterLayout(this.#client, this.prefix, {
          clockSkew,
          maxRecords: this.#maxRecords,
          waitReplicas,
          replicaTimeout,
          streamLength,
        })
      : undefined;
    this.#lookups = new LookupBatch(
      (keys) => this.#client.run(SCRIPTS.getMany, [this.#records, this.#run, ...keys], true) as Promise<unknown[]>,
    );
  }

  /** True when the store runs on Redis Cluster (an ioredis `Cluster` client). */
  get cluster(): boolean {
    return this.#cluster !== undefined;
  }

  /** On Redis Cluster, the bucketed layout: a tiered store reads each bucket's stream and stamps through it. */
  get layout(): ClusterLayout | undefined {
    return this.#cluster;
  }

  /**
   * As {@link expire}, answering the stamp recorded per bucket (bucket 0 on one node). On a cluster each bucket
   * stamps on its own node's clock, `clockSkew` ahead, so a tiered store records each tag with its bucket's stamp.
   */
  async expireStamps(tags: readonly string[]): Promise<Map<number, number>> {
    this.#ready();
    if (tags.length === 0) return new Map();
    if (this.#cluster !== undefined) return this.#cluster.expireStamps(tags);
    const stamp = await this.expire(tags);
    return new Map(stamp === undefined ? [] : [[0, stamp]]);
  }

  /** The keys a reader of the expiry stream needs (one node): records, sequence counter, stream, run id. */
  get streamKeys(): { records: string; sequence: string; stream: string; run: string } {
    return { records: this.#records, sequence: this.#sequence, stream: this.#stream, run: this.#run };
  }

  /** The Redis key of the entry `id` (a tiered store's strict mode confirms against it). */
  entryKey(id: string): string {
    return this.#entryKey(id);
  }

  #entryKey(id: string): string {
    if (this.#cluster !== undefined) return this.#cluster.entryKey(id);
    return `${this.prefix}e:${wire(id)}`;
  }

  #lockKey(id: string): string {
    return `${this.prefix}lock:${wire(id)}`;
  }

  /*
   * Fails at once instead of letting the client queue the command until it reconnects: not ready means Redis is
   * gone for now. Only the client's first connection attempt may be waited for (a plain `new Redis(url)` works from
   * the first request); the cache's storeTimeout bounds that wait.
   */
  #ready(): void {
    if (this.#closed) throw new Error('the redis store is closed');
    const status = this.#client.unavailable();
    if (status !== undefined) throw new Error(`redis client is not ready (status ${status})`);
  }

  async get(id: string): Promise<StoreLookup> {
    this.#ready();
    if (this.#cluster !== undefined) return this.#clusterGet(this.#cluster, id);
    const reply = await this.#lookups.get(this.#entryKey(id));
    const [stamp, madeEpoch] = reply;
    this.#sample(stamp);
    // Records were lost and this lookup started them again: fills in flight may not date back before it.
    const lookup: StoreLookup =
      madeEpoch === 1 ? { entry: undefined, expiredAt: 0, stamp, notBefore: stamp } : { entry: undefined, expiredAt: 0, stamp };
    if (reply.length === 3) return lookup;
    let entry = this.#decoded.get(reply);
    if (entry === undefined) {
      entry = this.#decode(reply);
      this.#decoded.set(reply, entry);
    }
    if (entry === null) return lookup;
    lookup.expiredAt = Number(reply[2]);
    lookup.entry = entry;
    return lookup;
  }

  #decode([, , , startedAt, meta, body]: Extract<GetReply, { length: 6 }>): CachedEntry | null {
    const decoded = readMeta(meta);
    return decoded === undefined ? null : entryOf(decoded, body, Number(startedAt.toString('latin1')));
  }

  async #clusterGet(cluster: ClusterLayout, id: string): Promise<StoreLookup> {
    const found = await cluster.get(id, (meta) => readMeta(meta)?.tags);
    this.#sample(found.stamp);
    const lookup: StoreLookup = { entry: undefined, expiredAt: 0, stamp: found.stamp };
    if (found.notBefore !== undefined) lookup.notBefore = found.notBefore;
    if (found.found === undefined) return lookup;
    const decoded = readMeta(found.found.meta);
    if (decoded === undefined) return lookup;
    lookup.expiredAt = found.found.expiredAt;
    lookup.entry = entryOf(decoded, found.found.body, found.found.startedAt);
    return lookup;
  }

  /** Inspection: the same script as {@link get}, which changes nothing here (Redis keeps no recency). */
  peek(id: string): Promise<PeekLookup> {
    return this.get(id);
  }

  async set(id: string, entry: CachedEntry): Promise<boolean> {
    this.#ready();
    const args = this.#setArgs(id, entry);
    if (args === undefined) return false;
    if (this.#cluster !== undefined) return this.#cluster.set(id, entry, args.px, args.encoded);
    const { px, encoded, tags } = args;
    const stored = await this.#client.run(SCRIPTS.set, [
      this.#entryKey(id),
      this.#records,
      this.#longestTtl,
      this.#run,
      String(entry.startedAt),
      String(px),
      encoded,
      entry.body,
      ...tags,
    ]);
    return Number(stored) === 1;
  }

  /**
   * As {@link set}, then releases the fill lock `token` holds, as {@link unlockFill} does, whether the entry was
   * stored or refused: on one node both go in one script (the entry is written before the lock goes). On a cluster
   * the lock key lives apart from the entry's bucket, so it is two calls, in that order.
   */
  async setAndUnlock(id: string, entry: CachedEntry, token: string): Promise<boolean> {
    this.#ready();
    const args = this.#setArgs(id, entry);
    const cluster = this.#cluster;
    if (args === undefined || cluster !== undefined) {
      try {
        return args !== undefined && (await cluster?.set(id, entry, args.px, args.encoded)) === true;
      } finally {
        await this.unlockFill(id, token);
      }
    }
    const { px, encoded, tags } = args;
    const stored = await this.#client.run(SCRIPTS.setUnlock, [
      this.#entryKey(id),
      this.#records,
      this.#longestTtl,
      this.#run,
      this.#lockKey(id),
      String(entry.startedAt),
      String(px),
      encoded,
      entry.body,
      token,
      ...tags,
    ]);
    return Number(stored) === 1;
  }

  /*
   * What a set sends besides the keys, or undefined for an entry refused before any call: kept until its stale window
   * ends (a fraction of a ms rounds up; anything else outside 1..MAX_TTL is refused, never stored without an expiry),
   * and no larger than maxEntryBytes as sent.
   */
  #setArgs(id: string, entry: CachedEntry): { px: number; encoded: Buffer; tags: string[] } | undefined {
    const px = Math.ceil(entry.staleUntil - entry.storedAt);
    if (!(px >= 1 && px <= MAX_TTL)) return undefined;
    const encoded = encodeMeta(entry);
    const tags = entry.tags.map(wire);
    let size = encoded.length + entry.body.length + id.length * 3;
    for (const tag of tags) size += tag.length * 3;
    return size > this.#maxEntryBytes ? undefined : { px, encoded, tags };
  }

  async expire(tags: readonly string[]): Promise<number | undefined> {
    this.#ready();
    if (tags.length === 0) return undefined;
    if (this.#cluster !== undefined) return this.#cluster.expire(tags);
    const args = [
      this.#records,
      this.#longestTtl,
      this.#sequence,
      this.#stream,
      this.#run,
      String(this.#maxRecords),
      this.#streamLength,
      ...tags.map(wire),
    ];
    const stamp: unknown = await this.#client.run(SCRIPTS.expire, args);
    return typeof stamp === 'number' ? stamp : undefined;
  }

  /**
   * Takes the fill lock of `id` for `ms` ms (a random token, in a script), so that one instance fills a cold key
   * while the others wait for its entry. Undefined when another holder has it.
   *
   * With `within` (the ms its caller waits for the answer), the script refuses to take the lock once Redis's clock
   * has passed a deadline: the call's start, as a lower bound of Redis's clock (the last lookup's stamp, advanced by
   * the time elapsed since it arrived, less a drift allowance and, on a cluster, the clock skew), plus `within`. A
   * Redis frozen past that (or a command sent again after a reconnect) then leaves no lock that nobody holds; the
   * answer says so with an error, since a caller still waiting must fill without the lock.
   */
  async lockFill(id: string, ms: number, within?: number): Promise<string | undefined> {
    this.#ready();
    const token = randomBytes(16).toString('base64url');
    const px = Math.min(Math.max(1, Math.ceil(ms)), MAX_TTL);
    const deadline = this.#deadline(within);
    const taken = Number(await this.#client.run(SCRIPTS.lock, [this.#lockKey(id), token, String(px), deadline]));
    if (taken === -1) throw new Error(`redis took the fill lock later than ${String(within)} ms after it was asked for`);
    return taken === 1 ? token : undefined;
  }

  #sample(stamp: number): void {
    this.#clock = { stamp, at: performance.now() };
  }

  /** The lock's deadline on Redis's clock (µs), '' when there is none to give. See {@link lockFill}. */
  #deadline(within: number | undefined): string {
    const clock = this.#clock;
    if (within === undefined || !Number.isFinite(within) || within <= 0 || clock === undefined) return '';
    const elapsed = performance.now() - clock.at;
    // An old sample bounds Redis's clock too loosely to judge a lock by (the drift allowance grows with its age).
    if (elapsed > CLOCK_SAMPLE_AGE) return '';
    return String(Math.floor(clock.stamp + elapsed * 1000 * (1 - DRIFT) - this.#clockSkewUs + within * 1000));
  }

  /** Releases the fill lock of `id` if `token` still holds it (compare-and-delete in one script). */
  async unlockFill(id: string, token: string): Promise<void> {
    this.#ready();
    await this.#client.run(SCRIPTS.unlock, [this.#lockKey(id), token]);
  }

  async delete(id: string): Promise<boolean> {
    this.#ready();
    return (await this.#client.unlink([this.#entryKey(id)])) > 0;
  }

  /** Removes every key of this prefix (SCAN + UNLINK, never FLUSHDB), then raises the epoch to now (answered). */
  async clear(): Promise<number | undefined> {
    this.#ready();
    if (this.#cluster !== undefined) return this.#cluster.clear();
    for await (const keys of this.#client.scan(`${globEscape(this.prefix)}*`, 1000)) {
      if (keys.length > 0) await this.#client.unlink(keys);
    }
    const stamp: unknown = await this.#client.run(SCRIPTS.touch, [
      this.#records,
      this.#sequence,
      this.#stream,
      this.#run,
      this.#streamLength,
    ]);
    return typeof stamp === 'number' ? stamp : undefined;
  }

  /** Number of group/key expiry records kept (the epoch not counted), for monitoring. */
  async records(): Promise<number> {
    this.#ready();
    if (this.#cluster !== undefined) return this.#cluster.records();
    return Math.max(0, (await this.#client.zcard(this.#records)) - 1);
  }

  /** Stops the store; later calls fail. The client stays connected: the caller created it and quits it. */
  close(): void {
    this.#closed = true;
    this.#client.release();
  }
}

/**
 * Creates a store on Redis through an ioredis or a node-redis client.
 *
 * ```js
 * const cache = createCache({ store: redisStore({ client: new Redis(url), prefix: 'gc:' }) });
 * // or, with node-redis:
 * const client = await createClient({ url }).connect();
 * const cache = createCache({ store: redisStore({ client, prefix: 'gc:' }) });
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
