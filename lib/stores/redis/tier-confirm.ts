/*
 * A tiered store's strict mode: every hit of the tier is confirmed by one small script that checks, in Redis, that
 * the same fill is held and that none of its tags (nor the epoch) was expired since it started; the body does not
 * travel. On a cluster the confirmation runs on the entry's bucket (same fill held, epoch, its tags there) and on
 * each other bucket of its tags (epoch, its tags there): one script per bucket involved, in parallel.
 *
 * A lookup waits for a confirmation sent after it arrived, so an expiry that landed before the request (before a
 * write's response its client saw) is always seen. Lookups of one key that arrive while its confirmation is on its
 * way share the next one, sent when that one answers: one call serves a burst of hits.
 */
import type { CachedEntry } from '../contract.js';
import type { StoreClient } from './client.js';
import { BUCKETS, type ClusterLayout } from './cluster.js';
import { CLUSTER_SCRIPTS } from './cluster-scripts.js';
import { SCRIPTS } from './scripts.js';
import type { StreamKeys } from './stream-follower.js';
import type { TierRecords } from './tier-records.js';
import { wire } from './wire.js';

interface PendingConfirm {
  entry: CachedEntry;
  waiting: Array<{ resolve(now: number): void; reject(error: Error): void }>;
}

export class TierConfirm {
  readonly #client: StoreClient;
  readonly #records: TierRecords;
  readonly #entryKey: (id: string) => string;
  // One node: the records and run id keys. A cluster: each bucket's.
  readonly #keys: StreamKeys | undefined;
  readonly #bucketKeys: StreamKeys[] = [];
  readonly #wired = new WeakMap<CachedEntry, string[]>();
  // Keys whose confirmation is on its way, and the one each will send next.
  readonly #sending = new Set<string>();
  readonly #next = new Map<string, PendingConfirm>();

  constructor(
    client: StoreClient,
    records: TierRecords,
    entryKey: (id: string) => string,
    where: { keys: StreamKeys } | { layout: ClusterLayout },
  ) {
    this.#client = client;
    this.#records = records;
    this.#entryKey = entryKey;
    this.#keys = 'keys' in where ? where.keys : undefined;
    if ('layout' in where) for (let n = 0; n < BUCKETS; n++) this.#bucketKeys.push(where.layout.streamKeys(n));
  }

  /** Redis's clock once a confirmation sent after this call found the fill of `entry` held and valid; 0 when not. */
  ask(id: string, entry: CachedEntry): Promise<number> {
    let next = this.#next.get(id);
    if (next === undefined) {
      next = { entry, waiting: [] };
      this.#next.set(id, next);
      // Sent at the end of this tick (lookups of this tick join it), or when the one on its way answers.
      if (!this.#sending.has(id)) queueMicrotask(() => this.#send(id));
    } else if (next.entry !== entry) {
      // The tier holds another fill of the key now: confirm this one alone.
      next = { entry, waiting: [] };
      this.#run(id, next);
    }
    const waiting = next.waiting;
    return new Promise<number>((resolve, reject) => {
      waiting.push({ resolve, reject });
    });
  }

  #send(id: string): void {
    const confirm = this.#next.get(id);
    if (confirm === undefined) return;
    this.#next.delete(id);
    this.#sending.add(id);
    this.#run(id, confirm, () => {
      this.#sending.delete(id);
      this.#send(id);
    });
  }

  #run(id: string, confirm: PendingConfirm, then?: () => void): void {
    this.#call(id, confirm.entry).then(
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
  async #call(id: string, entry: CachedEntry): Promise<number> {
    const status = this.#client.unavailable();
    if (status !== undefined) throw new Error(`redis client is not ready (status ${status})`);
    if (this.#keys === undefined) return this.#callOnCluster(id, entry);
    let tags = this.#wired.get(entry);
    if (tags === undefined) {
      tags = entry.tags.map(wire);
      this.#wired.set(entry, tags);
    }
    const args = [this.#entryKey(id), this.#keys.records, this.#keys.run, String(entry.startedAt), ...tags];
    const [now, held] = (await this.#client.run(SCRIPTS.confirm, args)) as [number, number];
    this.#records.sample(now);
    return held === 1 ? now : 0;
  }

  // The entry's own bucket (the fill held, its epoch, its tags there) and each other bucket of its tags, in parallel.
  async #callOnCluster(id: string, entry: CachedEntry): Promise<number> {
    const started = String(entry.startedAt);
    const replies = (await Promise.all(
      this.#records.plan(id, entry).groups.map(([n, tags], i) => {
        const { records, run } = this.#bucketKeys[n]!;
        return i === 0
          ? this.#client.run(SCRIPTS.confirm, [this.#entryKey(id), records, run, started, ...tags])
          : this.#client.run(CLUSTER_SCRIPTS.confirm, [records, run, started, ...tags]);
      }),
    )) as Array<[number, number]>;
    for (const [now] of replies) this.#records.sample(now);
    // The stamp of the lookup: the clock of the entry's own node, as a lookup in the cluster store answers.
    return replies.every(([, held]) => held === 1) ? replies[0]![0] : 0;
  }
}
