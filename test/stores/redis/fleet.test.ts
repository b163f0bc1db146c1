import { get as httpGet, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { redisStore } from 'group-cache/redis';
import type { Redis } from 'ioredis';
import { type AppProcess, startAppProcess } from '../../helpers/app-process.js';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix, waitReady } from '../../helpers/redis-server.js';

// Three instances of one app on one Redis, each its own process on the tiered store (test/fixtures/fleet-app.mjs).
const APP = fileURLToPath(new URL('../../fixtures/fleet-app.mjs', import.meta.url));
const MAX_LAG = 300;

interface Answer {
  status: number;
  cache: string | undefined;
  /** The fill that made the body (`<pid>-<token>`), or '' for a body that is not a user. */
  fill: string;
  /** When the request was sent (performance.now()). */
  sentAt: number;
}

type Instance = AppProcess<{ hits: number; tier: { tierHits: number; serving: boolean; flushes: number } }>;

function call(method: 'GET' | 'PUT', url: string): Promise<Answer> {
  const sentAt = performance.now();
  return new Promise((resolve, reject) => {
    const req = (method === 'GET' ? httpGet : httpRequest)(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let fill = '';
        try {
          fill = String(JSON.parse(body).fill ?? '');
        } catch {}
        resolve({ status: res.statusCode ?? 0, cache: res.headers['x-cache'] as string | undefined, fill, sentAt });
      });
    });
    req.on('error', reject);
    if (method === 'PUT') req.end();
  });
}

const start = (env: Record<string, string>): Promise<Instance> => startAppProcess(APP, env);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('a fleet on the tiered store: three app processes on one Redis', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  let a: Instance;
  let b: Instance;
  let strict: Instance;
  let user = 0;

  before(async function () {
    server = await startRedisOrSkip(this, true);
    admin = await connect(server);
    prefix = uniquePrefix('fleet');
    // A first lookup makes Redis's epoch, as in any running deployment: a tier fills only once it knows it.
    await redisStore({ client: admin, prefix }).get('k:warm-up');
    const env = { REDIS_URL: server.url, PREFIX: prefix, MAX_LAG: String(MAX_LAG) };
    [a, b, strict] = await Promise.all([start(env), start(env), start({ ...env, STRICT: 'true' })]);
    for (const instance of [a, b, strict]) {
      await until('the instance follows the stream', async () => (await instance.stats()).tier.serving);
    }
  });

  beforeEach(() => {
    user++;
  });

  after(async () => {
    for (const instance of [a, b, strict]) await instance?.kill();
    admin?.disconnect();
    await server?.stop();
  });

  it('a fill on A is served from the tier of A and of B: no Redis command reads the entry', async () => {
    const path = `/users/${user}`;
    const filled = await call('GET', a.url + path);
    expect(filled.cache).to.equal('MISS');
    await until('A holds its fill', async () => (await call('GET', a.url + path)).cache === 'HIT');
    // B's first read fetches it from Redis into its tier.
    expect((await call('GET', b.url + path)).fill).to.equal(filled.fill);
    const before = { a: (await a.stats()).tier.tierHits, b: (await b.stats()).tier.tierHits };
    await admin.config('SET', 'slowlog-max-len', '100000');
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await admin.slowlog('RESET');
    try {
      for (let i = 0; i < 10; i++) {
        for (const instance of [a, b]) {
          const hit = await call('GET', instance.url + path);
          expect(hit.cache).to.equal('HIT');
          expect(hit.fill).to.equal(filled.fill);
        }
      }
      const log = (await admin.slowlog('GET', 100_000)) as Array<[number, number, number, string[]]>;
      const entryReads = log.filter(([, , , args]) => args.some((arg) => arg.includes(`${prefix}e:`)));
      expect(entryReads, 'commands that read the entry').to.deep.equal([]);
      // The slow log did record commands meanwhile (the readers'), so an entry read would have shown.
      expect(log.length).to.be.above(0);
    } finally {
      await admin.config('SET', 'slowlog-log-slower-than', '10000');
    }
    expect((await a.stats()).tier.tierHits - before.a).to.equal(10);
    expect((await b.stats()).tier.tierHits - before.b).to.equal(10);
  });

  it('a write on B: A stops serving the old copy within maxLag, the strict instance right after the write', async () => {
    const path = `/users/${user}`;
    const old = await call('GET', a.url + path);
    await until('A holds its fill', async () => (await call('GET', a.url + path)).cache === 'HIT');
    for (const instance of [a, strict]) {
      await call('GET', instance.url + path);
      const hit = await call('GET', instance.url + path);
      expect(hit.fill).to.equal(old.fill);
    }
    const write = await call('PUT', b.url + path);
    expect(write.status).to.equal(200);
    // Strict: confirmed in Redis on every hit, so the first read after the write's response is new.
    const onStrict = await call('GET', strict.url + path);
    expect(onStrict.fill).to.not.equal(old.fill);
    // Not strict: guaranteed once maxLag has passed since the write's response (in practice far sooner).
    await sleep(MAX_LAG);
    const onA = await call('GET', a.url + path);
    expect(onA.fill).to.not.equal(old.fill);
    // B, the writer, never served it again.
    expect((await call('GET', b.url + path)).fill).to.not.equal(old.fill);
  });

  it('Redis killed, then restarted empty while traffic runs: no request fails, no old copy is served afterwards', async () => {
    const path = `/users/${user}`;
    const old = await call('GET', a.url + path);
    // The store call runs after the response: wait until A answers from its tier before B reads.
    await until('A holds its fill', async () => (await call('GET', a.url + path)).cache === 'HIT');
    await call('GET', b.url + path);
    for (const instance of [a, b]) expect((await call('GET', instance.url + path)).fill).to.equal(old.fill);
    const answers: Answer[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) {
        const batch = await Promise.all([a, b, strict].map((instance) => call('GET', instance.url + path)));
        answers.push(...batch);
        await sleep(2);
      }
    })();
    await sleep(100);
    await server.kill();
    await sleep(300);
    await server.restart();
    const restartedAt = performance.now();
    await waitReady(admin);
    await sleep(600);
    running = false;
    await traffic;
    expect(answers.filter((answer) => answer.status !== 200)).to.deep.equal([]);
    const after = answers.filter((answer) => answer.sentAt > restartedAt);
    expect(after.length).to.be.above(0);
    expect(after.filter((answer) => answer.fill === old.fill)).to.deep.equal([]);
    // And the fleet caches again: every instance is back on its tier.
    for (const instance of [a, b]) {
      await until('the instance follows the stream again', async () => (await instance.stats()).tier.serving);
    }
    const refilled = await call('GET', a.url + path);
    expect((await call('GET', a.url + path)).cache).to.equal('HIT');
    expect(refilled.fill).to.not.equal(old.fill);
  });
});
