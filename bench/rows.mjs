// Every throughput row: which framework module builds it, and what it needs to run.
// `limit: true` marks the row the others of its group are paired with and compared with: the framework's limit row
// for hits, the uncached route for misses (MISS_ROWS) and writes (WRITE_ROWS), limit-headers for big bodies (BIG_ROWS).
export const ROWS = [
  {
    id: 'express5-limit',
    group: 'Express 5',
    label: 'precomputed Buffer, res.end (limit)',
    module: 'express',
    kind: 'limit',
    version: 5,
    limit: true,
  },
  {
    id: 'express5-limit-headers',
    group: 'Express 5',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'express',
    kind: 'limitHeaders',
    version: 5,
  },
  {
    id: 'express5-limit-headers-mw',
    group: 'Express 5',
    label: 'limit-headers behind a no-op route middleware',
    module: 'express',
    kind: 'limitHeadersMiddleware',
    version: 5,
  },
  { id: 'express5-json', group: 'Express 5', label: 'res.json, no cache', module: 'express', kind: 'json', version: 5 },
  { id: 'express5-slow', group: 'Express 5', label: '5 ms handler, no cache', module: 'express', kind: 'slow', version: 5 },
  {
    id: 'express5-gc-memory',
    group: 'Express 5',
    label: 'group-cache hit, memory store',
    module: 'express',
    kind: 'gcMemory',
    version: 5,
    needs: ['group-cache/express'],
  },
  {
    id: 'express5-gc-memory-otel-off',
    group: 'Express 5',
    label: 'group-cache hit, memory store, openTelemetry() with no SDK (the API alone)',
    module: 'express',
    kind: 'gcMemoryOtelOff',
    version: 5,
    needs: ['group-cache/express', 'group-cache/opentelemetry'],
  },
  {
    id: 'express5-gc-memory-otel-on',
    group: 'Express 5',
    label: 'group-cache hit, memory store, openTelemetry() recording (SDK tracer and meter)',
    module: 'express',
    kind: 'gcMemoryOtelOn',
    version: 5,
    needs: ['group-cache/express', 'group-cache/opentelemetry'],
  },
  {
    id: 'express5-gc-memory-early',
    group: 'Express 5',
    label: 'group-cache hit, memory store, mounted ahead of the router',
    module: 'express',
    kind: 'gcMemoryEarly',
    version: 5,
    needs: ['group-cache/express'],
  },
  {
    id: 'express5-gc-redis',
    group: 'Express 5',
    label: 'group-cache hit, Redis store',
    module: 'express',
    kind: 'gcRedis',
    version: 5,
    needs: ['group-cache/express', 'group-cache/redis', 'redis'],
  },
  { id: 'express5-apicache', group: 'Express 5', label: 'apicache hit', module: 'express', kind: 'apicache', version: 5 },
  { id: 'express5-route-cache', group: 'Express 5', label: 'route-cache hit', module: 'express', kind: 'routeCache', version: 5 },
  {
    id: 'express4-limit',
    group: 'Express 4',
    label: 'precomputed Buffer, res.end (limit)',
    module: 'express',
    kind: 'limit',
    version: 4,
    limit: true,
  },
  {
    id: 'express4-limit-headers',
    group: 'Express 4',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'express',
    kind: 'limitHeaders',
    version: 4,
  },
  {
    id: 'express4-limit-headers-mw',
    group: 'Express 4',
    label: 'limit-headers behind a no-op route middleware',
    module: 'express',
    kind: 'limitHeadersMiddleware',
    version: 4,
  },
  {
    id: 'express4-gc-memory',
    group: 'Express 4',
    label: 'group-cache hit, memory store',
    module: 'express',
    kind: 'gcMemory',
    version: 4,
    needs: ['group-cache/express'],
  },
  { id: 'express4-apicache', group: 'Express 4', label: 'apicache hit', module: 'express', kind: 'apicache', version: 4 },
  {
    id: 'koa3-limit',
    group: 'Koa 3',
    label: 'precomputed Buffer body (limit)',
    module: 'koa',
    kind: 'limit',
    version: 3,
    limit: true,
  },
  {
    id: 'koa3-limit-headers',
    group: 'Koa 3',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'koa',
    kind: 'limitHeaders',
    version: 3,
  },
  {
    id: 'koa3-limit-headers-mw',
    group: 'Koa 3',
    label: 'limit-headers behind a no-op route middleware',
    module: 'koa',
    kind: 'limitHeadersMiddleware',
    version: 3,
  },
  { id: 'koa3-slow', group: 'Koa 3', label: '5 ms handler, no cache', module: 'koa', kind: 'slow', version: 3 },
  {
    id: 'koa3-gc-memory',
    group: 'Koa 3',
    label: 'group-cache hit, memory store',
    module: 'koa',
    kind: 'gcMemory',
    version: 3,
    needs: ['group-cache/koa'],
  },
  {
    id: 'koa3-gc-memory-early',
    group: 'Koa 3',
    label: 'group-cache hit, memory store, mounted ahead of the router',
    module: 'koa',
    kind: 'gcMemoryEarly',
    version: 3,
    needs: ['group-cache/koa'],
  },
  {
    id: 'koa3-gc-redis',
    group: 'Koa 3',
    label: 'group-cache hit, Redis store',
    module: 'koa',
    kind: 'gcRedis',
    version: 3,
    needs: ['group-cache/koa', 'group-cache/redis', 'redis'],
  },
  { id: 'koa3-koa-cash', group: 'Koa 3', label: 'koa-cash hit', module: 'koa', kind: 'koaCash', version: 3 },
  {
    id: 'koa2-limit',
    group: 'Koa 2',
    label: 'precomputed Buffer body (limit)',
    module: 'koa',
    kind: 'limit',
    version: 2,
    limit: true,
  },
  {
    id: 'koa2-limit-headers',
    group: 'Koa 2',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'koa',
    kind: 'limitHeaders',
    version: 2,
  },
  {
    id: 'koa2-limit-headers-mw',
    group: 'Koa 2',
    label: 'limit-headers behind a no-op route middleware',
    module: 'koa',
    kind: 'limitHeadersMiddleware',
    version: 2,
  },
  {
    id: 'koa2-gc-memory',
    group: 'Koa 2',
    label: 'group-cache hit, memory store',
    module: 'koa',
    kind: 'gcMemory',
    version: 2,
    needs: ['group-cache/koa'],
  },
  { id: 'koa2-koa-cash', group: 'Koa 2', label: 'koa-cash hit', module: 'koa', kind: 'koaCash', version: 2 },
  {
    id: 'fastify5-limit',
    group: 'Fastify 5',
    label: 'precomputed Buffer, reply.send (limit)',
    module: 'fastify',
    kind: 'limit',
    version: 5,
    limit: true,
  },
  {
    id: 'fastify5-limit-headers',
    group: 'Fastify 5',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'fastify',
    kind: 'limitHeaders',
    version: 5,
  },
  {
    id: 'fastify5-gc-memory',
    group: 'Fastify 5',
    label: 'group-cache hit, memory store',
    module: 'fastify',
    kind: 'gcMemory',
    version: 5,
    needs: ['group-cache/fastify'],
  },
  {
    id: 'fastify5-gc-redis',
    group: 'Fastify 5',
    label: 'group-cache hit, Redis store',
    module: 'fastify',
    kind: 'gcRedis',
    version: 5,
    needs: ['group-cache/fastify', 'group-cache/redis', 'redis'],
  },
  {
    id: 'fastify4-limit',
    group: 'Fastify 4',
    label: 'precomputed Buffer, reply.send (limit)',
    module: 'fastify',
    kind: 'limit',
    version: 4,
    limit: true,
  },
  {
    id: 'fastify4-gc-memory',
    group: 'Fastify 4',
    label: 'group-cache hit, memory store',
    module: 'fastify',
    kind: 'gcMemory',
    version: 4,
    needs: ['group-cache/fastify'],
  },
  {
    id: 'nest-limit',
    group: 'Nest 12 (Express)',
    label: 'precomputed Buffer, res.end from the handler (limit)',
    module: 'nest',
    kind: 'limit',
    version: 12,
    limit: true,
  },
  {
    id: 'nest-gc-memory',
    group: 'Nest 12 (Express)',
    label: 'group-cache hit, memory store',
    module: 'nest',
    kind: 'gcMemory',
    version: 12,
    needs: ['group-cache/nest'],
  },
  {
    id: 'hono4-limit',
    group: 'Hono 4',
    label: 'precomputed Buffer, c.body (limit)',
    module: 'hono',
    kind: 'limit',
    version: 4,
    limit: true,
  },
  {
    id: 'hono4-limit-headers',
    group: 'Hono 4',
    label: 'precomputed Buffer + the headers a hit adds',
    module: 'hono',
    kind: 'limitHeaders',
    version: 4,
  },
  {
    id: 'hono4-limit-headers-mw',
    group: 'Hono 4',
    label: 'limit-headers behind a no-op app and route middleware',
    module: 'hono',
    kind: 'limitHeadersMiddleware',
    version: 4,
  },
  {
    id: 'hono4-gc-memory',
    group: 'Hono 4',
    label: 'group-cache hit, memory store',
    module: 'hono',
    kind: 'gcMemory',
    version: 4,
    needs: ['group-cache/hono'],
  },
  {
    id: 'hono4-gc-redis',
    group: 'Hono 4',
    label: 'group-cache hit, Redis store',
    module: 'hono',
    kind: 'gcRedis',
    version: 4,
    needs: ['group-cache/hono', 'group-cache/redis', 'redis'],
  },
];

