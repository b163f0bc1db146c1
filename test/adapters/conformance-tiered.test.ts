import express from 'express';
import fastify from 'fastify';
import { type CacheOptions, createCache, type GroupCache } from 'group-cache';
import { redisStore, tieredStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import Koa from 'koa';
import { expressDriver } from '../drivers/express.js';
import { fastifyDriver } from '../drivers/fastify.js';
import { honoDriver } from '../drivers/hono.js';
import { koaDriver } from '../drivers/koa.js';
import { adapterConformance } from '../helpers/adapter-conformance.js';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from '../helpers/redis-server.js';

// The whole adapter table on the tiered store, through the newest major of each framework: the tier sits below
// the adapter, so every HTTP rule must hold when hits come from the in-process tier. One redis-server for all.
let server: RedisServer | undefined;
let client: Redis | undefined;
let suites = 0;
for (const driver of [
  expressDriver('Express 5', express),
  koaDriver('Koa 3', Koa),
  fastifyDriver('Fastify 5', fastify),
  honoDriver('Hono 4'),
]) {
  suites++;
  adapterConformance(driver, {
    label: 'tieredStore',
    async setup(context) {
      server ??= await startRedisOrSkip(context);
      client ??= await connect(server);
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
      // The last table to finish stops the server the first one started.
      if (--suites > 0) return;
      client?.disconnect();
      await server?.stop();
    },
  });
}
