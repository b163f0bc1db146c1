/*
 * How many calls a miss costs Redis, counted on the test's own redis-server with MONITOR (which lists every command a
 * client sends, and marks those a script runs as `lua`): a miss holding the fill lock stores its entry and releases
 * the lock in one script.
 */
import { expect } from 'chai';
import { createCache, type GroupCache } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { type RedisStore, redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { entryStoredNow } from '../../helpers/entries.js';
import { express, request } from '../../helpers/express-app.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { connect, uniquePrefix } from '../../helpers/redis-server.js';

/**
 * The commands `from` sends (its scripts' own commands left out) while `work` runs and until `settled` holds, as
 * `name args` strings; `watcher` watches and polls, on connections of its own.
 */
async function commandsOf(from: Redis, watcher: Redis, work: () => Promise<void>, settled: () => Promise<boolean>) {
  const address = `127.0.0.1:${String((from as unknown as { stream: { localPort: number } }).stream.localPort)}`;
  const monitor = await watcher.monitor();
  const seen: string[] = [];
  let ended = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === address) seen.push(args.join(' ').slice(0, 120));
    else if (args.join(' ') === 'ping end of work') ended = true;
  });
  try {
    await work();
    const deadline = Date.now() + 5_000;
    while (!(await settled())) {
      if (Date.now() > deadline) throw new Error('the miss never settled');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // MONITOR lists commands in the order Redis runs them: once it lists this PING, it listed the miss's calls.
    await watcher.ping('end of work');
    while (!ended) {
      if (Date.now() > deadline) throw new Error('MONITOR never showed the closing PING');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    monitor.disconnect();
  }
  return seen;
}

describe('Redis store: round trips of a miss', () => {
  const redis = useRedis();
  let client: Redis;
  let store: RedisStore;
  let cache: GroupCache;
  let prefix: string;

  beforeEach(async () => {
    client = await connect(redis.server);
    prefix = uniquePrefix('round-trips');
    store = redisStore({ client, prefix });
    cache = createCache({ store, storeTimeout: 5_000 });
  });

  afterEach(() => {
    store.close();
    client.disconnect();
  });

  function app() {
    const server = express();
    server.get(
      '/users/:id',
      groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] }), { cache }),
      (req, res) => {
        res.json({ id: req.params.id });
      },
    );
    return server;
  }

  // The entry lands after the response went out: wait for the cache's store event.
  function stored(): Promise<void> {
    return new Promise((resolve) => cache.once('store', () => resolve()));
  }

  it('a miss that fills is three calls: lookup, lock, and the write that releases the lock', async () => {
    const server = app();
    // Loads the scripts (a first EVALSHA of each may be answered NOSCRIPT, then sent again as EVAL).
    const warm = stored();
    await request(server).get('/users/0');
    await warm;
    const watcher = await connect(redis.server);
    try {
      const lockGone = async () => (await watcher.keys(`${prefix}lock:*`)).length === 0;
      const commands = await commandsOf(
        client,
        watcher,
        async () => {
          const done = stored();
          const miss = await request(server).get('/users/1');
          expect(miss.headers['x-cache']).to.equal('MISS');
          await done;
        },
        lockGone,
      );
      const scripts = commands.filter((line) => /^evalsha /i.test(line));
      expect(scripts, commands.join('\n')).to.have.length(3);
      expect(commands, commands.join('\n')).to.have.length(3);
    } finally {
      watcher.disconnect();
    }
    expect(await client.keys(`${prefix}lock:*`)).to.deep.equal([]);
    expect((await request(server).get('/users/1')).headers['x-cache']).to.equal('HIT');
  });

  it('setAndUnlock() stores, then releases the lock its token holds', async () => {
    const lookup = await store.get('k');
    const token = await store.lockFill('k', 10_000);
    expect(token).to.be.a('string');
    const entry = entryStoredNow(lookup.stamp, ['g:one'], 'x');
    expect(await store.setAndUnlock('k', entry, token as string)).to.equal(true);
    expect(await client.exists(`${prefix}lock:k`)).to.equal(0);
    expect((await store.get('k')).entry?.body.toString()).to.equal('x');
  });

  it('setAndUnlock() releases the lock when the store refuses the entry, and only its own lock', async () => {
    const lookup = await store.get('k');
    const token = (await store.lockFill('k', 10_000)) as string;
    await store.expire(['g:one']);
    const entry = entryStoredNow(lookup.stamp, ['g:one'], 'x');
    expect(await store.setAndUnlock('k', entry, token)).to.equal(false);
    expect(await client.exists(`${prefix}lock:k`)).to.equal(0);
    // A lock another holder took is left alone.
    const other = (await store.lockFill('k', 10_000)) as string;
    const later = await store.get('k');
    expect(await store.setAndUnlock('k', { ...entry, startedAt: later.stamp }, token)).to.equal(true);
    expect(await client.exists(`${prefix}lock:k`)).to.equal(1);
    await store.unlockFill('k', other);
    // A ttl the store cannot keep writes nothing and still releases the lock.
    const third = (await store.lockFill('k', 10_000)) as string;
    expect(await store.setAndUnlock('k', { ...entry, storedAt: 0, staleUntil: 0 }, third)).to.equal(false);
    expect(await client.exists(`${prefix}lock:k`)).to.equal(0);
  });
});
