import { createCache } from './cache.js';
// One default per process, even if both the ESM and the CommonJS build of this package get loaded.
const SLOT = Symbol.for('group-cache.default-cache');
/**
 * The process-wide cache that `groupCache` and `expireGroups` share when they are given no `cache` option:
 * an in-memory store of 64 MiB, entries kept 60 s.
 */
export function defaultCache() {
    const holder = globalThis;
    holder[SLOT] ??= createCache();
    return holder[SLOT];
}
//# sourceMappingURL=default-cache.js.map