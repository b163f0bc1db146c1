import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createCache, type GroupCache, type GroupCacheError, memoryStore } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { type RedisClient, type RedisStore, redisStore } from 'group-cache/redis';
import { type AppProcess, startAppProcess } from '../../helpers/app-process.js';
import { express, getRaw, request, serve } from '../../helpers/express-app.js';
import { deferred } from '../../helpers/http.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { CLIENT_KINDS, type TestClient, uniquePrefix } from '../../helpers/redis-server.js';

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const kind of CLIENT_KINDS) {
  describe(`Redis store: lockFill() and unlockFill() (${kind})`, () => {
    const redis = useRedis();
    let client: TestClient;
    let store: RedisStore;
    let prefix: string;

    beforeEach(async () => {
      client = await redis.connect(kind);
      prefix = uniquePrefix('lock');
      store = redisStore({ client: client.client, prefix });
    });

    it('lockFill(id, ms) answers a token, then undefined while the lock is held (NX)', async () => {
      const token = await store.lockFill('k:a', 5_000);
      expect(token).to.be.a('string').that.is.not.empty;
      expect(await store.lockFill('k:a', 5_000)).to.equal(undefined);
      // Another key, another lock; another store on the same Redis and prefix, the same lock.
      expect(await store.lockFill('k:b', 5_000)).to.be.a('string');
      expect(await redisStore({ client: client.client, prefix }).lockFill('k:a', 5_000)).to.equal(undefined);
      const ttl = Number(await client.command('PTTL', `${prefix}lock:k:a`));
      expect(ttl).to.be.within(4_000, 5_000);
    });

    it('unlockFill(id, token) releases only with the holder token', async () => {
      const token = (await store.lockFill('k:a', 5_000)) as string;
      await store.unlockFill('k:a', 'not-the-token');
      expect(await store.lockFill('k:a', 5_000)).to.equal(undefined);
      await store.unlockFill('k:a', token);
      expect(await store.lockFill('k:a', 5_000)).to.be.a('string');
    });

    it('a lock expires after ms (PX); the old holder unlockFill() then leaves the new holder lock alone', async () => {
      const old = (await store.lockFill('k:a', 30)) as string;
      await pause(60);
      const current = await store.lockFill('k:a', 5_000);
      expect(current).to.be.a('string').and.not.equal(old);
      await store.unlockFill('k:a', old);
      expect(await store.lockFill('k:a', 5_000)).to.equal(undefined);
    });

    it('clear() removes the locks of its prefix', async () => {
      await store.lockFill('k:a', 5_000);
      await store.clear();
      expect(await store.lockFill('k:a', 5_000)).to.be.a('string');
    });
  });
}

describe('createCache(): fillLock options', () => {
  it('fillLock must be a boolean, fillLockTime a positive number', () => {
    expect(() => createCache({ fillLock: 'no' as unknown as boolean })).to.throw(TypeError, 'option fillLock must be a boolean');
    expect(() => createCache({ fillLockTime: 0 })).to.throw(TypeError, 'option fillLockTime must be a positive number');
  });

  it('a store with only one of lockFill() and unlockFill() is refused', () => {
    const store = Object.assign(memoryStore(), { lockFill: () => undefined });
    expect(() => createCache({ store })).to.throw(TypeError, 'option store needs both lockFill() and unlockFill()');
  });
});

interface Instance {
  url: string;
  cache: GroupCache;
  errors: GroupCacheError[];
  runs: () => number;
  close(): Promise<void>;
}

/** What the handlers of the in-process instances do, set per test. */
interface Handler {
  /** Held until resolved, when set. */
  hold?: Promise<void>;
  status?: number;
  setCookie?: boolean;
}

