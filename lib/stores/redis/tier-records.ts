/*
 * What a tiered store knows of the expiries Redis recorded, to judge the entries of its tier as the Redis store
 * would: per tag, the latest expiry stamp seen; per bucket (one on one node, BUCKETS on a cluster), a floor (the
 * epoch, or a record dropped) below which every fill reads as expired; and a lower bound of Redis's clock, for the
 * stamp of a lookup the tier answers. The stream follower (stream-follower.ts) and the store's own expiries feed it.
 */
import { performance } from 'node:perf_hooks';
import type { CachedEntry } from '../contract.js';
import { BUCKETS, bucketOf, type ClusterLayout } from './cluster.js';
import { wire } from './wire.js';

// Allowance for the two clocks drifting apart (NTP slews by at most 500 ppm): the tier's stamp stays below Redis's.
const DRIFT = 1e-3;

/** On a cluster, per entry: its id, the buckets whose floors judge it (its own first), and its tags by bucket. */
export interface Plan {
  id: string;
  buckets: number[];
  groups: Array<[bucket: number, tags: string[]]>;
}

export class TierRecords {
  readonly #layout: ClusterLayout | undefined;
  readonly #maxRecords: number;
  // Per tag, the latest expiry stamp seen (Redis clock); Map order is arrival order, pruning takes the front.
  readonly #records = new Map<string, number>();
  readonly #floors: number[];
  // The longest time an entry of the tier was kept (ms), never lowered: records older than it can be dropped.
  #longestKept = 0;
  readonly #plans = new WeakMap<CachedEntry, Plan>();
  // Lower bound of Redis's clock: a stamp and when it arrived (performance.now()).
  #clockStamp = 0;
  #clockAt = 0;
  #handedOut = 0;

  constructor(layout: ClusterLayout | undefined, maxRecords: number) {
    this.#layout = layout;
    this.#maxRecords = maxRecords;
    this.#floors = new Array<number>(layout === undefined ? 1 : BUCKETS).fill(0);
  }

  /** Number of tags with a record. */
  get size(): number {
    return this.#records.size;
  }

  // The latest expiry stamp among the entry's tags, the floors that judge it included.
  expiredAt(id: string, entry: CachedEntry): number {
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
    for (const n of this.plan(id, entry).buckets) {
      const floor = this.#floors[n]!;
      if (floor > latest) latest = floor;
    }
    return latest;
  }

  /** On a cluster, computed once per entry (the tier holds an entry under one id; another id computes it again). */
  plan(id: string, entry: CachedEntry): Plan {
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

  raiseFloor(bucket: number, epoch: number): void {
    if (epoch > this.#floors[bucket]!) this.#floors[bucket] = epoch;
  }

  /** An entry joined the tier, to be kept `ms` ms: records may not be dropped for age before that. */
  kept(ms: number): void {
    if (ms > this.#longestKept) this.#longestKept = ms;
  }

  record(tags: readonly string[], stamp: number): void {
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
      this.raiseFloor(this.#bucketOfTag(tag), at);
    }
  }

  /** Forgets every record (the tier they judged was dropped); the floors stay. */
  clear(): void {
    this.#records.clear();
  }

  // --- Redis's clock, from below ---

  #clock(at: number): number {
    return this.#clockStamp + Math.floor((at - this.#clockAt) * 1000 * (1 - DRIFT));
  }

  /** A stamp Redis sent (its clock, µs). */
  sample(stamp: number): void {
    const at = performance.now();
    if (stamp >= this.#clock(at)) {
      this.#clockStamp = stamp;
      this.#clockAt = at;
    }
  }

  /** A stamp for a lookup the tier answered: never above Redis's clock, never below one handed out before. */
  stamp(): number {
    const now = this.#clock(performance.now());
    if (now > this.#handedOut) this.#handedOut = now;
    return this.#handedOut;
  }
}
