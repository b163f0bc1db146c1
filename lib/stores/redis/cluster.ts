/*
 * The Redis store on Redis Cluster (an ioredis `Cluster` client). The key layout and the rules, in one place:
 *
 * - Buckets. Every key lives in one of BUCKETS buckets, `{<prefix><n>}` (a hash tag, so one bucket is one slot):
 *   `{<prefix><n>}r` the bucket's records (tag -> last expiry stamp, plus the bucket's epoch), `{<prefix><n>}t` the
 *   longest ttl of the entries that have a tag there, `{<prefix><n>}s` and `{<prefix><n>}q` the bucket's expiry
 *   stream and its sequence counter, `{<prefix><n>}u` the run id of the node that last wrote the bucket (see
 *   check_run in lua.ts), and `{<prefix><n>}e:<id>` the entries whose id hashes to it.
 *   A tag's record lives in the bucket its name hashes to (FNV-1a), so groups spread over BUCKETS slots and so over
 *   the masters. Every script touches the keys of one bucket only: never CROSSSLOT.
 * - A hit costs two round trips: the entry with its bucket's epoch and the records held there (one script), then
 *   the records of its other tags, one script per other bucket, sent in parallel.
 * - An expiry is one script per bucket among its tags (one ZADD each), sent in parallel: one write per group. Each
 *   prunes its own bucket (records older than its entries' longest ttl, and those over its share of maxRecords),
 *   raising that bucket's epoch over what it drops, never a scan. Only the buckets an expiry touches are pruned on
 *   every expiry: a bucket's records grow only when it receives an expiry, which prunes it in the same script, so
 *   every bucket stays within its share of maxRecords, and a bucket's epoch is raised only by pruning that bucket
 *   (published with it). What an untouched bucket keeps is only old records past their use (memory, not
 *   correctness): a sweep of the untouched buckets rides along with an expiry at most once per the longest ttl this
 *   process stored (a minute when it stored none), so such a record is gone within about twice that.
 * - The expiry streams (for tiered stores, tiered.ts): a Lua script may only touch its own slot, so there is no
 *   global stream. Each bucket has its own stream and sequence counter, and the script that records an expiry in a
 *   bucket publishes it there (the tags, the stamp, the bucket's epoch after the write, so an epoch raised by pruning
 *   travels with it); a clear() publishes a message with no tag, carrying the new epoch, on every bucket. Each
 *   stream is trimmed to its share of `streamLength` (streamLength / BUCKETS, rounded up).
 * - `set` checks the other buckets first (in parallel; each raises its longest ttl), then writes the entry in its
 *   bucket with that bucket's check. An expiry that lands between the two is caught by every later lookup, which
 *   reads every tag's record again: the read side is what makes an invalidated entry a miss.
 * - Epoch per bucket: a bucket whose epoch is missing (its node restarted empty, or it failed over to a replica
 *   that never had it) makes it again ahead of its clock, so its tags read as "everything before now expired".
 *   A bucket held by another node than the one that last wrote it (a failover, a restart from a snapshot, a slot
 *   migration) has its epoch dropped first, so the same happens: its node may hold an older state than the fleet
 *   wrote to (a replica that missed the last writes).
 *   An expiry acknowledged by the master but not yet copied to its replica would be lost by a failover: with
 *   `waitReplicas`, an expiry answers only once the replicas connected to its master (`ROLE`, up to that many)
 *   hold it (`WAIT`), and fails otherwise (the cache then retries it and the write answers 503). A store's first
 *   call makes the epochs of every bucket that has none, so that a new prefix does not refuse its first fills.
 * - The clock rule. Each script reads the clock of the node it runs on; those clocks differ. An entry's startedAt
 *   comes from its own bucket's node, a tag's record from its bucket's node. The store is given `clockSkew`, the
 *   bound on how far any two nodes' clocks differ, and stamps every expiry `clockSkew` ahead of its node's clock (a
 *   lost epoch 2 x `clockSkew` ahead, since a failover also changes the node that stamps). So an expiry that happens
 *   after a fill started is always stamped at or above that fill's startedAt, whichever nodes stamped them; the
 *   price is that fills starting within `clockSkew` after an expiry of one of their tags are refused (served, not
 *   stored).
 */

