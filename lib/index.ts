// The root entry: the public surface the README documents, nothing else. Internals that adapters, tests and
// benchmarks share are imported from their own modules; test/package/package-exports.test.ts holds the list.

export type { GroupCacheErrorCode } from './core/errors.js';
export { GroupCacheError } from './core/errors.js';
export type { GroupName, GroupNames } from './core/expiry-groups.js';
export type { KeyFunction, KeyResult, KeySpec } from './core/key-function.js';
export { MAX_TTL } from './core/options.js';
export { createCache, GroupCache } from './engine/cache.js';
export type { CachedDecorator, CachedGroups, CachedOptions } from './engine/cached-method.js';
export { cached } from './engine/cached-method.js';
export type { DataKeyResult, DataKeySpec, DataOptions } from './engine/data-cache.js';
export { defaultCache, setDefaultCache } from './engine/default-cache.js';
export type {
  BypassEvent,
  CacheOptions,
  CacheStats,
  EvictEvent,
  ExpireCallOptions,
  ExpireEvent,
  ExpiryTrigger,
  GroupCacheEvents,
  HitEvent,
  InspectedEntry,
  InspectOptions,
  KeyEvent,
  NotStoredEvent,
  StoreEvent,
} from './engine/engine-types.js';
export type {
  CacheOperation,
  CacheTelemetry,
  LookupOutcome,
  OperationInfo,
  OperationResult,
  TelemetryScope,
} from './engine/instrumentation.js';
export type { EdgeOptions, PurgeOptions, Purger } from './engine/purger.js';
export type { BypassReason, NotStoredReason } from './engine/reasons.js';
export type { Serializer, SerializerOption } from './engine/value-codec.js';
export type { CacheControlInfo, CacheControlOption, RouteOptions } from './http/cached-route.js';
export type { ExpireOptions } from './http/write-expiry.js';
export type {
  CachedEntry,
  CacheStore,
  EvictionReason,
  HeaderList,
  HeaderValue,
  MaybePromise,
  PeekLookup,
  StoreLookup,
  StoreRefusal,
  StoreStats,
} from './stores/contract.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { memoryStore } from './stores/memory-store.js';
