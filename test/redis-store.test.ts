import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { expect } from 'chai';
import type { CachedEntry } from 'group-cache';
import { RedisStore, redisStore } from 'group-cache/redis';
import { Redis } from 'ioredis';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from './helpers/redis-server.js';

function entry(startedAt: number, tags: string[]): CachedEntry {
  return {
    status: 200,
    headers: [],
    body: Buffer.from('x'),
    etag: '"x"',
    vary: [],
    tags,
    startedAt,
    storedAt: 0,
    expiresAt: 1e15,
  };
}

describe('redisStore', () => {
  let server: RedisServer;
  let client: Redis;
  const extra: Redis[] = [];

  before(async function () {
    server = await startRedisOrSkip(this);
    client = await connect(server);
  });

  afterEach(() => {
    for (const created of extra.splice(0)) created.disconnect();
  });

  after(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('redisStore(options) validates its options, naming them', () => {
    expect(() => redisStore(undefined as never)).to.throw(TypeError, 'argument options must be an object');
    expect(() => redisStore({} as never)).to.throw(TypeError, 'option client must be an ioredis client');
    expect(() => redisStore({ client: { status: 'ready' } as never })).to.throw(TypeError, 'option client');
    expect(() => redisStore({ client, prefix: 5 as never })).to.throw(TypeError, 'option prefix must be a string');
    expect(() => redisStore({ client, maxEntryBytes: 0 })).to.throw(TypeError, /option maxEntryBytes must be a positive integer/);
    expect(() => redisStore({ client, maxRecords: 1.5 })).to.throw(TypeError, /option maxRecords/);
    const prefixed = new Redis(server.url, { lazyConnect: true, keyPrefix: 'app:' });
    extra.push(prefixed);
    expect(() => redisStore({ client: prefixed })).to.throw(TypeError, /must not have a keyPrefix/);
    const store = redisStore({ client });
    expect(store).to.be.instanceOf(RedisStore);
    expect(store.name).to.equal('redis');
    expect(store.prefix).to.equal('gc:');
  });

  it('get(), set() and expire() of many tags are one command each (a Lua script)', async () => {
    const own = await connect(server);
    extra.push(own);
    const store = redisStore({ client: own, prefix: uniquePrefix('trips') });
    // Once per server the scripts are loaded (EVALSHA answers NOSCRIPT, then EVAL); after that, one command each.
    const { stamp: warm } = await store.get('k:warm');
    await store.set('k:warm', entry(warm, ['k:warm']), 60_000);
    await store.expire(['g:warm']);
    const port = (own as unknown as { stream: { localPort: number } }).stream.localPort;
    const watcher = new Redis(server.url);
    extra.push(watcher);
    const monitor = await watcher.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source.endsWith(`:${port}`)) seen.push(String(args[0]).toLowerCase());
    });
    try {
      const tags = Array.from({ length: 50 }, (_, i) => `g:${i}`);
      const { stamp } = await store.get('k:a');
      await store.set('k:a', entry(stamp, [...tags, 'k:a']), 60_000);
      await store.get('k:a');
      await store.expire(tags);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      monitor.disconnect();
    }
    expect(seen).to.deep.equal(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
  });

  it('entries get a PX ttl in Redis; the records key holds the epoch', async () => {
    const prefix = uniquePrefix('layout');
    const store = redisStore({ client, prefix });
    const { stamp } = await store.get('k:a');
    await store.set('k:a', entry(stamp, ['k:a']), 5_000);
    const ttl = await client.pttl(`${prefix}e:k:a`);
    expect(ttl).to.be.within(1, 5_000);
    const epoch = await client.zscore(`${prefix}expiries`, '\0epoch');
    expect(Number(epoch)).to.be.below(stamp);
    expect(await store.records()).to.equal(0);
  });

  it('clear() removes only keys of its prefix, even a prefix with glob characters', async () => {
    const prefix = `${uniquePrefix('glob')}[*?]\\:`;
    const store = redisStore({ client, prefix });
    const { stamp } = await store.get('k:a');
    await store.set('k:a', entry(stamp, ['k:a']), 60_000);
    const neighbours = [`${prefix.slice(0, -5)}Xe:k:a`, `${prefix.slice(0, -1)}`, 'unrelated'];
    for (const key of neighbours) await client.set(key, 'keep');
    await store.clear();
    expect((await store.get('k:a')).entry).to.equal(undefined);
    for (const key of neighbours) expect(await client.get(key), key).to.equal('keep');
    await client.del(...neighbours);
  });

  it('works with a client that has not connected yet (lazyConnect), from the first call', async () => {
    const lazy = new Redis(server.url, { lazyConnect: true });
    extra.push(lazy);
    const store = redisStore({ client: lazy, prefix: uniquePrefix('lazy') });
    const { stamp } = await store.get('k:a');
    expect(await store.set('k:a', entry(stamp, ['k:a']), 60_000)).to.equal(true);
  });

  it('fails at once, without queueing, when a client that was ready is not any more', async () => {
    const own = await connect(server, { enableOfflineQueue: true });
    extra.push(own);
    const store = redisStore({ client: own, prefix: uniquePrefix('down') });
    await store.get('k:a');
    own.disconnect();
    while (own.status !== 'end') await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    let error: unknown;
    await store.get('k:a').catch((caught: unknown) => {
      error = caught;
    });
    expect(Date.now() - started).to.be.below(50);
    expect((error as Error).message).to.match(/redis client is not ready \(status end\)/);
  });

  it('Redis down at start-up: only the first connection attempt is waited for, then calls fail at once', async () => {
    // A peer that accepts, stays silent for a while, then hangs up: the client sits in 'connect', then retries.
    const silent = createServer((socket) => setTimeout(() => socket.destroy(), 100));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const down = new Redis(port, '127.0.0.1', { retryStrategy: () => 5 });
    down.on('error', () => {});
    extra.push(down);
    try {
      const store = redisStore({ client: down, prefix: uniquePrefix('start') });
      // The first attempt may be waited for (the cache's storeTimeout bounds it).
      void store.get('k:a').catch(() => {});
      await new Promise((resolve) => down.once('close', resolve));
      while (down.status !== 'connect') await new Promise((resolve) => setTimeout(resolve, 2));
      const started = Date.now();
      const error = await store.get('k:a').catch((caught: unknown) => caught);
      expect(Date.now() - started).to.be.below(50);
      expect((error as Error).message).to.equal('redis client is not ready (status connect)');
    } finally {
      down.disconnect();
      silent.close();
    }
  });

  it('close() stops the store but leaves the client connected', async () => {
    const own = await connect(server);
    extra.push(own);
    const store = redisStore({ client: own, prefix: uniquePrefix('close') });
    store.close();
    expect(own.status).to.equal('ready');
    expect(await own.ping()).to.equal('PONG');
    let error: unknown;
    await store.get('k:a').catch((caught: unknown) => {
      error = caught;
    });
    expect((error as Error).message).to.equal('the redis store is closed');
  });
});
