// A whole request through a framework, in-process and without a socket: Node's IncomingMessage and ServerResponse
// over a sink that accepts every write, so HTTP parsing and the kernel are left out and what remains is the
// framework, the route and Node's header serialisation. For before/after comparisons that survive a loaded machine:
//
//   node --expose-gc bench/inproc.mjs [--rows=koa3-gc-memory,...] [--ref=<dir of another build>] [--requests=N]
//   valgrind --tool=callgrind node bench/inproc.mjs --rows=koa3-gc-memory --requests=20000 --no-time
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 bench/inproc.mjs --alloc (bytes per request)
//
// Prints, per row, CPU ns per request (process.cpuUsage over rounds, median) for this tree's dist/ and, with --ref,
// for another build (bench/compare.mjs makes one), alternating rounds in one process. Rows are the benchmark's:
// `<framework><version>-<kind>` for kinds limit, limit-headers, limit-headers-mw (behind a no-op route middleware),
// gc-memory and gc-memory-early (the cache mounted ahead of the router); with --redis-url also gc-redis,
// gc-tiered (hits of the in-process tier) and gc-tiered-strict.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { bodies, IDS, user, userIdOf, userKey } from './servers/payload.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const rowIds = (option('rows') ?? 'koa3-limit-headers,koa3-gc-memory,koa3-koa-cash').split(',');
const requests = Number(option('requests') ?? 50_000);
const rounds = Number(option('rounds') ?? 7);
const refRoot = option('ref');
// For the gc-redis rows: a Redis to use (bench/run.mjs starts its own; here, say, `redis-server --port 6390`).
const redisUrl = option('redis-url');
const timed = !args.includes('--no-time');

/** The library's entry points in one build (this tree's, or another's under `root`). */
async function library(root) {
  const base = root === undefined ? new URL('../dist/esm/', import.meta.url) : pathToFileURL(`${root}/dist/esm/`);
  return {
    core: await import(new URL('lib/index.js', base).href),
    redis: await import(new URL('lib/stores/redis-store.js', base).href),
    koa: await import(new URL('adapters/koa.js', base).href),
    express: await import(new URL('adapters/express.js', base).href),
    fastify: await import(new URL('adapters/fastify.js', base).href),
  };
}

/** The store of a gc-<store> row. */
async function storeFor(kind, lib, row) {
  if (kind === 'gc-memory') return lib.core.memoryStore({ maxBytes: 2 ** 28 });
  if (!redisUrl) throw new Error(`row ${row} needs --redis-url`);
  const { Redis } = await import('ioredis');
  const redis = lib.redis.redisStore({
    client: new Redis(redisUrl, { maxRetriesPerRequest: 1 }),
    prefix: `inproc:${row}:${Math.random()}:`,
  });
  // gc-tiered: hits of the in-process tier (Redis only fills it); gc-tiered-strict: each confirmed by one Redis call.
  if (kind === 'gc-tiered' || kind === 'gc-tiered-strict')
    return lib.redis.tieredStore({ redis, strict: kind === 'gc-tiered-strict' });
  return redis;
}

const precomputed = bodies();
const etags = new Map([...precomputed].map(([id, body]) => [id, `W/"${body.length.toString(16)}-${id}"`]));

