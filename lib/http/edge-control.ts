/*
 * What a cached route tells the shared cache in front of the app (`createCache({ edge })`): `Surrogate-Control`
 * (W3C Edge Architecture 1.0), which edges read and strip, so the client's own `Cache-Control` stays the handler's.
 */
import { performance } from 'node:perf_hooks';
import type { EdgeSettings } from '../engine/purger.js';
import type { StatusHeader } from './cache-status.js';

export const SURROGATE_CONTROL = 'Surrogate-Control';
const NO_STORE: readonly StatusHeader[] = [[SURROGATE_CONTROL, 'no-store']];
const NONE: readonly StatusHeader[] = [];

/** The edge headers of one route. */
export class EdgeControl {
  readonly #edge: EdgeSettings | undefined;
  /** Whether the route sends `Surrogate-Control` at all (the cache has an `edge`). */
  readonly active: boolean;
  /** For a response the edge must not keep (not stored here, stale, passed, or not purgeable by tag). */
  readonly refused: readonly StatusHeader[];

  /** `tagged`: the route sends the CDN tag header; an untagged response could never be purged, so it is never offered. */
  constructor(edge: EdgeSettings | undefined, tagged: boolean) {
    this.#edge = tagged ? edge : undefined;
    this.active = edge !== undefined;
    this.refused = edge === undefined ? NONE : NO_STORE;
  }

  /**
   * The edge's lifetime for a response whose data is as of `enteredAt` (`performance.now()` when the request
   * entered the app: a fill reads after it, a hit's lookup judged the entry after it), at most `ttlLeft` ms (the
   * entry's own TTL, the safety net). `fetch-within` is the longest the edge may take from its request to this
   * response and still store it: past it, the response may have read its data before an expiry whose purge the
   * edge has already run (edge-purge.ts says why half the window). The app checks the part of that time it sees:
   * a response already older than that here, or one whose fill an expiry of this process doomed, is not offered.
   */
  grant(enteredAt: number, ttlLeft: number, doomed: boolean): readonly StatusHeader[] {
    const edge = this.#edge;
    if (edge === undefined) return this.refused;
    const seconds = Math.floor(Math.min(edge.ttl, ttlLeft) / 1000);
    if (doomed || seconds < 1 || performance.now() - enteredAt > edge.fetchWithin) return NO_STORE;
    return [[SURROGATE_CONTROL, `max-age=${seconds}, fetch-within=${edge.fetchWithin}`]];
  }
}
