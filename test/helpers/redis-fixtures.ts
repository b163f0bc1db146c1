/*
 * Redis set-up the test files share: a server and a client for one suite, or one for a whole file started by the
 * first test that needs it, and the pair of caches (memory store, Redis store) a cache-level test runs on.
 */
import { type CacheOptions, type CacheStore, createCache, type GroupCache } from 'group-cache';
import { type RedisStore, redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import type { ConformanceOptions } from './adapter-conformance.js';
import {
  answers,
  type ClientKind,
  connect,
  connectClient,
  type RedisServer,
  startRedisOrSkip,
  type TestClient,
  type TestClientOptions,
  uniquePrefix,
} from './redis-server.js';

export interface RedisFixture {
  /** The suite's redis-server (undefined where it could not start: the suite is skipped). */
  readonly server: RedisServer;
  /** An ioredis client on it, for the tests' own commands. */
  readonly client: Redis;
  /** The clients `connect()` made for the current test. */
  readonly clients: readonly TestClient[];
  /** A client of `kind` on the suite's server (or `on`), disconnected after the test. */
  connect(kind: ClientKind, options?: TestClientOptions, on?: RedisServer): Promise<TestClient>;
  /** Closes (or disconnects) `made` after the test, before the clients `connect()` made; in the order given. */
  closeAfterEach<T extends Closable>(made: T): T;
}

type Closable = { close(): Promise<unknown> } | { disconnect(): void };

/**
 * A redis-server and an ioredis client for the current suite: started before its tests (or the suite skipped where
 * redis-server cannot start), stopped after them; what a test made through it is closed after that test.
 * `pausable`: a server the tests may pause, kill or restart; after each test it is resumed, and started again if it
 * no longer answers, so that a test that failed half-way does not leave the next one without a server.
 */
export function useRedis(pausable = false): RedisFixture {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  const clients: TestClient[] = [];
  const closables: Closable[] = [];
  before(async function () {
    server = await startRedisOrSkip(this, pausable);
    client = await connect(server);
  });
  afterEach(async () => {
    if (pausable) server?.resume();
    for (const made of closables.splice(0)) {
      if ('close' in made) await made.close();
      else made.disconnect();
    }
    for (const made of clients.splice(0)) made.disconnect();
    if (pausable && server !== undefined && !(await answers(server))) await server.restart();
  });
  after(async () => {
    client?.disconnect();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRedis(): the suite has not started its server yet');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get client() {
      return started(client);
    },
    clients,
    async connect(kind, options, on) {
      const made = await connectClient(kind, on ?? started(server), options);
      clients.push(made);
      return made;
    },
    closeAfterEach(made) {
      closables.push(made);
      return made;
    },
  };
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

/** Makes a cache's store from its Redis store (the tiered store on it, say). */
export type StoreOnRedis = (redis: RedisStore, options: CacheOptions) => CacheStore;

/**
 * The adapter table's options for runs on Redis: one redis-server for every run of the file that calls this at its
 * top (started by the first run that sets up, stopped after all tests), one client per options made, a key prefix
 * per cache. A run's store is its Redis store, or what `storeOn` makes of it.
 */
export function adapterRunsOnRedis(): (label: string, kind: ClientKind, storeOn?: StoreOnRedis) => ConformanceOptions {
  let server: RedisServer | undefined;
  const clients: TestClient[] = [];
  after(async () => {
    for (const made of clients.splice(0)) made.disconnect();
    await server?.stop();
  });
  return (label, kind, storeOn = (redis) => redis) => {
    let client: TestClient | undefined;
    return {
      label,
      async setup(context) {
        server ??= await startRedisOrSkip(context);
        if (client !== undefined) return;
        client = await connectClient(kind, server);
        clients.push(client);
      },
      makeCache(options) {
        if (client === undefined) throw new Error(`the ${label} runs were not set up`);
        const redis = redisStore({ client: client.client, prefix: uniquePrefix('adapters') });
        return createCache({ ...options, store: storeOn(redis, options) });
      },
      async disposeCache(cache) {
        await cache.clear();
        await cache.close();
      },
    };
  };
}
