import express from 'express';
import fastify from 'fastify';
import { tieredStore } from 'group-cache/redis';
import Koa from 'koa';
import { expressDriver } from '../drivers/express.js';
import { fastifyDriver } from '../drivers/fastify.js';
import { honoDriver } from '../drivers/hono.js';
import { koaDriver } from '../drivers/koa.js';
import { adapterConformance } from '../helpers/adapter-conformance.js';
import { adapterRunsOnRedis } from '../helpers/redis-fixtures.js';

// The whole adapter table on the tiered store, through the newest major of each framework: the tier sits below
// the adapter, so every HTTP rule must hold when hits come from the in-process tier. One redis-server for all.
const onTiered = adapterRunsOnRedis()('tieredStore', 'ioredis', (redis, options) =>
  tieredStore({ redis, l1: { now: options.now } }),
);
for (const driver of [
  expressDriver('Express 5', express),
  koaDriver('Koa 3', Koa),
  fastifyDriver('Fastify 5', fastify),
  honoDriver('Hono 4'),
]) {
  adapterConformance(driver, { ...onTiered });
}
