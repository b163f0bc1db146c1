import { createRequire } from 'node:module';
import * as nestCommon from '@nestjs/common';
import * as nestCore from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import express from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import fastify4 from 'fastify4';
import * as groupCacheNest from 'group-cache/nest';
import Koa from 'koa';
import Koa2 from 'koa2';
import { expressDriver } from '../drivers/express.js';
import { fastifyDriver } from '../drivers/fastify.js';
import { honoDriver } from '../drivers/hono.js';
import { koaDriver } from '../drivers/koa.js';
import { type NestKit, nestDriver } from '../drivers/nest.js';
import { type AdapterDriver, adapterConformance } from '../helpers/adapter-conformance.js';
import { nestFixture } from '../helpers/nest-fixtures.js';
import { adapterRunsOnRedis } from '../helpers/redis-fixtures.js';

const NEST_12 = (createRequire(import.meta.url)('@nestjs/core/package.json') as { version: string }).version;
const nest12 = (platform: NestKit['platform'], adapter: NestKit['adapter']) => (): NestKit => ({
  common: nestCommon,
  core: nestCore,
  adapter,
  platform,
  groupCache: groupCacheNest,
  version: NEST_12,
});
const [nest11, nest10] = [nestFixture(11), nestFixture(10)];

const drivers: AdapterDriver[] = [
  expressDriver('Express 5', express),
  expressDriver('Express 4', express4),
  koaDriver('Koa 3', Koa),
  koaDriver('Koa 2', Koa2),
  fastifyDriver('Fastify 5', fastify),
  fastifyDriver('Fastify 4', fastify4 as unknown as typeof fastify),
  honoDriver('Hono 4'),
  nestDriver(
    'Nest 12 on Express',
    nest12('express', () => new ExpressAdapter()),
  ),
  nestDriver(
    'Nest 12 on Fastify',
    nest12('fastify', () => new FastifyAdapter()),
  ),
  // Each from its own install (test/fixtures/nest11, nest10), with the platforms of its time: Express 5 and
  // Fastify 5 under 11, Express 4 and Fastify 4 under 10.
  nestDriver('Nest 11 on Express', () => nest11('express')),
  nestDriver('Nest 11 on Fastify', () => nest11('fastify')),
  nestDriver('Nest 10 on Express', () => nest10('express')),
  nestDriver('Nest 10 on Fastify', () => nest10('fastify')),
];

// One redis-server for every adapter's run; each cache gets its own key prefix.
const onRedisStore = adapterRunsOnRedis();
const onRedis = onRedisStore('redisStore', 'ioredis');
// The same table through a node-redis client, on the same server.
const onNodeRedis = onRedisStore('redisStore (node-redis)', 'node-redis');

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