import { performance } from 'node:perf_hooks';
import type { CachedEntry } from '../contract.js';
import type { RedisArg, StoreClient } from './client.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import type { GetReply } from './lookups.js';
import { wire } from './wire.js';

/** Number of buckets (slots) the records and entries of one prefix spread over. Every instance must agree. */
export const BUCKETS = 16;

// The sweep period of a process that stored no entry (ms).
const SWEEP_IDLE = 60_000;

/** The bucket `name` (a wire-form id or tag) lives in: FNV-1a over its UTF-16 code units. */
export function bucketOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

function globEscape(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}

function regexEscape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What the cluster layout hands back to the store for decoding. */
export interface ClusterLookup {
  stamp: number;
  notBefore?: number;
  /** Undefined when no entry is held. */
  found?: { expiredAt: number; startedAt: number; meta: Buffer; body: Buffer };
}

/** The store's work on a cluster (see the top of this file); the store decodes what it answers. */
export class ClusterLayout {
  readonly #client: StoreClient;
  readonly #prefix: string;
  readonly #skew: string;
  readonly #margin: string;
  readonly #skewUs: number;
  readonly #bucketRecords: string;
  readonly #bucketStream: string;
  readonly #waitReplicas: number;
  readonly #replicaTimeout: number;
  #started: Promise<void> | undefined;
  #startedDone = false;
  /** The longest ttl (ms) this process stored: a floor under each bucket's own when pruning. */
  #longestStored = 0;
  /** performance.now() of the last sweep of the buckets an expiry did not touch. */
  #sweptAt = Number.NEGATIVE_INFINITY;
  /*
   * Sets still on their way, by id. On one node, a set and the lookup that follows it go down one connection in
   * order, so the lookup sees the entry; here a set takes two round trips, so a lookup of the same id in this
   * process waits for it instead.
   */
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(
    client: StoreClient,
    prefix: string,
    options: { clockSkew: number; maxRecords: number; waitReplicas: number; replicaTimeout: number; streamLength: number },
  ) {
    if (prefix.includes('{') || prefix.includes('}'))
      throw new TypeError(
        'option prefix must not hold { or } on Redis Cluster: the store places its keys in hash-tagged buckets itself',
      );
    this.#client = client;
    this.#prefix = prefix;
    this.#skewUs = Math.ceil(options.clockSkew * 1000);
    this.#skew = String(this.#skewUs);
    this.#margin = String(2 * this.#skewUs);
    this.#bucketRecords = String(Math.floor(options.maxRecords / BUCKETS));
    this.#bucketStream = String(Math.ceil(options.streamLength / BUCKETS));
    this.#waitReplicas = options.waitReplicas;
    this.#replicaTimeout = options.replicaTimeout;
  }

