/*
 * The tiered store's follower of the expiry stream: it applies every expiry Redis publishes to the tier's records
 * (tier-records.ts), and says whether the tier may answer now.
 *
 * Lossless: the tier serves only while the follower has proved, less than `maxLag` ms ago, that it had every
 * message published up to some moment. After each read the follower asks Redis for the last sequence number
 * (`streamState`, atomic with the epoch and the stream's last id); it is caught up as of that request once it holds
 * every message up to that number. A number skipped (the stream was trimmed past its position) or going back (Redis
 * restarted or was flushed), or the epoch lost (records lost, or held by another server process than the one that
 * wrote them: a restart from a snapshot, a failover; see check_run in lua.ts) drops the whole tier and starts again
 * from Redis's state; a dropped connection bypasses the tier at once.
 *
 * On Redis Cluster each of the 16 buckets has its own stream and sequence counter in its slot. XREAD over several
 * slots is CROSSSLOT, and a blocking XREAD per bucket would hold 16 connections, so the follower polls: each round
 * sends one script per bucket, in parallel over the store's client, that answers atomically the node's clock, the
 * bucket's epoch, its last sequence number and last message id, and the messages after the follower's cursor
 * (`CLUSTER_SCRIPTS.poll`). Once every bucket answered with nothing missing, the follower is caught up as of when the
 * round was sent. A sequence number skipped or going back, a stream that does not end at the cursor, or an epoch
 * going back (records lost) in any bucket drops the whole tier, and the follower starts again from every bucket's
 * state. A round that fails or takes longer than `maxLag` proves nothing: a node out of reach makes the tier bypassed
 * once the last proof is `maxLag` old. Rounds are `min(maxLag / 4, 25)` ms apart, so an expiry reaches the tier
 * within that plus one round trip (the slowest bucket's), and `maxLag` at most.
 */

import { performance } from 'node:perf_hooks';
import type { StoreClient } from './client.js';
import { BUCKETS, type ClusterLayout } from './cluster.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import { SCRIPTS } from './scripts.js';
import type { StreamConnection, StreamMessage } from './stream-connection.js';
import type { TierRecords } from './tier-records.js';
import { unwire } from './wire.js';

/** The keys a reader of one expiry stream needs (one node, or one bucket of a cluster). */
export interface StreamKeys {
  records: string;
  sequence: string;
  stream: string;
  run: string;
}

/** What a follower is given: where to read, what to feed, and what to do when the tier can no longer be vouched for. */
export interface FollowerOptions {
  records: TierRecords;
  /** Drops the whole tier (and the records that judged it). */
  drop: () => void;
  maxLag: number;
  /** The store's client: on a cluster the follower polls through it. */
  client: StoreClient;
  /** One node: the stream's keys and a connection of the follower's own, which it closes. */
  stream?: { keys: StreamKeys; connection: StreamConnection };
  /** A cluster: its layout, for each bucket's stream keys. */
  layout?: ClusterLayout;
}

/** Where the cluster follower stands in one bucket's stream. */
interface BucketCursor {
  /** The id of the last message applied; undefined until the follower has read the bucket's state. */
  cursor: string | undefined;
  sequence: number;
}

/** What the cluster poll script answers for one bucket (see CLUSTER_SCRIPTS.poll). */
type PollReply = [now: number, epoch: number, sequence: number, lastId: string, messages: StreamMessage[]];

// Messages read at once; a full batch proves nothing about what follows it.
const BATCH = 1_000;
// On a cluster, the longest time between two poll rounds (ms); less when maxLag / 4 is less.
const POLL_INTERVAL = 25;
const NEVER = new Promise<never>(() => {});

