// Every throughput row: which framework module builds it, and what it needs to run.
// `limit: true` marks the framework's limit row that the others are compared with.
export const ROWS = [
  { id: 'express5-limit', group: 'Express 5', label: 'precomputed Buffer, res.end (limit)', module: 'express', kind: 'limit', version: 5, limit: true },
  { id: 'express5-limit-headers', group: 'Express 5', label: 'precomputed Buffer + the headers a hit adds', module: 'express', kind: 'limitHeaders', version: 5 },
  { id: 'express5-json', group: 'Express 5', label: 'res.json, no cache', module: 'express', kind: 'json', version: 5 },
  { id: 'express5-slow', group: 'Express 5', label: '5 ms handler, no cache', module: 'express', kind: 'slow', version: 5 },
  { id: 'express5-gc-memory', group: 'Express 5', label: 'group-cache hit, memory store', module: 'express', kind: 'gcMemory', version: 5, needs: ['group-cache/express'] },
  { id: 'express5-gc-redis', group: 'Express 5', label: 'group-cache hit, Redis store', module: 'express', kind: 'gcRedis', version: 5, needs: ['group-cache/express', 'group-cache/redis', 'redis'] },
  { id: 'express5-apicache', group: 'Express 5', label: 'apicache hit', module: 'express', kind: 'apicache', version: 5 },
  { id: 'express5-route-cache', group: 'Express 5', label: 'route-cache hit', module: 'express', kind: 'routeCache', version: 5 },
  { id: 'express4-limit', group: 'Express 4', label: 'precomputed Buffer, res.end (limit)', module: 'express', kind: 'limit', version: 4, limit: true },
  { id: 'express4-gc-memory', group: 'Express 4', label: 'group-cache hit, memory store', module: 'express', kind: 'gcMemory', version: 4, needs: ['group-cache/express'] },
  { id: 'express4-apicache', group: 'Express 4', label: 'apicache hit', module: 'express', kind: 'apicache', version: 4 },
  { id: 'koa3-limit', group: 'Koa 3', label: 'precomputed Buffer body (limit)', module: 'koa', kind: 'limit', limit: true },
  { id: 'koa3-slow', group: 'Koa 3', label: '5 ms handler, no cache', module: 'koa', kind: 'slow' },
  { id: 'koa3-gc-memory', group: 'Koa 3', label: 'group-cache hit, memory store', module: 'koa', kind: 'gcMemory', needs: ['group-cache/koa'] },
  { id: 'koa3-gc-redis', group: 'Koa 3', label: 'group-cache hit, Redis store', module: 'koa', kind: 'gcRedis', needs: ['group-cache/koa', 'group-cache/redis', 'redis'] },
  { id: 'koa3-koa-cash', group: 'Koa 3', label: 'koa-cash hit', module: 'koa', kind: 'koaCash' },
];

/** Servers for the mixed workload (90% reads over 10,000 keys, 10% writes expiring a group). */
export const MIXED_ROWS = [
  { id: 'mixed-express5-memory', group: 'Mixed', label: 'Express 5, group-cache, memory store', module: 'express', kind: 'gcMemory', version: 5, needs: ['group-cache/express'] },
  { id: 'mixed-express5-redis', group: 'Mixed', label: 'Express 5, group-cache, Redis store', module: 'express', kind: 'gcRedis', version: 5, needs: ['group-cache/express', 'group-cache/redis', 'redis'] },
];

export const ALL_ROWS = [...ROWS, ...MIXED_ROWS];
