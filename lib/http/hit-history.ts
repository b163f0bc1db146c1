/*
 * The inspector's history of lookups: one bucket per minute in a ring of fixed size, so that the page opened after
 * hours of traffic draws them at once, and memory stays the same whatever the traffic (a bucket is a handful of
 * counters; a minute nothing happened in keeps no bucket of its own).
 */

/** The counters of one minute. */
export interface HistoryBucket {
  /** The minute's start (ms since the epoch, on the cache's clock). */
  at: number;
  hits: number;
  stale: number;
  misses: number;
  /** Misses that found their entry invalidated by a group or key expiry (counted in `misses` too). */
  invalidated: number;
  bypasses: number;
  /** Fills that ran and were not stored. */
  notStored: number;
  /** Expiries (one per `expire` event, whatever its number of groups). */
  expires: number;
}

export type HistoryCounter = Exclude<keyof HistoryBucket, 'at'>;

export const MINUTE = 60_000;

function emptyBucket(at: number): HistoryBucket {
  return { at, hits: 0, stale: 0, misses: 0, invalidated: 0, bypasses: 0, notStored: 0, expires: 0 };
}

/** A fixed ring of per-minute buckets: the last `minutes` minutes. */
export class HitHistory {
  readonly minutes: number;
  readonly #ring: (HistoryBucket | undefined)[];
  #latest = -Infinity;

  constructor(minutes: number) {
    this.minutes = minutes;
    this.#ring = new Array<HistoryBucket | undefined>(minutes);
  }

  /** Adds one to `counter` in the minute of `at`; a time before the latest minute seen counts in the latest. */
  count(counter: HistoryCounter, at: number): void {
    // A clock stepped back (a wall clock set back) must not reset a bucket that already holds newer minutes.
    const minute = Math.max(Math.floor(at / MINUTE), this.#latest);
    this.#latest = minute;
    const slot = minute % this.minutes;
    let bucket = this.#ring[slot];
    if (bucket === undefined || bucket.at !== minute * MINUTE) {
      bucket = emptyBucket(minute * MINUTE);
      this.#ring[slot] = bucket;
    }
    bucket[counter]++;
  }

  /** The buckets of the last `minutes` minutes before `now` (its own minute included) that saw anything, oldest first. */
  buckets(now: number): HistoryBucket[] {
    const current = Math.max(Math.floor(now / MINUTE), this.#latest);
    const from = (current - this.minutes + 1) * MINUTE;
    return this.#ring
      .filter((bucket): bucket is HistoryBucket => bucket !== undefined && bucket.at >= from)
      .sort((a, b) => a.at - b.at)
      .map((bucket) => ({ ...bucket }));
  }
}
