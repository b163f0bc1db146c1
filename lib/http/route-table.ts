/*
 * The inspector's table of routes: what each route pattern (`where`: `GET /users/:id`) got from the cache, counted
 * from the cache's events. Its size is fixed: at most `maxRoutes` rows, then every new route counts in one
 * `(other routes)` row (a groupCache() mounted app-wide names requests by path, which a client can vary at will).
 * Reasons are the fixed keys of `stats()`, so a row's maps cannot grow either.
 */
import { type BypassReason, bypassReason, type NotStoredReason } from '../engine/reasons.js';

/** The counters of one route, as the inspector's `api/routes` answers them. */
export interface RouteReport {
  /** The route's `where` (`GET /users/:id`), or `(other routes)` for the rows past `maxRoutes`. */
  route: string;
  /** Hits, stale copies, misses and bypasses. */
  requests: number;
  hits: number;
  stale: number;
  misses: number;
  /** Misses that found their entry invalidated by an expiry (counted in `misses` too). */
  invalidated: number;
  /** `(hits + stale) / (hits + stale + misses)`, or null before any lookup. */
  hitRatio: number | null;
  bypasses: number;
  /** Bypasses by reason (only reasons seen). */
  bypassReasons: Partial<Record<BypassReason, number>>;
  notStored: number;
  /** Fills not stored, by reason (only reasons seen). */
  notStoredReasons: Partial<Record<NotStoredReason, number>>;
  stores: number;
  /** Body bytes served from the cache by hits. */
  bytesFromCache: number;
  /** Mean time of this route's stored fills (request in to entry stored), or null before one. */
  meanFillMs: number | null;
  /** Handler time hits saved: hits times the mean fill time, or null before a fill was timed. */
  savedMs: number | null;
}

export const OTHER_ROUTES = '(other routes)';

class RouteRow {
  readonly route: string;
  hits = 0;
  stale = 0;
  misses = 0;
  invalidated = 0;
  bypasses = 0;
  notStored = 0;
  stores = 0;
  bytesFromCache = 0;
  fillMs = 0;
  readonly bypassReasons: Partial<Record<BypassReason, number>> = {};
  readonly notStoredReasons: Partial<Record<NotStoredReason, number>> = {};

  constructor(route: string) {
    this.route = route;
  }

  report(): RouteReport {
    const lookups = this.hits + this.stale + this.misses;
    const meanFillMs = this.stores > 0 ? this.fillMs / this.stores : null;
    return {
      route: this.route,
      requests: lookups + this.bypasses,
      hits: this.hits,
      stale: this.stale,
      misses: this.misses,
      invalidated: this.invalidated,
      hitRatio: lookups > 0 ? (this.hits + this.stale) / lookups : null,
      bypasses: this.bypasses,
      bypassReasons: { ...this.bypassReasons },
      notStored: this.notStored,
      notStoredReasons: { ...this.notStoredReasons },
      stores: this.stores,
      bytesFromCache: this.bytesFromCache,
      meanFillMs,
      savedMs: meanFillMs === null ? null : meanFillMs * this.hits,
    };
  }
}

/** Which routes matter first: those whose requests the handler served most (misses and bypasses), then the busiest. */
export function byHandlerRuns(a: RouteReport, b: RouteReport): number {
  return b.misses + b.bypasses - (a.misses + a.bypasses) || b.requests - a.requests || (a.route < b.route ? -1 : 1);
}

export class RouteTable {
  readonly maxRoutes: number;
  readonly #rows = new Map<string, RouteRow>();
  readonly #other = new RouteRow(OTHER_ROUTES);

  constructor(maxRoutes: number) {
    this.maxRoutes = maxRoutes;
  }

  #row(route: string): RouteRow {
    let row = this.#rows.get(route);
    if (row === undefined) {
      if (this.#rows.size >= this.maxRoutes) return this.#other;
      row = new RouteRow(route);
      this.#rows.set(route, row);
    }
    return row;
  }

  hit(route: string, bytes: number): void {
    const row = this.#row(route);
    row.hits++;
    row.bytesFromCache += bytes;
  }

  stale(route: string): void {
    this.#row(route).stale++;
  }

  miss(route: string): void {
    this.#row(route).misses++;
  }

  invalidated(route: string): void {
    this.#row(route).invalidated++;
  }

  bypass(route: string, reason: string): void {
    const row = this.#row(route);
    row.bypasses++;
    const key = bypassReason(reason);
    row.bypassReasons[key] = (row.bypassReasons[key] ?? 0) + 1;
  }

  notStored(route: string, reason: NotStoredReason): void {
    const row = this.#row(route);
    row.notStored++;
    row.notStoredReasons[reason] = (row.notStoredReasons[reason] ?? 0) + 1;
  }

  stored(route: string, ms: number): void {
    const row = this.#row(route);
    row.stores++;
    row.fillMs += ms;
  }

  /** Every row (the other routes' last, when any), most handler runs first. */
  report(): RouteReport[] {
    const rows = [...this.#rows.values()].map((row) => row.report()).sort(byHandlerRuns);
    const other = this.#other.report();
    if (other.requests > 0 || other.notStored > 0 || other.stores > 0) rows.push(other);
    return rows;
  }
}
