/*
 * The command line's connection: an ioredis client (one node or a Cluster) that fails fast instead of retrying, the
 * library's own Redis store on it, and a cache on that store, so that an expiry is recorded, published on the expiry
 * stream and stamped exactly as an app's write would.
 */
import type { Cluster, Redis } from 'ioredis';
import { createCache } from '../lib/engine/cache.js';
import type { GroupCache } from '../lib/engine/cache.js';
import { RedisStore } from '../lib/stores/redis/store.js';
import type { Target } from './args.js';
import { UsageError } from './args.js';

/** Redis could not be reached (exit code 3). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export interface Connection {
  client: Redis | Cluster;
  store: RedisStore;
  cache: GroupCache;
  /** The cache's `error` events, to name why a command failed. */
  errors: Error[];
  /** Where it is connected, for messages: the URL without its password, or the cluster's nodes. */
  where: string;
  close(): Promise<void>;
}

async function ioredis(): Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> {
  try {
    const loaded = await import('ioredis');
    return { Redis: loaded.Redis, Cluster: loaded.Cluster };
  } catch {
    throw new UsageError('the group-cache command line needs ioredis: npm install ioredis');
  }
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function connectClient(target: Target): Promise<{ client: Redis | Cluster; where: string }> {
  const { Redis: RedisClient, Cluster: ClusterClient } = await ioredis();
  const ms = target.timeout;
  if (target.cluster !== undefined) {
    const client = new ClusterClient(target.cluster, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      slotsRefreshTimeout: ms,
      redisOptions: { connectTimeout: ms, maxRetriesPerRequest: 1 },
    });
    const where = target.cluster.map(({ host, port }) => `${host}:${port}`).join(',');
    await open(() => client.connect(), client, `the Redis Cluster at ${where}`, ms);
    return { client, where: `cluster ${where}` };
  }
  const url = target.redis ?? 'redis://127.0.0.1:6379';
  const where = redacted(url);
  const client = new RedisClient(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: ms,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  await open(() => client.connect(), client, where, ms);
  return { client, where };
}

async function open(connect: () => Promise<void>, client: Redis | Cluster, where: string, ms: number): Promise<void> {
  // The socket's own error (ECONNREFUSED, ENOTFOUND, WRONGPASS) says more than "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    await withTimeout(connect(), ms, 'connecting');
    await withTimeout(client.ping(), ms, 'PING');
  } catch (error) {
    client.disconnect();
    const reason = cause ?? (error as Error);
    throw new UnreachableError(`cannot reach Redis at ${where}: ${reason.message || String(reason)}`);
  }
}

/** Connects to the target and builds the library's store and cache on it. */
export async function connectTarget(target: Target): Promise<Connection> {
  const { client, where } = await connectClient(target);
  const options = {
    client,
    prefix: target.prefix,
    ...(target.maxRecords === undefined ? {} : { maxRecords: target.maxRecords }),
    ...(target.streamLength === undefined ? {} : { streamLength: target.streamLength }),
    ...(target.clockSkew === undefined ? {} : { clockSkew: target.clockSkew }),
    ...(target.waitReplicas === undefined ? {} : { waitReplicas: target.waitReplicas }),
  };
  let store: RedisStore;
  try {
    store = new RedisStore(options);
  } catch (error) {
    client.disconnect();
    throw new UsageError((error as Error).message);
  }
  // No retry outlives the command: a failed expiry is reported, and the operator runs it again.
  const cache = createCache({ store, storeTimeout: target.timeout, retryInterval: 2 ** 30, expireFromCodeOnly: true });
  const errors: Error[] = [];
  cache.on('error', (error) => errors.push(error));
  return {
    client,
    store,
    cache,
    errors,
    where,
    async close() {
      await cache.close();
      client.disconnect();
    },
  };
}
