/*
 * Where the store's clock stood at a moment of this process, conservatively: a fill is dated back to when its
 * request entered the app, on the store's clock (µs), and must never be dated later than that.
 *
 * Every answer from the store carries its clock (`stamp`, read while it ran); the answer arrives later, so at any
 * local instant t the store's clock was at least `stamp + (t - arrival)`: each answer gives a lower bound of the
 * offset between the two clocks, and the one that arrived quickest is the tightest. One slow answer (a busy event
 * loop) only loosens its own sample; the best sample keeps the bound within a round trip of the truth. Clocks may
 * drift apart (NTP slews by at most 500 ppm), so a sample loses that much per µs of age; a store clock stepped
 * back is caught by the lookup's own upper bound, and its own lower bound is used instead.
 */

/** Drift between the two clocks a sample is allowed to have accumulated, per µs of its age. */
const DRIFT = 500e-6;

export class StoreClock {
  #offset = Number.NEGATIVE_INFINITY;
  #sampledAt = 0;

  /** Notes an answer's `stamp` (µs, store clock) that arrived at `arrivedAt` (`performance.now()`, ms). */
  sample(stamp: number, arrivedAt: number): void {
    const offset = stamp - arrivedAt * 1000;
    if (offset >= this.#aged(arrivedAt)) {
      this.#offset = offset;
      this.#sampledAt = arrivedAt;
    }
  }

  #aged(at: number): number {
    return this.#offset - DRIFT * Math.abs(at - this.#sampledAt) * 1000;
  }

  /**
   * The store's clock at local instant `at` (ms), at most what it was: from the best sample, checked against the
   * lookup that just answered (`stamp`, sent at `sentAt` when known, arrived at `arrivedAt`).
   */
  at(at: number, stamp: number, arrivedAt: number, sentAt: number | undefined): number {
    const own = stamp - Math.ceil((arrivedAt - at) * 1000);
    if (sentAt === undefined || this.#offset === Number.NEGATIVE_INFINITY) return own;
    const best = Math.floor(at * 1000 + this.#aged(at));
    // The lookup ran after it was sent: the store's clock at `at` was at most this. Above it, trust nothing old.
    const ceiling = stamp - Math.floor((sentAt - at) * 1000);
    return best > ceiling ? own : Math.max(best, own);
  }
}