describe('fill lock: two instances in one process on one Redis', () => {
  const redis = useRedis();
  let prefix: string;
  let handler: Handler;

  // ttl: 50 ms unless told: most tests here need entries that go stale quickly.
  async function instance(options: { fillLock?: boolean; url?: string; ttl?: number } = {}): Promise<Instance> {
    const created = await redis.connect('ioredis', {}, { ...redis.server, url: options.url ?? redis.server.url });
    const cache = createCache({
      store: redisStore({ client: created.client as RedisClient, prefix }),
      waitTimeout: 3_000,
      fillLockTime: 3_000,
      // Not what these tests check: a loaded CI host once took over the default 500 ms for a lockFill(), so A ran its
      // handler without the lock (failing open, as it should) and B's waiting requests no longer waited on A.
      storeTimeout: 5_000,
      ...(options.fillLock === undefined ? {} : { fillLock: options.fillLock }),
    });
    const errors: GroupCacheError[] = [];
    cache.on('error', (error) => errors.push(error));
    let runs = 0;
    const app = express();
    app.get(
      '/items/:id',
      groupCache((req) => ({ key: `item_${req.params.id}`, groups: ['items'] }), {
        cache,
        ttl: options.ttl ?? 50,
        staleIfError: 60_000,
        staleWhileRevalidate: 60_000,
      }),
      async (req, res) => {
        runs++;
        const { hold, status = 200, setCookie = false } = handler;
        if (hold !== undefined) await hold;
        if (setCookie) res.setHeader('Set-Cookie', 'sid=1');
        res.status(status).send(`item ${req.params.id} run ${runs}`);
      },
    );
    app.put('/items', expireGroups({ cache }), (_req, res) => {
      res.locals.expireGroups = 'items';
      res.send('written');
    });
    const served = await serve(app);
    const made: Instance = {
      url: served.url,
      cache,
      errors,
      runs: () => runs,
      async close() {
        await served.close();
        await cache.close();
      },
    };
    return redis.closeAfterEach(made);
  }

  const locks = async (): Promise<unknown[]> => (await redis.client.call('KEYS', `${prefix}lock:*`)) as unknown[];
  const unlocked = () => until('the fill lock was released', async () => (await locks()).length === 0);

  beforeEach(() => {
    prefix = uniquePrefix('inproc');
    handler = {};
  });

  it('a miss waits for the other instance fill and answers its entry as a hit; the lock is released', async () => {
    // Fresh for longer than a loaded machine may take between the fill and the waiters' next poll.
    const a = await instance({ ttl: 60_000 });
    const b = await instance({ ttl: 60_000 });
    const gate = deferred();
    handler.hold = gate.promise;
    const first = getRaw(a.url, '/items/1');
    await until('A runs its handler', () => a.runs() === 1);
    expect(await locks()).to.have.length(1);
    const waiting = Promise.all(Array.from({ length: 20 }, () => getRaw(b.url, '/items/1')));
    await pause(50);
    gate.resolve();
    const [filled, shared] = [await first, await waiting];
    expect(filled.headers['x-cache']).to.equal('MISS');
    for (const res of shared) {
      expect(res.headers['x-cache']).to.equal('HIT');
      expect(res.body.toString()).to.equal('item 1 run 1');
    }
    expect(b.runs()).to.equal(0);
    expect(b.cache.stats().hits).to.equal(20);
    await unlocked();
  });

  it('the holder response is not storable: the waiting instance runs its own handler once the lock is released', async () => {
    const a = await instance();
    const b = await instance();
    const gate = deferred();
    handler.hold = gate.promise;
    handler.setCookie = true;
    const first = getRaw(a.url, '/items/1');
    await until('A runs its handler', () => a.runs() === 1);
    expect(await locks(), 'A runs its handler holding the fill lock').to.have.length(1);
    const waiting = Promise.all(Array.from({ length: 5 }, () => getRaw(b.url, '/items/1')));
    await pause(50);
    expect(b.runs(), 'B waits on the lock A holds').to.equal(0);
    handler.setCookie = false;
    const released = Date.now();
    gate.resolve();
    // Looked up, then not stored (Set-Cookie): a MISS (docs/http-outcomes.md).
    expect((await first).headers['x-cache']).to.equal('MISS');
    const answers = await waiting;
    // Not after waitTimeout (3 s): at the next poll after the release.
    expect(Date.now() - released).to.be.below(500);
    expect(answers.map((res) => res.headers['x-cache']).sort()).to.deep.equal(['HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
    expect(b.runs()).to.equal(1);
    await unlocked();
  });

  it('the lock is released whatever the fill became: refused by an expiry, a 5xx, a stale copy served, aborted', async () => {
    const a = await instance();
    // Refused: a group expired while the fill ran.
    let gate = deferred();
    handler.hold = gate.promise;
    const refused = getRaw(a.url, '/items/1');
    await until('A runs its handler', () => a.runs() === 1);
    await request(a.url).put('/items');
    gate.resolve();
    await refused;
    await until('the store refused the fill', () => a.cache.stats().refused === 1);
    await unlocked();
    // A 5xx with no stale copy to stand in.
    handler = { status: 503 };
    expect((await getRaw(a.url, '/items/2')).status).to.equal(503);
    await unlocked();
    // A stale copy served in place of a failed refill (staleIfError).
    handler = {};
    expect((await getRaw(a.url, '/items/3')).headers['x-cache']).to.equal('MISS');
    await until('stored', () => a.cache.stats().stores === 1);
    await pause(80); // past its 50 ms ttl
    handler = { status: 500 };
    expect((await getRaw(a.url, '/items/3')).headers['x-cache']).to.equal('STALE');
    await unlocked();
    // Aborted: the client goes away while the handler runs.
    gate = deferred();
    handler = { hold: gate.promise };
    const runs = a.runs();
    const aborted = httpGet(`${a.url}/items/4`);
    aborted.on('error', () => {});
    await until('A runs its handler', () => a.runs() === runs + 1);
    expect(await locks()).to.have.length(1);
    aborted.destroy();
    await until('the fill lock was released after the abort', async () => (await locks()).length === 0);
    gate.resolve();
    expect(a.errors).to.deep.equal([]);
  });

  it('staleWhileRevalidate: while another instance refills, the stale copy is served at once', async () => {
    const a = await instance();
    const b = await instance();
    expect((await getRaw(a.url, '/items/5')).headers['x-cache']).to.equal('MISS');
    await until('stored', () => a.cache.stats().stores === 1);
    await pause(80); // past its 50 ms ttl
    const gate = deferred();
    handler.hold = gate.promise;
    const refill = getRaw(a.url, '/items/5');
    await until('A refills', () => a.runs() === 2);
    const started = Date.now();
    const stale = await getRaw(b.url, '/items/5');
    expect(Date.now() - started).to.be.below(200);
    expect(stale.headers['x-cache']).to.equal('STALE');
    expect(stale.body.toString()).to.equal('item 5 run 1');
    expect(b.runs()).to.equal(0);
    gate.resolve();
    expect((await refill).headers['x-cache']).to.equal('MISS');
    await unlocked();
  });

  it('a store failure while locking fails open: the handler runs, an error event says why', async () => {
    // A user that may touch every key of the store but its locks: Redis itself refuses the SET NX.
    await redis.client.call(
      'ACL',
      'SETUSER',
      'nolock',
      'on',
      '>pw',
      '+@all',
      `~${prefix}e:*`,
      `~${prefix}expiries`,
      `~${prefix}ttl`,
      `~${prefix}run`,
    );
    const url = redis.server.url.replace('redis://', 'redis://nolock:pw@');
    // A long TTL: the HIT below must not depend on how fast a loaded host gets from the store to the next request.
    const a = await instance({ url, ttl: 60_000 });
    const res = await getRaw(a.url, '/items/1');
    expect(res.status).to.equal(200);
    expect(res.headers['x-cache']).to.equal('MISS');
    expect(a.runs()).to.equal(1);
    expect(a.errors).to.have.length(1);
    expect(a.errors[0]?.code).to.equal('ESTORE');
    expect(a.errors[0]?.message).to.match(/store\.lockFill failed: NOPERM/);
    // The rest of the store works: the entry was stored.
    await until('stored', () => a.cache.stats().stores === 1);
    expect((await getRaw(a.url, '/items/1')).headers['x-cache']).to.equal('HIT');
  });

  it('fillLock: false takes no lock: each instance fills on its own', async () => {
    const a = await instance({ fillLock: false });
    const b = await instance({ fillLock: false });
    const gate = deferred();
    handler.hold = gate.promise;
    const first = getRaw(a.url, '/items/1');
    await until('A runs its handler', () => a.runs() === 1);
    expect(await locks()).to.have.length(0);
    const second = getRaw(b.url, '/items/1');
    await until('B runs its handler', () => b.runs() === 1);
    gate.resolve();
    expect((await first).headers['x-cache']).to.equal('MISS');
    expect((await second).headers['x-cache']).to.equal('MISS');
  });
});

// The app processes: a lock time and waitTimeout short enough for a test, a handler slow enough that every request
// of a burst arrives while it runs.
const WAIT_TIMEOUT = 2_000;
const FILL_LOCK_TIME = 600;
const HANDLER_DELAY = 200;
const APP = fileURLToPath(new URL('../../fixtures/fill-lock-app.mjs', import.meta.url));

type LockApp = AppProcess<{ runs: number; hits: number; misses: number; waits: number }>;

const startApp = (env: Record<string, string>): Promise<LockApp> =>
  startAppProcess(APP, { WAIT_TIMEOUT: String(WAIT_TIMEOUT), FILL_LOCK_TIME: String(FILL_LOCK_TIME), ...env });

interface Answer {
  status: number;
  cache: string | undefined;
  body: string;
  /** ms from sending to the end of the body. */
  ms: number;
}

function get(url: string): Promise<Answer> {
  const sent = performance.now();
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          cache: res.headers['x-cache'] as string | undefined,
          body: Buffer.concat(chunks).toString(),
          ms: performance.now() - sent,
        }),
      );
    }).on('error', reject);
  });
}