export class StreamFollower {
  readonly #records: TierRecords;
  readonly #drop: () => void;
  readonly #maxLag: number;
  readonly #block: number;
  readonly #client: StoreClient;
  readonly #stream: StreamConnection | undefined;
  readonly #keys: StreamKeys | undefined;
  // On a cluster: each bucket's reader keys and position, and the time between two poll rounds.
  readonly #bucketKeys: string[][] = [];
  readonly #buckets: BucketCursor[] = [];
  readonly #interval: number;
  #polling = false;
  // The epoch Redis last reported, per bucket (0: none yet).
  readonly #epochs: number[];
  // Reader state: the last message id and sequence number applied, undefined cursor until it has Redis's state.
  #cursor: string | undefined;
  #sequence = 0;
  // performance.now() of the last request as of which the follower held every message; -Infinity when unknown.
  #caughtUpAt = Number.NEGATIVE_INFINITY;
  // A state read that showed messages not yet read: caught up as of `at` once `sequence` is applied.
  #awaiting: { at: number; sequence: number } | undefined;
  #messages = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  // Resolves when the follower is closed: a poll round or a pause between rounds stops waiting.
  readonly #closing = new Promise<undefined>((resolve) => {
    this.#wake = () => resolve(undefined);
  });
  /** Settles once the follower stopped, after {@link close}. */
  readonly done: Promise<void>;

  constructor(options: FollowerOptions) {
    this.#records = options.records;
    this.#drop = options.drop;
    this.#maxLag = options.maxLag;
    this.#block = Math.max(1, Math.floor(this.#maxLag / 4));
    this.#client = options.client;
    this.#interval = Math.max(1, Math.min(POLL_INTERVAL, Math.floor(this.#maxLag / 4)));
    const layout = options.layout;
    this.#epochs = new Array<number>(layout === undefined ? 1 : BUCKETS).fill(0);
    this.#stream = options.stream?.connection;
    this.#keys = options.stream?.keys;
    if (layout === undefined) {
      const stream = options.stream!.connection;
      stream.onDown(() => {
        this.#caughtUpAt = Number.NEGATIVE_INFINITY;
        this.#awaiting = undefined;
      });
      this.done = this.#follow(stream);
    } else {
      for (let n = 0; n < BUCKETS; n++) {
        const { records, sequence, stream, run } = layout.streamKeys(n);
        this.#bucketKeys.push([records, sequence, stream, run]);
        this.#buckets.push({ cursor: undefined, sequence: 0 });
      }
      this.done = this.#poll();
    }
  }

  /** True while the tier may answer: the follower is caught up as of less than `maxLag` ms ago. */
  serving(): boolean {
    return performance.now() - this.#caughtUpAt <= this.#maxLag;
  }

  /** Whether the follower follows every stream: a read sent now may fill the tier. */
  following(): boolean {
    return this.#keys !== undefined ? this.#cursor !== undefined : this.#polling;
  }

  /** Whether the follower knows bucket `n`'s epoch (losing it is how a restart or a flush shows). */
  epochKnown(n: number): boolean {
    return this.#epochs[n]! > 0;
  }

  /** Stream messages applied. */
  get messages(): number {
    return this.#messages;
  }

  /** Stops following; {@link done} settles once the loop has stopped. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    this.#stream?.close();
  }

  // --- one node: blocking reads ---

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
        const messages = await stream.read(this.#keys!.stream, this.#cursor, BATCH, this.#block);
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
    const { records, sequence, stream, run } = this.#keys!;
    const [now, epoch, last, lastId] = (await reader.run(SCRIPTS.streamState, [records, sequence, stream, run])) as [
      number,
      number,
      number,
      string,
    ];
    this.#records.sample(now);
    this.#records.raiseFloor(0, epoch);
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
    this.#messages++;
    this.#sequence = sequence;
    this.#cursor = id;
    this.#records.raiseFloor(0, epoch);
    if (epoch > 0) this.#epochs[0] = epoch;
    // A clear(): everything the tier holds is gone from Redis.
    if (tags.length === 0) this.#drop();
    else this.#records.record(tags, stamp);
    const awaiting = this.#awaiting;
    if (awaiting !== undefined && sequence >= awaiting.sequence) {
      this.#awaiting = undefined;
      if (awaiting.at > this.#caughtUpAt) this.#caughtUpAt = awaiting.at;
    }
    return true;
  }

  // --- a cluster: poll rounds ---

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

  // `work`'s result, or undefined once `ms` passed or the follower closed.
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
      const reply = replies[n]!;
      this.#records.sample(reply[0]);
      const bucket = this.#buckets[n]!;
      if (bucket.cursor === undefined) {
        // First round, or the first after a drop: follow from here.
        this.#startBucket(n, reply);
        continue;
      }
      if (!this.#applyBucket(n, reply[4])) return false;
      if (reply[4].length >= BATCH) {
        more = true;
        continue;
      }
      const [, epoch, last, lastId] = reply;
      // Nothing missing: the counter stands at the last message applied, the stream ends there, and the epoch (read
      // after those messages) did not go back. Else a message was trimmed, the counter or the stream was lost, or
      // the records were (the epoch missing or made again lower).
      if (last !== bucket.sequence || lastId !== bucket.cursor || epoch < this.#epochs[n]!) {
        this.#restart();
        return false;
      }
      this.#epochs[n] = epoch;
      this.#records.raiseFloor(n, epoch);
    }
    this.#polling = true;
    if (!more && at > this.#caughtUpAt) this.#caughtUpAt = at;
    return more;
  }

  #startBucket(n: number, [, epoch, last, lastId]: PollReply): void {
    const bucket = this.#buckets[n]!;
    bucket.cursor = lastId;
    bucket.sequence = last;
    this.#epochs[n] = epoch;
    this.#records.raiseFloor(n, epoch);
  }

  // Applies one bucket's messages of a round; false (and the tier dropped) when one was missed.
  #applyBucket(n: number, messages: readonly StreamMessage[]): boolean {
    const bucket = this.#buckets[n]!;
    for (const [id, fields] of messages) {
      const message = parse(fields);
      if (message.sequence !== bucket.sequence + 1) {
        this.#restart();
        return false;
      }
      this.#messages++;
      bucket.sequence = message.sequence;
      bucket.cursor = id;
      this.#records.raiseFloor(n, message.epoch);
      if (message.epoch > this.#epochs[n]!) this.#epochs[n] = message.epoch;
      // A message with no tag (a clear(), or pruning that raised the epoch) only raises the floor: with every
      // bucket's floor raised, a clear() leaves nothing the tier holds valid.
      if (message.tags.length > 0) this.#records.record(message.tags, message.stamp);
    }
    return true;
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