  /*
   * Makes every bucket's epoch that is missing, once per store, before its first call. A bucket's epoch is otherwise
   * made by the first call that touches it, which would refuse every fill that started before: on a new prefix, the
   * first fill of each bucket. Afterwards a missing epoch means records were lost, and refusing is right.
   */
  #start(): Promise<void> {
    this.#started ??= Promise.all(
      Array.from({ length: BUCKETS }, (_, n) =>
        this.#client.run(CLUSTER_SCRIPTS.records, [this.#records(n), this.#run(n), this.#margin]),
      ),
    ).then(
      () => {
        this.#startedDone = true;
      },
      (error: unknown) => {
        this.#started = undefined;
        throw error;
      },
    );
    return this.#started;
  }

  #bucket(n: number): string {
    return `{${this.#prefix}${n}}`;
  }

  entryKey(id: string): string {
    const sent = wire(id);
    return `${this.#bucket(bucketOf(sent))}e:${sent}`;
  }

  #records(n: number): string {
    return `${this.#bucket(n)}r`;
  }

  #run(n: number): string {
    return `${this.#bucket(n)}u`;
  }

  /** The bucket the entry `id` lives in. */
  home(id: string): number {
    return bucketOf(wire(id));
  }

  /** The keys a reader of bucket `n`'s expiry stream needs (all in that bucket's slot). */
  streamKeys(n: number): { records: string; sequence: string; stream: string; run: string } {
    const bucket = this.#bucket(n);
    return { records: `${bucket}r`, sequence: `${bucket}q`, stream: `${bucket}s`, run: `${bucket}u` };
  }

  /** True when the nodes' clocks are taken as one (no skew): expiries and clear() then answer their stamp. */
  get sameClock(): boolean {
    return this.#skewUs === 0;
  }

  #longest(n: number): string {
    return `${this.#bucket(n)}t`;
  }

  /** Wire-form tags grouped by bucket. */
  #byBucket(tags: readonly string[]): Map<number, string[]> {
    const groups = new Map<number, string[]>();
    for (const tag of tags) {
      const sent = wire(tag);
      const n = bucketOf(sent);
      const group = groups.get(n);
      if (group === undefined) groups.set(n, [sent]);
      else group.push(sent);
    }
    return groups;
  }

  /** Round trip 1: the entry and its bucket; round trip 2 (when the entry has tags elsewhere): the other buckets. */
  async get(id: string, tagsOf: (meta: Buffer) => readonly string[] | undefined): Promise<ClusterLookup> {
    // A lookup that waited for the first epochs: its fill may not date back before them (notBefore, below).
    const first = !this.#startedDone;
    if (first) await this.#start();
    const pending = this.#pending.get(id);
    if (pending !== undefined) await pending.catch(() => false);
    const sent = wire(id);
    const home = bucketOf(sent);
    const key = `${this.#bucket(home)}e:${sent}`;
    const reply = (await this.#client.run(
      CLUSTER_SCRIPTS.get,
      [key, this.#records(home), this.#run(home), this.#margin],
      true,
    )) as GetReply;
    const [stamp, made] = reply;
    // With no skew allowed, a made epoch is below this lookup's stamp (the script moved its clock past it), as on one
    // node. With a skew it is ahead of it, and fills are refused until this node's clock passes it: no notBefore.
    const lookup: ClusterLookup = (made === 1 || first) && this.#skewUs === 0 ? { stamp, notBefore: stamp } : { stamp };
    if (reply.length === 3) return lookup;
    const [, , localExpiredAt, startedAt, meta, body] = reply;
    const tags = tagsOf(meta);
    if (tags === undefined) return lookup;
    let expiredAt = Number(localExpiredAt);
    const others = [...this.#byBucket(tags)].filter(([n]) => n !== home);
    if (others.length > 0) {
      const latest = await Promise.all(
        others.map(([n, group]) =>
          this.#client.run(CLUSTER_SCRIPTS.records, [this.#records(n), this.#run(n), this.#margin, ...group]),
        ),
      );
      for (const value of latest) expiredAt = Math.max(expiredAt, Number(value));
    }
    lookup.found = { expiredAt, startedAt: Number(startedAt.toString('latin1')), meta, body };
    return lookup;
  }

  /** The other buckets are checked first (in parallel), then the entry is written in its own with that bucket's check. */
  set(id: string, entry: CachedEntry, px: number, meta: Buffer): Promise<boolean> {
    const done = this.#set(id, entry, px, meta);
    this.#pending.set(id, done);
    const forget = (): void => {
      if (this.#pending.get(id) === done) this.#pending.delete(id);
    };
    done.then(forget, forget);
    return done;
  }

  async #set(id: string, entry: CachedEntry, px: number, meta: Buffer): Promise<boolean> {
    if (!this.#startedDone) await this.#start();
    const sent = wire(id);
    const home = bucketOf(sent);
    const started = String(entry.startedAt);
    const ttl = String(px);
    if (px > this.#longestStored) this.#longestStored = px;
    const others = [...this.#byBucket(entry.tags)].filter(([n]) => n !== home);
    if (others.length > 0) {
      const checks = await Promise.all(
        others.map(([n, group]) =>
          this.#client.run(CLUSTER_SCRIPTS.check, [
            this.#records(n),
            this.#longest(n),
            this.#run(n),
            this.#margin,
            started,
            ttl,
            ...group,
          ]),
        ),
      );
      if (checks.some((ok) => Number(ok) !== 1)) return false;
    }
    const args: RedisArg[] = [
      `${this.#bucket(home)}e:${sent}`,
      this.#records(home),
      this.#longest(home),
      this.#run(home),
      started,
      ttl,
      meta,
      entry.body,
      this.#margin,
      ...entry.tags.map(wire),
    ];
    return Number(await this.#client.run(CLUSTER_SCRIPTS.set, args)) === 1;
  }

  /** See {@link expireStamps}. Answered only when the nodes' clocks are one (no skew): the cache then dates later fills above it. */
  async expire(tags: readonly string[]): Promise<number | undefined> {
    const stamps = await this.expireStamps(tags);
    return this.#skewUs === 0 ? Math.max(...stamps.values()) : undefined;
  }

  /**
   * One script per bucket among the tags (one ZADD each, publishing on that bucket's stream), in parallel; with
   * waitReplicas, each waits for its replicas. Answers the stamp each bucket recorded (a tiered store records each
   * tag with its own bucket's stamp). Untouched buckets are only swept, at most once per the longest ttl stored
   * (see the top of this file), and answer no stamp.
   */
  async expireStamps(tags: readonly string[]): Promise<Map<number, number>> {
    if (!this.#startedDone) await this.#start();
    const groups = [...this.#byBucket(tags)];
    const touched = groups.length;
    const now = performance.now();
    if (now - this.#sweptAt >= (this.#longestStored || SWEEP_IDLE)) {
      this.#sweptAt = now;
      for (let n = 0; n < BUCKETS; n++) if (!groups.some(([m]) => m === n)) groups.push([n, []]);
    }
    const stamps = await Promise.all(
      groups.map(async ([n, group], i) => {
        const { sequence, stream } = this.streamKeys(n);
        const args = [
          this.#records(n),
          this.#longest(n),
          sequence,
          stream,
          this.#run(n),
          this.#bucketRecords,
          this.#skew,
          this.#margin,
          String(this.#longestStored),
          this.#bucketStream,
          ...group,
        ];
        // Pruning only: a node that cannot be reached now is pruned by a later expiry.
        if (i >= touched) return Number(await this.#client.run(CLUSTER_SCRIPTS.expire, args).catch(() => 0));
        if (this.#waitReplicas === 0) return Number(await this.#client.run(CLUSTER_SCRIPTS.expire, args));
        const [stamp, acked, connected] = await this.#client.runAndWait!(
          CLUSTER_SCRIPTS.expire,
          args,
          this.#waitReplicas,
          this.#replicaTimeout,
        );
        // Only a replica can be promoted with an expiry missing; those connected must hold it (up to waitReplicas).
        const needed = Math.min(this.#waitReplicas, connected);
        if (acked < needed)
          throw new Error(`redis cluster: an expiry reached ${acked} of ${needed} replicas within ${this.#replicaTimeout} ms`);
        return Number(stamp);
      }),
    );
    return new Map(groups.slice(0, touched).map(([n], i) => [n, stamps[i]!]));
  }

  /** Removes every key of this prefix on every master, then raises every bucket's epoch (and publishes it). */
  async clear(): Promise<number | undefined> {
    const own = new RegExp(`^(?:${regexEscape(this.#prefix)}|\\{${regexEscape(this.#prefix)}\\d+\\})`);
    for (const match of [`${globEscape(this.#prefix)}*`, `{${globEscape(this.#prefix)}*`]) {
      for await (const keys of this.#client.scan(match, 1000)) {
        const mine = keys.filter((key) => own.test(key));
        if (mine.length > 0) await this.#client.unlink(mine);
      }
    }
    const stamps = await Promise.all(
      Array.from({ length: BUCKETS }, (_, n) => {
        const { records, sequence, stream, run } = this.streamKeys(n);
        return this.#client.run(CLUSTER_SCRIPTS.touch, [records, sequence, stream, run, this.#skew, this.#bucketStream]);
      }),
    );
    return this.#skewUs === 0 ? Math.max(...stamps.map(Number)) : undefined;
  }

  /** Expiry records kept over every bucket (epochs not counted). */
  async records(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: BUCKETS }, (_, n) => this.#client.zcard(this.#records(n))));
    return counts.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  }
}