describe('fill lock: two app processes on one Redis (ioredis and node-redis)', () => {
  const redis = useRedis();
  const apps: LockApp[] = [];

  async function pair(
    env: Record<string, string>,
    holdFirst = false,
    second: Record<string, string> = {},
  ): Promise<[LockApp, LockApp]> {
    const prefix = uniquePrefix('procs');
    // The first lookup on a new prefix starts its expiry records (the epoch), which dooms fills of requests that
    // entered before it: a one-time event of a cold store, not what these tests are about.
    await redisStore({ client: redis.client, prefix }).get('warm');
    const common = { REDIS_URL: redis.server.url, PREFIX: prefix, HANDLER_DELAY: String(HANDLER_DELAY), ...env };
    const started = await Promise.all([
      startApp({ ...common, CLIENT: 'ioredis', HOLD: String(holdFirst) }),
      startApp({ ...common, CLIENT: 'node-redis', ...second }),
    ]);
    apps.push(...started);
    return started;
  }

  // 100 concurrent requests for one key, alternating between the two processes.
  const burst = (a: LockApp, b: LockApp, path: string) =>
    Promise.all(Array.from({ length: 100 }, (_, i) => get(`${(i % 2 === 0 ? a : b).url}${path}`)));

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.kill();
  });

  it('100 concurrent cold requests split between them: the handler runs once, every client gets the same full body', async () => {
    const [a, b] = await pair({});
    await redis.client.call('CONFIG', 'RESETSTAT');
    const answers = await burst(a, b, '/items/1');
    const [statsA, statsB] = await Promise.all([a.stats(), b.stats()]);
    expect(statsA.runs + statsB.runs, 'handler runs across both processes').to.equal(1);
    const body = answers[0]?.body;
    expect(body).to.have.length.above(64 * 1024);
    for (const answer of answers) {
      expect(answer.status).to.equal(200);
      expect(answer.body).to.equal(body);
    }
    expect(answers.filter((answer) => answer.cache === 'MISS')).to.have.length(1);
    expect(answers.filter((answer) => answer.cache === 'HIT')).to.have.length(99);
    // Concurrent misses in one process share one wait: one lock attempt per poll, not one per request.
    const commands = String(await redis.client.call('INFO', 'commandstats'));
    const sets = Number(/cmdstat_set:calls=(\d+)/.exec(commands)?.[1] ?? 0);
    expect(sets).to.be.within(2, 20);
    expect(await redis.client.call('KEYS', '*lock:*')).to.deep.equal([]);
    expect([...a.errors, ...b.errors]).to.deep.equal([]);
  });

  it('the lock holder killed mid-fill: the others answer within waitTimeout plus the lock time, with one handler run', async () => {
    const [holder, other] = await pair({}, true);
    const held = get(`${holder.url}/items/2`).catch((error: Error) => error);
    await until('the holder runs its handler', () => holder.runs.length === 1);
    const waiting = Promise.all(Array.from({ length: 50 }, () => get(`${other.url}/items/2`)));
    await pause(50);
    await holder.kill();
    expect(await held).to.be.instanceOf(Error);
    const answers = await waiting;
    const slowest = Math.max(...answers.map((answer) => answer.ms));
    expect(slowest).to.be.below(WAIT_TIMEOUT + FILL_LOCK_TIME);
    // They did wait for the dead holder's lock to expire, and then one of them filled.
    expect(slowest).to.be.above(FILL_LOCK_TIME - 100);
    expect(other.runs).to.deep.equal(['2']);
    const body = answers[0]?.body;
    for (const answer of answers) {
      expect(answer.status).to.equal(200);
      expect(answer.body).to.equal(body);
    }
    expect(answers.filter((answer) => answer.cache === 'MISS')).to.have.length(1);
  });

  it('fillLock: false: each process fills once, as without the lock', async () => {
    // B starts while A's fill runs, and (a slower handler) stores after it. Were A's older fill to land last, the
    // store would refuse it, and A's 49 waiters would then each run the handler: without the lock, that happens.
    const [a, b] = await pair({ FILL_LOCK: 'false' }, false, { HANDLER_DELAY: String(HANDLER_DELAY * 2) });
    const first = Promise.all(Array.from({ length: 50 }, () => get(`${a.url}/items/3`)));
    await until('A runs its handler', () => a.runs.length === 1);
    const answers = [...(await Promise.all(Array.from({ length: 50 }, () => get(`${b.url}/items/3`)))), ...(await first)];
    expect(a.runs).to.deep.equal(['3']);
    expect(b.runs).to.deep.equal(['3']);
    expect(answers.filter((answer) => answer.cache === 'MISS')).to.have.length(2);
    expect(await redis.client.call('KEYS', '*lock:*')).to.deep.equal([]);
  });
});
