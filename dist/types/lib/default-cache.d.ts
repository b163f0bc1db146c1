import { type GroupCache } from './cache.js';
/**
 * The process-wide cache that `groupCache` and `expireGroups` share when they are given no `cache` option:
 * an in-memory store of 64 MiB, entries kept 60 s.
 */
export declare function defaultCache(): GroupCache;
//# sourceMappingURL=default-cache.d.ts.map