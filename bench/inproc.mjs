// A whole request through a framework, in-process and without a socket: Node's IncomingMessage and ServerResponse
// over a sink that accepts every write, so HTTP parsing and the kernel are left out and what remains is the
// framework, the route and Node's header serialisation. For before/after comparisons that survive a loaded machine:
//
//   node --expose-gc bench/inproc.mjs [--rows=koa3-gc-memory,...] [--ref=<dir of another build>] [--requests=N]
//   valgrind --tool=callgrind node bench/inproc.mjs --rows=koa3-gc-memory --requests=20000 --no-time
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 bench/inproc.mjs --alloc (bytes per request)
//
// Prints, per row, CPU ns per request (process.cpuUsage over rounds, median) for this tree's dist/ and, with --ref,
// for another build (bench/compare.mjs makes one), alternating rounds in one process. Rows are the benchmark's,
// `<framework><version>-<kind>`, built by the same builders as the servers' (bench/servers/<framework>.mjs) on the
// side's build: kinds limit, limit-headers, limit-headers-mw (behind a no-op route middleware), gc-memory,
// gc-memory-early (the cache mounted ahead of the router), koa-cash and the rest of bench/rows.mjs; with --redis-url
// also gc-redis, gc-tiered (hits of the in-process tier) and gc-tiered-strict (in-process only, no server rows).
// `--one-route`: the measured route alone, without the write and stats routes the server apps have. The miss rows
// (`koa3-miss-1k-gc-memory`, ... in bench/rows.mjs) are taken from there with their options, and get a new id each
// request, the first 2,000 (the warm-up) filling their stores; their gc-redis rows use --redis-url's server as it is
// (bench/run.mjs gives them one at its maxmemory).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { inProcessGet } from './inproc-request.mjs';
import { MISS_ROWS } from './rows.mjs';
import { IDS } from './servers/payload.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const rowIds = (option('rows') ?? 'koa3-limit-headers,koa3-gc-memory,koa3-koa-cash').split(',');
const requests = Number(option('requests') ?? 50_000);
const rounds = Number(option('rounds') ?? 7);
const refRoot = option('ref');
// For the gc-redis rows: a Redis to use (bench/run.mjs starts its own; here, say, `redis-server --port 6390`).
const redisUrl = option('redis-url');
const timed = !args.includes('--no-time');

/**
 * The build's group-cache/redis module, as that tree's package.json names it: the ref of a comparison may place it
 * elsewhere than this tree does.
 */
function redisEntry(base) {
  const tree = new URL('../../', base);
  const manifest = JSON.parse(readFileSync(new URL('package.json', tree), 'utf8'));
  return new URL(manifest.exports['./redis'].import.default, tree);
}

/** The library's entry points in one build (this tree's, or another's under `root`). */
async function library(root) {
  const base = root === undefined ? new URL('../dist/esm/', import.meta.url) : pathToFileURL(`${root}/dist/esm/`);
  return {
    core: await import(new URL('lib/index.js', base).href),
    redis: await import(redisEntry(base).href),
    koa: await import(new URL('adapters/koa.js', base).href),
    express: await import(new URL('adapters/express.js', base).href),
    fastify: await import(new URL('adapters/fastify.js', base).href),
    // A build from before group-cache/opentelemetry has none: its otel rows cannot run there.
    opentelemetry: await import(new URL('adapters/opentelemetry.js', base).href).catch(() => undefined),
    // A build from before the Hono adapter has none: its Hono rows then fail by name (library.mjs's part()).
    hono: await import(new URL('adapters/hono.js', base).href).catch(() => undefined),
  };
}

// A row id, `<framework><version>-<kind>`, names a builder of bench/servers/<framework>.mjs: the kebab-case kind is
// its camelCase one (limit-headers-mw is limitHeadersMiddleware). The library comes from the side's build.
async function handlerFor(rowId, lib) {
  const miss = MISS_ROWS.find((row) => row.id === rowId);
  if (miss) {
    const { build } = await import(`./servers/${miss.module}.mjs`);
    const { handler } = await build(miss.kind, {
      version: miss.version,
      lib,
      redisUrl,
      prefix: `inproc:${rowId}:${Math.random()}:`,
      oneRoute: args.includes('--one-route'),
      ...miss.options,
    });
    // A miss row's ids count up for the whole run, so no key repeats.
    handler.unique = { next: 1 };
    return handler;
  }
  const match = /^(koa|express|fastify|hono)(\d)-(.+)$/.exec(rowId);
  if (!match) throw new Error(`unknown row ${rowId}`);
  const [, framework, version, kind] = match;
  const camel =
    kind === 'limit-headers-mw' ? 'limitHeadersMiddleware' : kind.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());
  const { build } = await import(`./servers/${framework}.mjs`);
  const { handler } = await build(camel, {
    version: Number(version),
    lib,
    redisUrl,
    prefix: `inproc:${rowId}:${Math.random()}:`,
    oneRoute: args.includes('--one-route'),
  });
  return handler;
}

// What autocannon sends. Handed over as Node's parser does (rawHeaders): `req.headers` is then built on first read, a
// cost a route that reads headers pays on a real server and a preset `req.headers` would hide.
const RAW_HEADERS = ['Host', '127.0.0.1'];

const request = (handler, id) => inProcessGet(handler, `/users/${id}`, RAW_HEADERS);

async function run(handler, count) {
  for (let i = 0; i < count; i += 16) {
    const batch = [];
    for (let j = 0; j < 16; j++) batch.push(request(handler, handler.unique ? handler.unique.next++ : IDS[j]));
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
