// The root entry: the public surface the README documents, nothing else. Internals that adapters, tests and
// benchmarks share are imported from their own modules; test/package-exports.test.ts holds the list.
export type {
  BypassEvent,
  CacheOptions,
  CacheStats,
  EvictEvent,
  ExpireEvent,
  GroupCacheEvents,
  KeyEvent,
  StoreEvent,
} from './cache.js';
export { createCache, GroupCache } from './cache.js';
export type { RouteOptions } from './cached-route.js';
export type { DataKeyResult, DataKeySpec, DataOptions } from './data-cache.js';
export { defaultCache, setDefaultCache } from './default-cache.js';
export type { GroupCacheErrorCode } from './errors.js';
export { GroupCacheError } from './errors.js';
export type { GroupName, GroupNames } from './expiry-groups.js';
export type { KeyFunction, KeyResult, KeySpec } from './key-function.js';
export { MAX_TTL } from './options.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { memoryStore } from './stores/memory-store.js';
export type {
  CachedEntry,
  CacheStore,
  EvictionReason,
  HeaderList,
  HeaderValue,
  MaybePromise,
  StoreLookup,
  StoreStats,
} from './types.js';
export type { ExpireOptions } from './write-expiry.js';