async function koaApp(version, kind, lib) {
  const Koa = (await import(version === 2 ? 'koa2' : 'koa')).default;
  const Router = (await import('@koa/router')).default;
  const app = new Koa();
  const router = new Router();
  if (kind === 'limit-headers' || kind === 'limit-headers-mw') {
    const handler = (ctx) => {
      ctx.type = 'application/json; charset=utf-8';
      ctx.set('ETag', etags.get(ctx.params.id));
      ctx.set('Age', '0');
      ctx.set('X-Cache', 'HIT');
      ctx.body = precomputed.get(ctx.params.id);
    };
    if (kind === 'limit-headers') router.get('/users/:id', handler);
    else router.get('/users/:id', (_ctx, next) => next(), handler);
  } else if (kind === 'gc-memory-early') {
    const cache = lib.core.createCache({ store: await storeFor('gc-memory', lib, `koa${version}`), ttl: 600_000 });
    const key = (ctx) => {
      const id = ctx.method === 'GET' ? userIdOf(ctx.path) : undefined;
      return id === undefined ? null : userKey(id);
    };
    app.use(lib.koa.groupCache(key, { cache }));
    router.get('/users/:id', (ctx) => {
      ctx.body = user(ctx.params.id);
    });
  } else if (kind.startsWith('gc-')) {
    const cache = lib.core.createCache({ store: await storeFor(kind, lib, `koa${version}`), ttl: 600_000 });
    router.get(
      '/users/:id',
      lib.koa.groupCache((ctx) => userKey(ctx.params.id), { cache }),
      (ctx) => {
        ctx.body = user(ctx.params.id);
      },
    );
  } else if (kind === 'koa-cash') {
    const koaCash = (await import('koa-cash')).default;
    const entries = new Map();
    app.use(koaCash({ maxAge: 600_000, get: (key) => entries.get(key), set: (key, value) => entries.set(key, value) }));
    router.get('/users/:id', async (ctx) => {
      if (await ctx.cashed()) return;
      ctx.body = user(ctx.params.id);
    });
  } else throw new Error(`no Koa row of kind ${kind}`);
  // Every Koa row of bench/servers/koa.mjs has the same route table (@koa/router tests each request against every
  // route): a write route and the stats route beside the measured one (`--one-route`: the measured route alone).
  if (!args.includes('--one-route')) {
    router.put('/users/:id', (ctx) => {
      ctx.body = user(ctx.params.id);
    });
    router.get('/__stats', (ctx) => {
      ctx.body = {};
    });
  }
  app.use(router.routes());
  return app.callback();
}

async function expressApp(version, kind, lib) {
  const express = (await import(version === 4 ? 'express4' : 'express')).default;
  const app = express();
  if (kind === 'limit-headers' || kind === 'limit-headers-mw') {
    const handler = (req, res) => {
      const body = precomputed.get(req.params.id);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('etag', etags.get(req.params.id));
      res.setHeader('age', '0');
      res.setHeader('content-length', String(body.length));
      res.setHeader('X-Cache', 'HIT');
      res.end(body);
    };
    if (kind === 'limit-headers') app.get('/users/:id', handler);
    else app.get('/users/:id', (_req, _res, next) => next(), handler);
  } else if (kind === 'gc-memory-early') {
    const cache = lib.core.createCache({ store: await storeFor('gc-memory', lib, `express${version}`), ttl: 600_000 });
    const key = (req) => {
      const id = req.method === 'GET' ? userIdOf(req.path) : undefined;
      return id === undefined ? null : userKey(id);
    };
    app.use(lib.express.groupCache(key, { cache }));
    app.get('/users/:id', (req, res) => res.json(user(req.params.id)));
  } else if (kind.startsWith('gc-')) {
    const cache = lib.core.createCache({ store: await storeFor(kind, lib, `express${version}`), ttl: 600_000 });
    app.get(
      '/users/:id',
      lib.express.groupCache((req) => userKey(req.params.id), { cache }),
      (req, res) => res.json(user(req.params.id)),
    );
  } else throw new Error(`no Express row of kind ${kind}`);
  return app;
}

async function fastifyApp(version, kind, lib) {
  const fastify = (await import(version === 4 ? 'fastify4' : 'fastify')).default;
  const app = fastify();
  if (kind === 'limit') {
    app.get('/users/:id', (req, reply) => {
      reply.type('application/json; charset=utf-8').send(precomputed.get(req.params.id));
    });
  } else if (kind === 'limit-headers') {
    app.get('/users/:id', (req, reply) => {
      reply
        .type('application/json; charset=utf-8')
        .header('etag', etags.get(req.params.id))
        .header('age', '0')
        .header('x-cache', 'HIT')
        .send(precomputed.get(req.params.id));
    });
  } else if (kind.startsWith('gc-')) {
    const cache = lib.core.createCache({ store: await storeFor(kind, lib, `fastify${version}`), ttl: 600_000 });
    await app.register(lib.fastify.expireGroups({ cache }));
    app.get('/users/:id', { onRequest: lib.fastify.groupCache((req) => userKey(req.params.id), { cache }) }, async (req) =>
      user(req.params.id),
    );
  } else throw new Error(`no Fastify row of kind ${kind}`);
  await app.ready();
  return (req, res) => app.routing(req, res);
}

