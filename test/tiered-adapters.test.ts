import express from 'express';
import { type CacheOptions, createCache, type GroupCache } from 'group-cache';
import { redisStore, tieredStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { adapterConformance } from './adapter-conformance.js';
import { expressDriver } from './drivers/express.js';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from './helpers/redis-server.js';
import { SCENARIOS as MORE } from './scenarios/index.js';

// The whole adapter table on the tiered store, through Express 5: the tier sits below the adapter, so one
// framework shows that every HTTP rule holds when hits come from the in-process tier.
let server: RedisServer | undefined;
let client: Redis | undefined;
adapterConformance(expressDriver('Express 5', express), {
  label: 'tieredStore',
  scenarios: MORE,
  async setup(context) {
    server = await startRedisOrSkip(context);
    client = await connect(server);
  },
  makeCache(options: CacheOptions): GroupCache {
    if (client === undefined) throw new Error('the tiered suite was not set up');
    const redis = redisStore({ client, prefix: uniquePrefix('tiered-adapters') });
    return createCache({ ...options, store: tieredStore({ redis, l1: { now: options.now } }) });
  },
  async disposeCache(cache) {
    await cache.clear();
    await cache.close();
  },
  async teardown() {
    client?.disconnect();
    await server?.stop();
  },
});
