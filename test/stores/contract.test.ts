import { memoryStore } from 'group-cache';
import { CLIENT_KINDS, redisStoreFactory } from '../helpers/redis-server.js';
import { type StoreFixture, storeConformance } from '../helpers/store-conformance.js';

function memoryFixture(store = memoryStore()): StoreFixture {
  return { store, records: async () => store.stats().records };
}

// A new store is one factory and one line here.
storeConformance('memoryStore', { create: (options) => memoryFixture(memoryStore(options)) });
for (const kind of CLIENT_KINDS) storeConformance(`redisStore (${kind})`, redisStoreFactory(kind));
