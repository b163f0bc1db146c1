import { createCache, type GroupCache } from './cache.js';

// One default per process, even if both the ESM and the CommonJS build of this package get loaded.
const SLOT = Symbol.for('group-cache.default-cache');
type Holder = { [SLOT]?: GroupCache };

/**
 * The process-wide cache that `groupCache` and `expireGroups` share when they are given no `cache` option:
 * an in-memory store of 64 MiB, entries kept 60 s.
 */
export function defaultCache(): GroupCache {
  const holder = globalThis as Holder;
  holder[SLOT] ??= createCache();
  return holder[SLOT];
}
