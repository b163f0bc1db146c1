/*
 * The edge in front of the app (Varnish, a CDN): how it is purged, and the settings of `createCache({ edge })`.
 * A purger is the one thing a user writes to reach an edge group-cache does not ship (CloudFront, an internal
 * cache): one method that drops every response tagged with any of some tags.
 */
import { checkOptionNames, positiveOption, ttlOption } from '../core/options.js';

/** How a purge is asked to drop what it matches. */
export interface PurgeOptions {
  /**
   * Mark the matching responses stale instead of removing them (Varnish xkey `softpurge`, Fastly soft purge): the
   * edge may then serve them stale while it refetches, so read-your-writes no longer holds at the edge.
   */
  soft: boolean;
}

/** An edge cache that can drop every response carrying any of some tags (the `Surrogate-Key` / `Cache-Tag` ones). */
export interface Purger {
  /** Names the edge in errors and logs (`varnish http://127.0.0.1:6081`). */
  readonly name: string;
  /**
   * Drops every response tagged with any of `tags` (never empty; as `cdnTags` spells them). Resolves once the edge
   * acknowledged all of them; rejects when it could not, after whatever retries the purger makes, within a bounded
   * time: a write's response waits for it.
   */
  purge(tags: readonly string[], options: PurgeOptions): Promise<void>;
}

/** `createCache({ edge })`: the shared cache in front of the app, and how group expiry reaches it. */
export interface EdgeOptions {
  /** The edges to purge when a group is expired: one purger, or one per edge (say, one per Varnish). */
  purgers: Purger | readonly Purger[];
  /** Purge softly (see {@link PurgeOptions.soft}): gives up read-your-writes at the edge. Default false. */
  soft?: boolean;
  /**
   * How long the edge may keep a response, in ms, sent as `Surrogate-Control: max-age` (whole seconds) and capped
   * by the entry's own remaining TTL on hits. Group expiry purges it sooner. Default 60,000 ms.
   */
  ttl?: number;
  /**
   * The race window, in ms: an expiry's purge is sent this long after the store recorded the expiry, and a response
   * is offered to the edge only if it reaches the edge within half of it from the edge's request
   * (`Surrogate-Control: fetch-within=…`, enforced by the VCL of examples/varnish). So a response that read its data
   * before the expiry either reached the edge before the purge (and is purged) or is not stored. Default 50 ms.
   */
  window?: number;
}

/** {@link EdgeOptions}, checked, with the defaults filled in. */
export interface EdgeSettings {
  purgers: readonly Purger[];
  soft: boolean;
  ttl: number;
  window: number;
  /** Half the window, whole ms: the longest from the edge's request to its response for the edge to store it. */
  fetchWithin: number;
}

const EDGE_OPTION_NAMES = Object.keys({ purgers: true, soft: true, ttl: true, window: true } satisfies Record<
  keyof EdgeOptions,
  true
>);

function checkPurger(value: unknown, index: number): Purger {
  const purger = value as Purger | null;
  if (typeof purger !== 'object' || purger === null || typeof purger.purge !== 'function') {
    throw new TypeError(`option edge.purgers[${index}] must be a purger: an object with a purge(tags, options) function`);
  }
  if (typeof purger.name !== 'string' || purger.name === '') {
    throw new TypeError(`option edge.purgers[${index}] needs a name (a non-empty string)`);
  }
  return purger;
}

/** Checks `createCache()`'s `edge` option, each field by name; undefined when there is no edge. */
export function edgeSettings(value: unknown): EdgeSettings | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError('option edge must be an object ({ purgers, ... })');
  checkOptionNames(value, EDGE_OPTION_NAMES, 'createCache({ edge })');
  const raw = value as Record<string, unknown>;
  const list = Array.isArray(raw.purgers) ? raw.purgers : raw.purgers === undefined ? [] : [raw.purgers];
  if (list.length === 0) throw new TypeError('option edge.purgers must be a purger or a non-empty array of purgers');
  if (raw.soft !== undefined && typeof raw.soft !== 'boolean') throw new TypeError('option edge.soft must be a boolean');
  // Read under their full names, so that a bad value's TypeError names `edge.window`, not a top-level `window`.
  const named = { 'edge.window': raw.window, 'edge.ttl': raw.ttl };
  const window = positiveOption(named, 'edge.window', 50);
  return {
    purgers: list.map(checkPurger),
    soft: raw.soft === true,
    ttl: ttlOption(named, 'edge.ttl', 60_000),
    window,
    fetchWithin: Math.max(1, Math.floor(window / 2)),
  };
}