/*
 * Miss rows (issue 26): every request a unique key (`/users/<n>`, n counting up across the row's whole run), on a
 * store that is already full, so every measured request misses, stores its response and evicts. One group per
 * framework and body size; its `limit` is the same route uncached, which each miss row is paired with as hit rows
 * are with the framework's limit row (`misses: true` tells bench/run.mjs to load the whole group with unique keys and
 * to fill it first). `options` reach the builders of bench/servers/ as they are. Redis rows run on a redis-server of
 * their own, kept at its maxmemory (`fullRedis`).
 */
const MISS_FRAMEWORKS = [
  { prefix: 'express5', group: 'Express 5', module: 'express', version: 5, uncached: 'res.json', peers: ['apicache'] },
  { prefix: 'koa3', group: 'Koa 3', module: 'koa', version: 3, uncached: 'ctx.body = object', peers: ['koa-cash'] },
  { prefix: 'fastify5', group: 'Fastify 5', module: 'fastify', version: 5, uncached: 'handler returns the object', peers: [] },
];
const PEER_KINDS = { apicache: 'apicache', 'koa-cash': 'koaCash' };

export const MISS_ROWS = MISS_FRAMEWORKS.flatMap(({ prefix, group, module, version, uncached, peers }) =>
  ['1k', '64k'].flatMap((body) => {
    const size = body === '1k' ? '1 KB' : '64 KB';
    const common = { group: `${group} misses, ${size}`, module, version, misses: true, options: { body, full: true } };
    const adapter = `group-cache/${module}`;
    return [
      { ...common, id: `${prefix}-miss-${body}-json`, label: `${uncached}, no cache (paired)`, kind: 'json', limit: true },
      {
        ...common,
        id: `${prefix}-miss-${body}-gc-memory`,
        label: 'group-cache miss, full memory store',
        kind: 'gcMemory',
        needs: [adapter],
      },
      {
        ...common,
        id: `${prefix}-miss-${body}-gc-redis`,
        label: 'group-cache miss, Redis at maxmemory',
        kind: 'gcRedis',
        needs: [adapter, 'group-cache/redis', 'redis'],
        fullRedis: true,
      },
      ...peers.map((peer) => ({
        ...common,
        id: `${prefix}-miss-${body}-${peer}`,
        label: `${peer} miss`,
        kind: PEER_KINDS[peer],
      })),
    ];
  }),
);

