// The library a builder runs on: the module namespaces given as `lib` ({ core, express, koa, fastify, nest, hono, redis } of
// another build, as bench/inproc.mjs loads them), or else this package's, imported by name when first needed (so a
// row never needs a module it does not use: bench/run.mjs skips rows whose module is not built).
const NAMES = {
  core: 'group-cache',
  express: 'group-cache/express',
  koa: 'group-cache/koa',
  fastify: 'group-cache/fastify',
  nest: 'group-cache/nest',
  hono: 'group-cache/hono',
  redis: 'group-cache/redis',
  opentelemetry: 'group-cache/opentelemetry',
};

/** One of the library's modules: `lib[part]` when `lib` is given, else the package's. */
export async function part(lib, name) {
  if (lib === undefined) return import(NAMES[name]);
  if (lib[name] === undefined) throw new Error(`the given library has no ${name} module`);
  return lib[name];
}

/*
 * Entries a full store holds in the miss rows (`full`): small enough that the warm-up fills it (bench/run.mjs sends
 * this many unique keys first), so every measured miss also evicts, as in a long-running server with more keys than
 * room. The peers' bounded stores in those rows hold as many.
 */
export const FULL_ENTRIES = 2_000;

/**
 * The store of a group-cache row: `memory`, `redis`, `tiered` (hits of the in-process tier, Redis only fills it) or
 * `tieredStrict` (each hit confirmed by one Redis call). The Redis ones need `redisUrl` (there is no default: a
 * benchmark never talks to a Redis on 6379 by accident) and write under `prefix`. `full`: a memory store bounded to
 * FULL_ENTRIES (its byte bound above 2,000 entries of 64 KB, so the count is what fills it); a Redis store is full
 * when its server is (bench/run.mjs gives the miss rows a redis-server at its maxmemory). `maxEntryBytes`: the
 * memory store's bound on one entry (the big-body rows raise it, and the cache's, above their 1 MB body).
 */
export async function store(kind, { lib, redisUrl, prefix, full = false, maxEntryBytes }) {
  if (kind === 'memory') {
    const { memoryStore } = await part(lib, 'core');
    const bounds = { maxBytes: 256 * 2 ** 20, ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }) };
    return full ? memoryStore({ maxEntries: FULL_ENTRIES, ...bounds }) : memoryStore(bounds);
  }
  if (!redisUrl) throw new Error(`a ${kind} store needs a Redis URL (bench/inproc.mjs: --redis-url)`);
  const { redisStore, tieredStore } = await part(lib, 'redis');
  const { Redis } = await import('ioredis');
  const redis = redisStore({ client: new Redis(redisUrl, { maxRetriesPerRequest: 1 }), prefix });
  if (kind === 'redis') return redis;
  if (kind === 'tiered' || kind === 'tieredStrict') return tieredStore({ redis, strict: kind === 'tieredStrict' });
  throw new Error(`no store of kind ${kind}`);
}

/**
 * The `telemetry` option of a group-cache row: undefined (`none`); `off`, `openTelemetry()` with no SDK registered
 * (the API's no-op providers, as in an app that installed the API and exports nothing); `on`, an SDK tracer and meter
 * provider that record every span and metric (spans batched to an exporter that drops them, metrics aggregated in
 * memory), so a hit pays for recording and not for a network.
 */
export async function telemetry(kind, lib) {
  if (kind === undefined) return undefined;
  const { openTelemetry } = await part(lib, 'opentelemetry');
  if (kind === 'off') return openTelemetry();
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const dropping = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] });
  tracerProvider.register();
  class HeldReader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const meterProvider = new MeterProvider({ readers: [new HeldReader()] });
  return openTelemetry({ tracerProvider, meterProvider });
}

/**
 * A framework module's group-cache builders, one per store kind, from its `groupCacheApp(store, options)`. The tiered
 * kinds have no rows in bench/rows.mjs (bench/inproc.mjs runs them): hits of the in-process tier over Redis, and the
 * same with each hit confirmed by one Redis call.
 */
export function groupCacheBuilders(groupCacheApp) {
  return {
    gcMemory: (options) => groupCacheApp('memory', options),
    gcMemoryOtelOff: (options) => groupCacheApp('memory', { ...options, telemetry: 'off' }),
    gcMemoryOtelOn: (options) => groupCacheApp('memory', { ...options, telemetry: 'on' }),
    gcRedis: (options) => groupCacheApp('redis', options),
    gcTiered: (options) => groupCacheApp('tiered', options),
    gcTieredStrict: (options) => groupCacheApp('tieredStrict', options),
  };
}
