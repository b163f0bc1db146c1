/*
 * The options of the Redis store and the checks they pass before the store uses them.
 */
import { checkOptionNames, positiveOption } from '../../core/options.js';
import type { RedisClient } from './client.js';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected (or connecting) client: ioredis (`new Redis(url)`) or node-redis (`createClient({ url })`, whose
   * `connect()` the application calls). The store never quits it. Let the client fail fast rather than queue during
   * an outage, e.g. `new Redis(url, { maxRetriesPerRequest: 1 })` or `createClient({ url, disableOfflineQueue: true })`.
   */
  client: RedisClient;
  /** Start of every key this store writes; `clear()` removes only these. It must not start another store's prefix. Default `'gc:'`. */
  prefix?: string;
  /** Largest entry accepted, in bytes (body, headers, tags and metadata). Default 8 MiB. */
  maxEntryBytes?: number;
  /**
   * Bound on the group-expiry records kept. Past it the oldest go and the epoch rises over them, so their entries
   * read as stale rather than fresh. Default 1,000,000.
   */
  maxRecords?: number;
  /**
   * Length of the expiry stream (`<prefix>stream`, trimmed approximately): every expiry and `clear()` is published
   * there, in the same script that records it, for the tiered stores of every instance (`tieredStore`). A reader
   * that falls further behind than this drops its in-process tier and starts again. 0 publishes nothing: only for
   * a fleet where no instance runs a tiered store. On Redis Cluster each of the 16 buckets has its own stream,
   * trimmed to a 16th of this. Default 10,000.
   */
  streamLength?: number;
  /**
   * Redis Cluster only: the most two nodes' clocks may differ, in ms (keep them in sync with NTP). Each expiry is
   * stamped this far ahead of its node's clock, so fills that start within it after an expiry of one of their groups
   * are served but not stored. 0 only when every node runs on one machine. Default 10.
   */
  clockSkew?: number;
  /**
   * Redis Cluster only: an expiry answers once this many replicas of its node hold it (`WAIT`), and fails otherwise
   * (retried by the cache; the write answers 503), so a failover cannot lose it. Set it to 1 when masters have
   * replicas. Default 0.
   */
  waitReplicas?: number;
  /** Redis Cluster only: how long an expiry waits for its replicas (`waitReplicas`), in ms. Default 200. */
  replicaTimeout?: number;
}

const OPTION_NAMES = Object.keys({
  client: true,
  prefix: true,
  maxEntryBytes: true,
  maxRecords: true,
  streamLength: true,
  clockSkew: true,
  waitReplicas: true,
  replicaTimeout: true,
} satisfies Record<keyof RedisStoreOptions, true>);

/** The checks that come before the store touches the client: the options' shape and names, the prefix's type. */
export function checkOptions(options: RedisStoreOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, OPTION_NAMES, 'redisStore()');
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw new TypeError('option prefix must be a string');
}

/** The options with their defaults, each checked, in the order listed. */
export interface RedisStoreSettings {
  prefix: string;
  maxEntryBytes: number;
  maxRecords: number;
  streamLength: number;
  clockSkew: number;
  waitReplicas: number;
  replicaTimeout: number;
}

/** Reads the options past {@link checkOptions}: defaults filled in, a TypeError naming the first one out of range. */
export function settingsOf(options: RedisStoreOptions): RedisStoreSettings {
  const raw = options as unknown as Record<string, unknown>;
  const maxEntryBytes = positiveOption(raw, 'maxEntryBytes', 8 * 2 ** 20, true);
  const maxRecords = positiveOption(raw, 'maxRecords', 1_000_000, true);
  const streamLength = options.streamLength ?? 10_000;
  if (!Number.isInteger(streamLength) || streamLength < 0)
    throw new TypeError(`option streamLength must be an integer >= 0, got ${String(streamLength)}`);
  const clockSkew = options.clockSkew ?? 10;
  if (!(typeof clockSkew === 'number' && Number.isFinite(clockSkew) && clockSkew >= 0))
    throw new TypeError(`option clockSkew must be a number of ms >= 0, got ${String(clockSkew)}`);
  const waitReplicas = options.waitReplicas ?? 0;
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0)
    throw new TypeError(`option waitReplicas must be an integer >= 0, got ${String(waitReplicas)}`);
  const replicaTimeout = positiveOption(raw, 'replicaTimeout', 200, true);
  return { prefix: options.prefix ?? 'gc:', maxEntryBytes, maxRecords, streamLength, clockSkew, waitReplicas, replicaTimeout };
}