/*
 * Write rows (issue 26): `PUT /users/:id` with a small JSON body, ids cycling over the 16, every request a write.
 * One group per framework; its `limit` is the same write route without the cache, which each row is paired with
 * (`writes: true` tells bench/run.mjs to load the group with PUTs and to check that a write expires). The rows with
 * a store carry the library's expireGroups() and expire 1 or 10 groups a write, on the memory or the Redis store.
 */
const WRITE_FRAMEWORKS = [
  { prefix: 'express5', group: 'Express 5', module: 'express', version: 5, how: 'res.locals.expireGroups' },
  { prefix: 'koa3', group: 'Koa 3', module: 'koa', version: 3, how: 'ctx.state.expireGroups' },
  { prefix: 'fastify5', group: 'Fastify 5', module: 'fastify', version: 5, how: 'reply.expireGroups' },
];

export const WRITE_ROWS = WRITE_FRAMEWORKS.flatMap(({ prefix, group, module, version, how }) => {
  const common = { group: `${group} writes`, module, version, writes: true };
  const adapter = `group-cache/${module}`;
  return [
    { ...common, id: `${prefix}-write-uncached`, label: 'PUT updating the user, no cache (paired)', kind: 'write', limit: true },
    ...[1, 10].flatMap((groups) => [
      {
        ...common,
        id: `${prefix}-write-gc-memory-${groups}g`,
        label: `the same + expireGroups(), ${how} = ${groups} group${groups > 1 ? 's' : ''}, memory store`,
        kind: 'gcMemoryWrite',
        options: { groups },
        needs: [adapter],
      },
      {
        ...common,
        id: `${prefix}-write-gc-redis-${groups}g`,
        label: `the same + expireGroups(), ${how} = ${groups} group${groups > 1 ? 's' : ''}, Redis store`,
        kind: 'gcRedisWrite',
        options: { groups },
        needs: [adapter, 'group-cache/redis', 'redis'],
      },
    ]),
  ];
});

