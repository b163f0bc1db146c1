// Every throughput row: which framework module builds it, and what it needs to run.
// `limit: true` marks the row the others of its group are paired with and compared with: the framework's limit row
// for hits, the uncached route for misses (MISS_ROWS).
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

export const ALL_ROWS = [...ROWS, ...MISS_ROWS, ...MIXED_ROWS];
