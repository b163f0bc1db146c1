import express from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import fastify4 from 'fastify4';
import { type CacheOptions, createCache, type GroupCache } from 'group-cache';
import { redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import Koa from 'koa';
import Koa2 from 'koa2';
import { expressDriver } from '../drivers/express.js';
import { fastifyDriver } from '../drivers/fastify.js';
import { honoDriver } from '../drivers/hono.js';
import { koaDriver } from '../drivers/koa.js';
import { type AdapterDriver, adapterConformance, type ConformanceOptions } from '../helpers/adapter-conformance.js';
import {
  connect,
  connectClient,
  type RedisServer,
  startRedisOrSkip,
  type TestClient,
  uniquePrefix,
} from '../helpers/redis-server.js';

const drivers: AdapterDriver[] = [
  expressDriver('Express 5', express),
  expressDriver('Express 4', express4),
  koaDriver('Koa 3', Koa),
  koaDriver('Koa 2', Koa2),
  fastifyDriver('Fastify 5', fastify),
  fastifyDriver('Fastify 4', fastify4 as unknown as typeof fastify),
  honoDriver('Hono 4'),
];

// One redis-server for every adapter's run; each cache gets its own key prefix.
let server: RedisServer | undefined;
let client: Redis | undefined;
const onRedis: ConformanceOptions = {
  label: 'redisStore',
  async setup(context) {
    server ??= await startRedisOrSkip(context);
    client ??= await connect(server);
  },
  makeCache(options: CacheOptions): GroupCache {
    if (client === undefined) throw new Error('the Redis suite was not set up');
    return createCache({ ...options, store: redisStore({ client, prefix: uniquePrefix('adapters') }) });
  },
  async disposeCache(cache) {
    await cache.clear();
    await cache.close();
  },
};
// The same table through a node-redis client, on the same server.
let nodeClient: TestClient | undefined;
const onNodeRedis: ConformanceOptions = {
  label: 'redisStore (node-redis)',
  async setup(context) {
    server ??= await startRedisOrSkip(context);
    nodeClient ??= await connectClient('node-redis', server);
  },
  makeCache(options: CacheOptions): GroupCache {
    if (nodeClient === undefined) throw new Error('the node-redis suite was not set up');
    return createCache({ ...options, store: redisStore({ client: nodeClient.client, prefix: uniquePrefix('adapters') }) });
  },
  async disposeCache(cache) {
    await cache.clear();
    await cache.close();
  },
};
after(async () => {
  client?.disconnect();
  nodeClient?.disconnect();
  await server?.stop();
});

// A new adapter is a driver in the list above; a new store is one more line here. Every framework version runs on
// the memory store; on Redis, the newest major of each framework: the store sits below the adapter, and the older
// majors differ from the newer ones only in how they write a response, which the memory runs already cover. This
// keeps npm test near a minute on this machine's two cores.
const newest = [drivers[0], drivers[2], drivers[4], drivers[6]].filter((driver) => driver !== undefined);
for (const driver of drivers) adapterConformance(driver);
for (const driver of newest) adapterConformance(driver, { ...onRedis });
// The client sits below the store, so Express 5 and Koa 3 suffice for node-redis: the cross product of every
// framework version with every client would add seconds to CI and no coverage.
for (const driver of newest.slice(0, 2)) adapterConformance(driver, { ...onNodeRedis });
