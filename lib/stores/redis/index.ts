/**
 * The `group-cache/redis` entry: the Redis store, shared by every process and machine that uses the same Redis and
 * prefix, and the tiered store, an in-process tier in front of it.
 */

export type { NodeRedisClient, RedisClient } from './client.js';
export { RedisStore, redisStore } from './store.js';
export type { RedisStoreOptions } from './store-options.js';
export { TieredStore, type TieredStoreOptions, type TierOptions, type TierStats, tieredStore } from './tiered.js';
