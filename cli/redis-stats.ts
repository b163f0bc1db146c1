/*
 * `group-cache stats`: what Redis alone says about one prefix, read with plain commands (nothing is written): the
 * expiry records and the epoch under them, the longest TTL seen, the expiry stream the tiered stores follow, the
 * latest expiry recorded, the Redis process and its eviction policy, and (asked for, since it SCANs) the entries.
 * The key layout is the Redis store's (docs/api.md, `redisStore`); on a Cluster, each of the 16 buckets has its own.
 */
import type { Cluster, Redis } from 'ioredis';
import { describeTag } from '../lib/core/tag-names.js';
import { BUCKETS } from '../lib/stores/redis/cluster.js';
import type { RedisStore } from '../lib/stores/redis/store.js';
import { unwire } from '../lib/stores/redis/wire.js';

const EPOCH = '\0epoch';

/** What `stats` reports (the `--json` shape). */
export interface PrefixStats {
  prefix: string;
  mode: 'standalone' | 'cluster';
  redis: { version: string; runId: string; uptimeSeconds: number; usedMemoryBytes: number; maxmemoryPolicy: string };
  /** Group and key expiry records kept (epochs not counted). */
  records: number;
  /** Entries started at or before it read as expired (records lost, dropped, or a clear()); null when none yet. */
  epoch: string | null;
  /** On a Cluster: the oldest and newest bucket epoch. */
  epochs?: { oldest: string | null; newest: string | null };
  /** Longest entry TTL seen (ms): how long an expiry record can matter. */
  longestTtlMs: number | null;
  /** The expiry stream tiered stores follow: messages kept, and published since the prefix began. */
  stream: { length: number; published: number };
  /** The latest group or key expiry still recorded. */
  lastExpiry: { name: string; at: string } | null;
  /** One node: whether the records were last written by the Redis process running now (false after a restart or failover: the next lookup raises the epoch). */
  writtenByThisServer?: boolean;
  /** Entries held (only with --entries), else null. */
  entries: number | null;
  warnings: string[];
}

interface Bucket {
  records: number;
  epoch: number | null;
  longestTtl: number | null;
  streamLength: number;
  published: number;
  last: { tag: string; stamp: number } | null;
  run: string | null;
}

const iso = (micros: number | null): string | null => (micros === null ? null : new Date(micros / 1000).toISOString());
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function infoField(info: string, field: string): string {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim() ?? '';
}

async function bucket(client: Redis | Cluster, keys: { records: string; sequence: string; stream: string; run: string }, ttl: string): Promise<Bucket> {
  const [records, epoch, top, longest, published, length, run] = await Promise.all([
    client.zcard(keys.records),
    client.zscore(keys.records, EPOCH),
    client.zrevrange(keys.records, 0, 1, 'WITHSCORES'),
    client.get(ttl),
    client.get(keys.sequence),
    client.xlen(keys.stream),
    client.get(keys.run),
  ]);
  let last: Bucket['last'] = null;
  for (let i = 0; i + 1 < top.length; i += 2) {
    if (top[i] === EPOCH) continue;
    last = { tag: unwire(top[i] as string), stamp: Number(top[i + 1]) };
    break;
  }
  return {
    records: Math.max(0, records - (epoch === null ? 0 : 1)),
    epoch: num(epoch),
    longestTtl: num(longest),
    streamLength: length,
    published: num(published) ?? 0,
    last,
    run,
  };
}

async function countEntries(client: Redis | Cluster, store: RedisStore): Promise<number> {
  const escaped = store.prefix.replace(/[*?[\]\\]/g, '\\$&');
  const scan = async (node: Redis, match: string, own: RegExp): Promise<number> => {
    let total = 0;
    for await (const keys of node.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>)
      total += keys.filter((key) => own.test(key)).length;
    return total;
  };
  const prefix = store.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (!store.cluster) return scan(client as Redis, `${escaped}e:*`, new RegExp(`^${prefix}e:`));
  const counts = await Promise.all(
    (client as Cluster).nodes('master').map((node) => scan(node, `{${escaped}*`, new RegExp(`^\\{${prefix}\\d+\\}e:`))),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

function merge(buckets: Bucket[]): Omit<PrefixStats, 'prefix' | 'mode' | 'redis' | 'entries' | 'warnings'> {
  const epochs = buckets.map((b) => b.epoch).filter((e): e is number => e !== null);
  const lasts = buckets.map((b) => b.last).filter((l): l is NonNullable<Bucket['last']> => l !== null);
  const last = lasts.sort((a, b) => b.stamp - a.stamp)[0];
  const ttls = buckets.map((b) => b.longestTtl).filter((t): t is number => t !== null);
  return {
    records: buckets.reduce((sum, b) => sum + b.records, 0),
    epoch: epochs.length === 0 ? null : iso(Math.max(...epochs)),
    longestTtlMs: ttls.length === 0 ? null : Math.max(...ttls),
    stream: {
      length: buckets.reduce((sum, b) => sum + b.streamLength, 0),
      published: buckets.reduce((sum, b) => sum + b.published, 0),
    },
    lastExpiry: last === undefined ? null : { name: describeTag(last.tag), at: iso(last.stamp) as string },
  };
}

function warningsOf(stats: PrefixStats): string[] {
  const warnings: string[] = [];
  if (stats.redis.maxmemoryPolicy.startsWith('allkeys-'))
    warnings.push(
      `maxmemory-policy is ${stats.redis.maxmemoryPolicy}: Redis may evict the expiry records, which empties the cache in effect; prefer a volatile-* policy`,
    );
  if (stats.epoch === null) warnings.push(`nothing is recorded under prefix ${JSON.stringify(stats.prefix)} yet (no epoch): check --prefix`);
  if (stats.writtenByThisServer === false && stats.epoch !== null)
    warnings.push('the records were last written by another Redis process (a restart or a failover): the next lookup starts a new epoch');
  return warnings;
}

/** Reads the stats of `store`'s prefix through `client` (the same connection). */
export async function prefixStats(client: Redis | Cluster, store: RedisStore, withEntries: boolean): Promise<PrefixStats> {
  const layout = store.layout;
  const node = layout === undefined ? (client as Redis) : ((client as Cluster).nodes('master')[0] as Redis);
  const [server, memory] = await Promise.all([node.info('server'), node.info('memory')]);
  const redis = {
    version: infoField(server, 'redis_version'),
    runId: infoField(server, 'run_id'),
    uptimeSeconds: Number(infoField(server, 'uptime_in_seconds')),
    usedMemoryBytes: Number(infoField(memory, 'used_memory')),
    maxmemoryPolicy: infoField(memory, 'maxmemory_policy'),
  };
  const buckets =
    layout === undefined
      ? [await bucket(client, store.streamKeys, `${store.prefix}ttl`)]
      : await Promise.all(
          Array.from({ length: BUCKETS }, (_, n) => {
            const keys = layout.streamKeys(n);
            return bucket(client, keys, keys.records.replace(/r$/, 't'));
          }),
        );
  const stats: PrefixStats = {
    prefix: store.prefix,
    mode: layout === undefined ? 'standalone' : 'cluster',
    redis,
    ...merge(buckets),
    entries: withEntries ? await countEntries(client, store) : null,
    warnings: [],
  };
  if (layout === undefined) stats.writtenByThisServer = buckets[0]?.run === redis.runId;
  else {
    const epochs = buckets.map((b) => b.epoch).filter((e): e is number => e !== null);
    stats.epochs = { oldest: epochs.length === 0 ? null : iso(Math.min(...epochs)), newest: stats.epoch };
  }
  stats.warnings = warningsOf(stats);
  return stats;
}
