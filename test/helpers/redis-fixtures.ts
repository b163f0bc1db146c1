/*
 * Redis set-up the test files share: a server and a client for one suite, or one for a whole file started by the
 * first test that needs it, and the pair of caches (memory store, Redis store) a cache-level test runs on.
 */
import { createCache, type GroupCache } from 'group-cache';
import { redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from './redis-server.js';

export interface RedisFixture {
  /** The suite's redis-server (undefined where it could not start: the suite is skipped). */
  readonly server: RedisServer;
  /** An ioredis client on it. */
  readonly client: Redis;
}

/**
 * A redis-server and an ioredis client for the current suite: started before its tests (or the suite skipped where
 * redis-server cannot start), stopped after them. `pausable`: a server the test can freeze (SIGSTOP).
 */
export function useRedis(pausable = false): RedisFixture {
  const fixture = {} as { server: RedisServer; client: Redis };
  before(async function () {
    fixture.server = await startRedisOrSkip(this, pausable);
    fixture.client = await connect(fixture.server);
  });
  after(async () => {
    fixture.client?.disconnect();
    await fixture.server?.stop();
  });
  return fixture;
}

/**
 * One redis-server and ioredis client for the file that calls this at its top: started by the first test that asks
 * (skipped where redis-server cannot start), stopped after all the file's tests.
 */
export function sharedRedis(): (context: Mocha.Context) => Promise<Redis> {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  after(async () => {
    client?.disconnect();
    await server?.stop();
  });
  return async (context) => {
    server ??= await startRedisOrSkip(context);
    client ??= await connect(server);
    return client;
  };
}

export type CacheMaker = [label: string, make: (context: Mocha.Context) => Promise<GroupCache>];

/** A cache on the memory store, and one on the file's shared Redis under its own `prefix`. */
export function cachesOnEveryStore(prefix: string): CacheMaker[] {
  const redis = sharedRedis();
  return [
    ['memory store', async () => createCache()],
    [
      'Redis store',
      async (context) => {
        // A loaded machine (CI beside other jobs) may take longer than the default 500 ms to answer: these tests
        // are about what is stored, not about store timeouts.
        const store = redisStore({ client: await redis(context), prefix: uniquePrefix(prefix) });
        const cache = createCache({ store, storeTimeout: 5_000 });
        await cache.store.get('warm'); // the prefix's epoch exists before the test's fills or requests start
        // A fill is dated on an estimate of Redis's clock that errs early by up to the delay of a lookup's answer
        // (store-clock.ts): one that starts right after the epoch was made may be dated before it and refused. On a
        // loaded machine that delay reaches a good part of a second; the tests' fills start well after the epoch.
        await new Promise((resolve) => setTimeout(resolve, 500));
        return cache;
      },
    ],
  ];
}
