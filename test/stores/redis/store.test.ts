import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { expect } from 'chai';
import type { CachedEntry } from 'group-cache';
import { RedisStore, redisStore } from 'group-cache/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { testEntry } from '../../helpers/entries.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import {
  CLIENT_KINDS,
  type ClientKind,
  type TestClient,
  type TestClientOptions,
  uniquePrefix,
} from '../../helpers/redis-server.js';

// The documented longest ttl (MAX_TTL in lib/core/options.ts): one year in ms.
const MAX_TTL = 365 * 24 * 3600 * 1000;

function entry(startedAt: number, tags: string[], keep = 60_000): CachedEntry {
  return testEntry({ headers: [], body: Buffer.from('x'), etag: '"x"', tags, startedAt, freshUntil: keep, staleUntil: keep });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('redisStore', () => {
  // Its client inspects keys whatever client the store under test uses.
  const redis = useRedis();
  const client = (kind: ClientKind, options?: TestClientOptions): Promise<TestClient> => redis.connect(kind, options);

  /** The commands `own` sends to Redis while `action` runs (MONITOR from a connection of its own), lower-cased. */
  async function commandsOf(own: TestClient, action: () => Promise<void>): Promise<string[]> {
    const info = String(await own.command('CLIENT', 'INFO'));
    const address = /\baddr=(\S+)/.exec(info)?.[1];
    expect(address).to.be.a('string');
    const watcher = new Redis(redis.server.url);
    redis.closeAfterEach(watcher);
    const monitor = await watcher.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === address) seen.push(String(args[0]).toLowerCase());
    });
    try {
      await action();
      await sleep(50);
    } finally {
      monitor.disconnect();
    }
    return seen;
  }

  it('redisStore(options) validates its options, naming them', async () => {
    expect(() => redisStore(undefined as never)).to.throw(TypeError, 'argument options must be an object');
    expect(() => redisStore({} as never)).to.throw(TypeError, 'option client must be an ioredis or node-redis client');
    expect(() => redisStore({ client: { status: 'ready' } as never })).to.throw(TypeError, 'option client');
    expect(() => redisStore({ client: { isReady: true, isOpen: true } as never })).to.throw(TypeError, 'option client');
    expect(() => redisStore({ client: redis.client, prefix: 5 as never })).to.throw(TypeError, 'option prefix must be a string');
    expect(() => redisStore({ client: redis.client, maxEntryBytes: 0 })).to.throw(
      TypeError,
      /option maxEntryBytes must be a positive integer/,
    );
    expect(() => redisStore({ client: redis.client, maxRecords: 1.5 })).to.throw(TypeError, /option maxRecords/);
    const prefixed = new Redis(redis.server.url, { lazyConnect: true, keyPrefix: 'app:' });
    redis.closeAfterEach(prefixed);
    expect(() => redisStore({ client: prefixed })).to.throw(TypeError, /must not have a keyPrefix/);
    const nodePrefixed = createClient({ url: redis.server.url, keyPrefix: 'app:' });
    expect(() => redisStore({ client: nodePrefixed })).to.throw(TypeError, /must not have a keyPrefix/);
    const store = redisStore({ client: redis.client });
    expect(store).to.be.instanceOf(RedisStore);
    expect(store.name).to.equal('redis');
    expect(store.prefix).to.equal('gc:');
    expect(redisStore({ client: (await client('node-redis')).client })).to.be.instanceOf(RedisStore);
  });

  for (const kind of CLIENT_KINDS) {
    describe(`with ${kind}`, () => {
      it('get(), set() and expire() of many tags are one command each (a Lua script)', async () => {
        const own = await client(kind);
        const store = redisStore({ client: own.client, prefix: uniquePrefix('trips') });
        // Once per server the scripts are loaded (EVALSHA answers NOSCRIPT, then EVAL); after that, one command each.
        const { stamp: warm } = await store.get('k:warm');
        await store.set('k:warm', entry(warm, ['k:warm'], 60_000));
        await store.expire(['g:warm']);
        const seen = await commandsOf(own, async () => {
          const tags = Array.from({ length: 50 }, (_, i) => `g:${i}`);
          const { stamp } = await store.get('k:a');
          await store.set('k:a', entry(stamp, [...tags, 'k:a'], 60_000));
          await store.get('k:a');
          await store.expire(tags);
        });
        expect(seen).to.deep.equal(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
      });

      it('the lookups of one event-loop turn go to Redis as one script call, each answered as it would be alone', async () => {
        const own = await client(kind);
        const store = redisStore({ client: own.client, prefix: uniquePrefix('batch') });
        for (const id of ['k:a', 'k:b']) {
          const { stamp } = await store.get(id);
          expect(await store.set(id, entry(stamp, [id, `g:${id}`], 60_000))).to.equal(true);
        }
        await store.expire(['g:k:b']);
        // Once per server the script is loaded (NOSCRIPT, then EVAL): a batch before the one watched.
        await Promise.all([store.get('k:warm-1'), store.get('k:warm-2')]);
        let answers: Awaited<ReturnType<typeof store.get>>[] = [];
        const seen = await commandsOf(own, async () => {
          answers = await Promise.all([store.get('k:a'), store.get('k:b'), store.get('k:none'), store.get('k:a')]);
        });
        expect(seen, 'four lookups, one call').to.deep.equal(['evalsha']);
        const [a, b, none, again] = answers;
        expect(a!.entry?.body.toString()).to.equal('x');
        expect(a!.expiredAt, 'a is fresh').to.be.below(a!.entry!.startedAt);
        expect(b!.entry?.body.toString()).to.equal('x');
        expect(b!.expiredAt, 'b was invalidated').to.be.at.least(b!.entry!.startedAt);
        expect(none!.entry).to.equal(undefined);
        expect(again!.entry, 'one key asked twice is decoded once').to.equal(a!.entry);
        expect(new Set(answers.map((answer) => answer.stamp)).size, 'one clock for the batch').to.equal(1);
        // A fill dated from a batched lookup is judged as one dated from a lone lookup: an expiry after it dooms it.
        await store.expire(['g:k:a']);
        expect(await store.set('k:a', entry(a!.stamp, ['k:a', 'g:k:a'], 60_000))).to.equal(false);
        // Control: taken one at a time, each lookup is its own call.
        const lone = await store.get('k:a');
        await store.get('k:b');
        expect(lone.expiredAt).to.be.at.least(lone.entry!.startedAt);
      });

      it('a write issued before a lookup of the same turn is seen by it; a batch that fails fails every lookup in it', async () => {
        const own = await client(kind);
        const store = redisStore({ client: own.client, prefix: uniquePrefix('batch-order') });
        const { stamp } = await store.get('k:a');
        expect(await store.set('k:a', entry(stamp, ['k:a', 'g:a'], 60_000))).to.equal(true);
        const expired = store.expire(['g:a']);
        const [lookup] = await Promise.all([store.get('k:a'), expired]);
        expect(lookup.expiredAt, 'the expiry sent first is seen').to.be.at.least(lookup.entry!.startedAt);
        const lookups = ['k:a', 'k:b', 'k:a'].map((id) =>
          store.get(id).then(
            () => 'answered',
            (error: Error) => error.message,
          ),
        );
        own.disconnect();
        const outcomes = await Promise.all(lookups);
        expect(
          outcomes.filter((outcome) => outcome === 'answered'),
          String(outcomes),
        ).to.deep.equal([]);
      });

      it('scripts flushed from Redis (restart, SCRIPT FLUSH) are loaded again on the next call', async () => {
        const own = await client(kind);
        const store = redisStore({ client: own.client, prefix: uniquePrefix('noscript') });
        await store.get('k:a');
        await redis.client.script('FLUSH');
        const { stamp } = await store.get('k:a');
        expect(await store.set('k:a', entry(stamp, ['k:a'], 60_000))).to.equal(true);
        expect((await store.get('k:a')).entry?.body.toString()).to.equal('x');
      });

      it('entries get a PX ttl in Redis; the records key holds the epoch', async () => {
        const prefix = uniquePrefix('layout');
        const store = redisStore({ client: (await client(kind)).client, prefix });
        const { stamp } = await store.get('k:a');
        await store.set('k:a', entry(stamp, ['k:a'], 5_000));
        const ttl = await redis.client.pttl(`${prefix}e:k:a`);
        expect(ttl).to.be.within(1, 5_000);
        const epoch = await redis.client.zscore(`${prefix}expiries`, '\0epoch');
        expect(Number(epoch)).to.be.below(stamp);
        expect(await store.records()).to.equal(0);
      });

      it('set(id, entry) kept longer than MAX_TTL, infinite, NaN or not positive is refused and leaves no key', async () => {
        const prefix = uniquePrefix('hugettl');
        const store = redisStore({ client: (await client(kind)).client, prefix });
        for (const ttl of [Number.MAX_VALUE, Number.POSITIVE_INFINITY, MAX_TTL + 1, 2 ** 63, Number.NaN, 0, -5]) {
          const { stamp } = await store.get('k:huge');
          expect(await store.set('k:huge', entry(stamp, ['k:huge'], ttl)), String(ttl)).to.equal(false);
          expect(await redis.client.exists(`${prefix}e:k:huge`), String(ttl)).to.equal(0);
          expect((await store.get('k:huge')).entry, String(ttl)).to.equal(undefined);
        }
        // Nor does a refused ttl become the longest one, which bounds how long expiry records are kept.
        expect(await redis.client.get(`${prefix}ttl`)).to.equal(null);
      });

      it('set() always leaves a key with an expiry: PTTL > 0 from 1 ms (a fraction rounds up) to MAX_TTL', async () => {
        const prefix = uniquePrefix('pttl');
        const store = redisStore({ client: (await client(kind)).client, prefix });
        for (const ttl of [0.2, 1_000, 60_000.5, 86_400_000, MAX_TTL]) {
          const { stamp } = await store.get('k:t');
          expect(await store.set('k:t', entry(stamp, ['k:t'], ttl)), String(ttl)).to.equal(true);
          const pttl = await redis.client.pttl(`${prefix}e:k:t`);
          // -1 would be a key with no expiry; -2 a key gone (the 1 ms ttl may have passed already).
          if (ttl < 1) expect(pttl, String(ttl)).to.be.oneOf([-2, 0, 1]);
          else expect(pttl, String(ttl)).to.be.within(1, Math.ceil(ttl));
        }
        expect(Number(await redis.client.get(`${prefix}ttl`))).to.equal(MAX_TTL);
      });

      it('clear() removes only keys of its prefix, even a prefix with glob characters', async () => {
        const prefix = `${uniquePrefix('glob')}[*?]\\:`;
        const store = redisStore({ client: (await client(kind)).client, prefix });
        const { stamp } = await store.get('k:a');
        await store.set('k:a', entry(stamp, ['k:a'], 60_000));
        const neighbours = [`${prefix.slice(0, -5)}Xe:k:a`, `${prefix.slice(0, -1)}`, 'unrelated'];
        for (const key of neighbours) await redis.client.set(key, 'keep');
        await store.clear();
        expect((await store.get('k:a')).entry).to.equal(undefined);
        for (const key of neighbours) expect(await redis.client.get(key), key).to.equal('keep');
        await redis.client.del(...neighbours);
      });

      it('clear() removes more keys than one SCAN batch', async () => {
        const prefix = uniquePrefix('scan');
        const store = redisStore({ client: (await client(kind)).client, prefix });
        const pipeline = redis.client.pipeline();
        for (let i = 0; i < 2_500; i++) pipeline.set(`${prefix}e:filler-${i}`, 'x');
        await pipeline.exec();
        await store.clear();
        expect(await redis.client.keys(`${prefix}e:*`)).to.deep.equal([]);
      });

      it('works with a client that has not connected yet, from the first call', async () => {
        const lazy = await client(kind, { lazy: true, queue: true });
        expect(lazy.ready()).to.equal(false);
        const store = redisStore({ client: lazy.client, prefix: uniquePrefix('lazy') });
        const { stamp } = await store.get('k:a');
        expect(await store.set('k:a', entry(stamp, ['k:a'], 60_000))).to.equal(true);
      });

      it('fails at once, without queueing, when a client that was ready is not any more', async () => {
        const own = await client(kind, { queue: true });
        const store = redisStore({ client: own.client, prefix: uniquePrefix('down') });
        await store.get('k:a');
        own.disconnect();
        while (own.ready()) await sleep(5);
        const started = Date.now();
        const error = await store.get('k:a').catch((caught: unknown) => caught);
        expect(Date.now() - started).to.be.below(50);
        expect((error as Error).message).to.match(/redis client is not ready \(status (end|closed)\)/);
      });

      it('close() stops the store but leaves the client connected', async () => {
        const own = await client(kind);
        const store = redisStore({ client: own.client, prefix: uniquePrefix('close') });
        store.close();
        expect(own.ready()).to.equal(true);
        expect(await own.command('PING')).to.equal('PONG');
        const error = await store.get('k:a').catch((caught: unknown) => caught);
        expect((error as Error).message).to.equal('the redis store is closed');
      });
    });
  }

  it('with ioredis, Redis down at start-up: only the first connection attempt is waited for, then calls fail at once', async () => {
    // A peer that accepts, stays silent for a while, then hangs up: the client sits in 'connect', then retries.
    const silent = createServer((socket) => setTimeout(() => socket.destroy(), 100));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const down = new Redis(port, '127.0.0.1', { retryStrategy: () => 5 });
    down.on('error', () => {});
    redis.closeAfterEach(down);
    try {
      const store = redisStore({ client: down, prefix: uniquePrefix('start') });
      // The first attempt may be waited for (the cache's storeTimeout bounds it).
      void store.get('k:a').catch(() => {});
      await new Promise((resolve) => down.once('close', resolve));
      while (down.status !== 'connect') await sleep(2);
      const started = Date.now();
      const error = await store.get('k:a').catch((caught: unknown) => caught);
      expect(Date.now() - started).to.be.below(50);
      expect((error as Error).message).to.equal('redis client is not ready (status connect)');
    } finally {
      down.disconnect();
      silent.close();
    }
  });

  it('with node-redis, Redis down at start-up: only the first connection attempt is waited for, then calls fail at once', async () => {
    const silent = createServer((socket) => setTimeout(() => socket.destroy(), 100));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const down = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: () => 5 } });
    down.on('error', () => {});
    void down.connect().catch(() => {});
    try {
      const store = redisStore({ client: down, prefix: uniquePrefix('start') });
      const first = store.get('k:a').catch((caught: unknown) => caught);
      await new Promise((resolve) => down.once('reconnecting', resolve));
      const started = Date.now();
      const error = await store.get('k:a').catch((caught: unknown) => caught);
      expect(Date.now() - started).to.be.below(50);
      expect((error as Error).message).to.equal('redis client is not ready (status reconnecting)');
      down.destroy();
      await first;
    } finally {
      if (down.isOpen) down.destroy();
      silent.close();
    }
  });
});