async function handlerFor(rowId, lib) {
  const match = /^(koa|express|fastify)(\d)-(.+)$/.exec(rowId);
  if (!match) throw new Error(`unknown row ${rowId}`);
  const [, framework, version, kind] = match;
  const build = { koa: koaApp, express: expressApp, fastify: fastifyApp }[framework];
  return build(Number(version), kind, lib);
}

// A socket stand-in: every write succeeds at once (strings are not turned into Buffers on the way).
class Sink extends Writable {
  constructor() {
    super({ decodeStrings: false });
  }
  _write(_chunk, _encoding, callback) {
    callback();
  }
  _writev(_chunks, callback) {
    callback();
  }
  setTimeout() {}
  setNoDelay() {}
  setKeepAlive() {}
  ref() {}
  unref() {}
}

// What autocannon sends. Handed over as Node's parser does (rawHeaders): `req.headers` is then built on first read, a
// cost a route that reads headers pays on a real server and a preset `req.headers` would hide.
const RAW_HEADERS = ['Host', '127.0.0.1'];

/** One GET through `handler`; resolves when the response finished. */
function request(handler, id) {
  const socket = new Sink();
  socket.remoteAddress = '127.0.0.1';
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = `/users/${id}`;
  req._addHeaderLines(RAW_HEADERS.slice(), RAW_HEADERS.length);
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.push(null);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = true;
  res.assignSocket(socket);
  return new Promise((resolve) => {
    res.once('finish', () => {
      res.detachSocket(socket);
      resolve(res.statusCode);
    });
    handler(req, res);
  });
}

async function run(handler, count) {
  for (let i = 0; i < count; i += 16) {
    const batch = [];
    for (let j = 0; j < 16; j++) batch.push(request(handler, IDS[j]));
    for (const status of await Promise.all(batch)) if (status !== 200) throw new Error(`status ${status}`);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const sides = [{ name: 'this tree', lib: await library(undefined) }];
if (refRoot) sides.push({ name: `ref (${refRoot})`, lib: await library(refRoot) });
for (const rowId of rowIds) {
  const handlers = await Promise.all(sides.map((side) => handlerFor(rowId, side.lib)));
  for (const handler of handlers) await run(handler, 2_000); // fills the caches, warms the JIT
  if (args.includes('--alloc')) {
    // Bytes allocated per request: run with a new space large enough that no scavenge runs during the batch.
    for (let k = 0; k < handlers.length; k++) {
      global.gc?.();
      const before = process.memoryUsage().heapUsed;
      await run(handlers[k], 4_000);
      console.log(
        `${rowId} (${sides[k].name}): ${((process.memoryUsage().heapUsed - before) / 4_000).toFixed(0)} B allocated per request`,
      );
    }
    continue;
  }
  if (!timed) {
    for (const handler of handlers) await run(handler, requests);
    continue;
  }
  const times = handlers.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < handlers.length; k++) {
      const at = round % 2 === 0 ? k : handlers.length - 1 - k;
      global.gc?.();
      const before = process.cpuUsage();
      await run(handlers[at], requests);
      const used = process.cpuUsage(before);
      times[at].push(((used.user + used.system) * 1000) / requests);
    }
  }
  const line = sides.map((side, k) => `${side.name} ${median(times[k]).toFixed(0)} ns (min ${Math.min(...times[k]).toFixed(0)})`);
  if (sides.length === 2) line.push(`this/ref ${(median(times[0]) / median(times[1])).toFixed(3)}`);
  console.log(`${rowId}: ${line.join('; ')}`);
}
process.exit(0);