/*
 * Big-body hit rows (issue 26): hits of 64 KB and 1 MB of JSON. One group per framework and size; its `limit` is the
 * framework's limit-headers row sending the same bytes from a precomputed Buffer, the least a hit can cost. The hit's
 * handler builds the JSON (bench/servers/payload.mjs), run once by the fill. The 1 MB body (1,000,000 bytes) sits
 * 5% under the cache's default maxEntryBytes (1 MiB, the largest body stored), so these rows set maxEntryBytes to
 * 2 MiB on the cache and on the memory store rather than rest on that margin. The 1 MB rows load with 8 connections (`connections`), not 32: 32 MB in flight
 * would make the run measure socket buffers and the load generator's parser more than the server.
 */
export const BIG_ENTRY_BYTES = 2 * 2 ** 20;

const BIG_FRAMEWORKS = [
  { prefix: 'express5', group: 'Express 5', module: 'express', version: 5 },
  { prefix: 'koa3', group: 'Koa 3', module: 'koa', version: 3 },
  { prefix: 'fastify5', group: 'Fastify 5', module: 'fastify', version: 5 },
];

export const BIG_ROWS = BIG_FRAMEWORKS.flatMap(({ prefix, group, module, version }) =>
  [
    { body: '64k', size: '64 KB', connections: undefined },
    { body: '1m', size: '1 MB', connections: 8 },
  ].flatMap(({ body, size, connections }) => {
    const common = { group: `${group} hits, ${size}`, module, version, ...(connections ? { connections } : {}) };
    return [
      {
        ...common,
        id: `${prefix}-hit-${body}-limit-headers`,
        label: 'precomputed Buffer + the headers a hit adds (paired)',
        kind: 'limitHeaders',
        options: { body },
        limit: true,
      },
      {
        ...common,
        id: `${prefix}-hit-${body}-gc-memory`,
        label: 'group-cache hit, memory store, maxEntryBytes 2 MiB (cache and store)',
        kind: 'gcMemory',
        options: { body, maxEntryBytes: BIG_ENTRY_BYTES },
        needs: [`group-cache/${module}`],
      },
    ];
  }),
);

/*
 * Issue 26's cost rows, for `--costs`: misses, writes, big bodies, and the Koa hit rows judged against koa-cash
 * (with the limit rows they are paired with).
 */
const KOA_CASH_ROWS = ['koa3-limit', 'koa3-gc-memory', 'koa3-koa-cash', 'koa2-limit', 'koa2-gc-memory', 'koa2-koa-cash'];

/** Servers for the mixed workload (90% reads over 10,000 keys, 10% writes expiring a group). */
export const MIXED_ROWS = [
  {
    id: 'mixed-express5-memory',
    group: 'Mixed',
    label: 'Express 5, group-cache, memory store',
    module: 'express',
    kind: 'gcMemory',
    version: 5,
    needs: ['group-cache/express'],
  },
  {
    id: 'mixed-express5-redis',
    group: 'Mixed',
    label: 'Express 5, group-cache, Redis store',
    module: 'express',
    kind: 'gcRedis',
    version: 5,
    needs: ['group-cache/express', 'group-cache/redis', 'redis'],
  },
];

export const COST_ROWS = [...ROWS.filter((row) => KOA_CASH_ROWS.includes(row.id)), ...MISS_ROWS, ...WRITE_ROWS, ...BIG_ROWS];

/** Every throughput row of `npm run bench` (bench/run.mjs), hits first. */
export const THROUGHPUT_ROWS = [...ROWS, ...BIG_ROWS, ...MISS_ROWS, ...WRITE_ROWS];

export const ALL_ROWS = [...THROUGHPUT_ROWS, ...MIXED_ROWS];
