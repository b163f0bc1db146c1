export { createCache, Fill, GroupCache } from './cache.js';
export { CachedRoute } from './cached-route.js';
export { defaultCache } from './default-cache.js';
export { GroupCacheError } from './errors.js';
export { groupTag, keyId } from './keys.js';
export { ResponseCapture } from './response-capture.js';
export { requestBypassReason, responseRejectReason } from './storage-policy.js';
export { MemoryStore, memoryStore } from './stores/memory-store.js';
export { appendExpireGroups, runWriteExpiry, writeExpiry } from './write-expiry.js';
//# sourceMappingURL=index.js.map