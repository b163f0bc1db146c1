export type { Acquired, AcquireRequest, BypassEvent, CacheOptions, CacheStats, EvictEvent, ExpireEvent, GroupCacheEvents, KeyEvent, StoreEvent, } from './cache.js';
export { createCache, Fill, GroupCache } from './cache.js';
export type { Outcome, RequestInfo, RouteOptions, StatusHeader } from './cached-route.js';
export { CachedRoute } from './cached-route.js';
export { defaultCache } from './default-cache.js';
export type { GroupCacheErrorCode } from './errors.js';
export { GroupCacheError } from './errors.js';
export type { KeyFunction, KeyResult, KeySpec } from './key-function.js';
export { groupTag, keyId } from './keys.js';
export type { Replay } from './replay.js';
export { ResponseCapture } from './response-capture.js';
export type { HeaderMap, StoragePolicy } from './storage-policy.js';
export { requestBypassReason, responseRejectReason } from './storage-policy.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { MemoryStore, memoryStore } from './stores/memory-store.js';
export type { CachedEntry, CacheStore, EvictionReason, HeaderList, HeaderValue, MaybePromise, StoreLookup, StoreStats, } from './types.js';
export type { ExpireOptions, WriteExpiry } from './write-expiry.js';
export { appendExpireGroups, runWriteExpiry, writeExpiry } from './write-expiry.js';
//# sourceMappingURL=index.d.ts.map