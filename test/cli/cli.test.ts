/*
 * The command line (`group-cache`, dist/esm/cli/main.js) against a real redis-server and two running app processes
 * on it (test/fixtures/fleet-app.mjs): one on the Redis store, one on the tiered store. Its expiries must reach both
 * as a write's would; its exit codes and --json answers are what scripts read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { runCli } from '../helpers/cli.js';
import { connect, type RedisServer, startRedisOrSkip, uniquePrefix } from '../helpers/redis-server.js';

const APP = fileURLToPath(new URL('../fixtures/fleet-app.mjs', import.meta.url));
const MAX_LAG = 200;

interface App {
  url: string;
  child: ChildProcess;
}

function startApp(env: Record<string, string>): Promise<App> {
  const child = spawn(process.execPath, [APP], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the app process exited (${code}) before it listened`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const message = JSON.parse(line) as { listening?: number };
      if (message.listening !== undefined) resolve({ url: `http://127.0.0.1:${message.listening}`, child });
    });
  });
}

function getJson(url: string): Promise<{ cache: string | undefined; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ cache: res.headers['x-cache'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    }).on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** Reads `path` until it is a HIT (a fill's store lands after its response); answers the fill that made it. */
async function cached(app: App, path: string): Promise<string> {
  let fill = '';
  await until(`${path} is a HIT on ${app.url}`, async () => {
    const answer = await getJson(app.url + path);
    fill = String(answer.body.fill);
    return answer.cache === 'HIT';
  });
  return fill;
}

describe('the command line (group-cache) on a real Redis, with running apps', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  let plain: App;
  let tiered: App;
  const cli = (...args: string[]) => runCli([...args, '--redis', server.url, '--prefix', prefix]);

  before(async function () {
    server = await startRedisOrSkip(this);
    admin = await connect(server);
    prefix = uniquePrefix('cli');
    const env = { REDIS_URL: server.url, PREFIX: prefix };
    [plain, tiered] = await Promise.all([startApp({ ...env, TIER: 'false' }), startApp({ ...env, MAX_LAG: String(MAX_LAG) })]);
  });

  after(async () => {
    for (const app of [plain, tiered]) app?.child.kill('SIGKILL');
    admin?.disconnect();
    await server?.stop();
  });

  it('expire <group>: the next read is a miss, on the Redis-store app and on the tiered app', async () => {
    // One user per app: a refill by one app is a hit of the new entry for the other.
    const old = await cached(plain, '/users/1');
    const oldTiered = await cached(tiered, '/users/8');
    // Its first hit reads Redis and keeps the entry in its tier; the next ones are answered from the tier.
    const tierStats = async () => (await getJson(`${tiered.url}/stats`)).body.tier as { messages: number; tierHits: number };
    await until('the tiered app answers from its tier', async () => {
      expect((await getJson(`${tiered.url}/users/8`)).body.fill).to.equal(oldTiered);
      return (await tierStats()).tierHits > 0;
    });
    const tierBefore = await tierStats();

    const run = await cli('expire', 'user_group_1', 'user_group_8');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^expired 2 group\(s\) under prefix .* user_group_1, user_group_8\n$/);

    const after = await getJson(`${plain.url}/users/1`);
    expect(after.cache).to.equal('MISS');
    expect(after.body.fill).to.not.equal(old);
    // The tiered store hears of the expiry on the expiry stream, as of any other instance's write (within maxLag).
    await until('the tiered app read the expiry from the stream', async () => (await tierStats()).messages > tierBefore.messages);
    const tieredAfter = await getJson(`${tiered.url}/users/8`);
    expect(tieredAfter.cache).to.equal('MISS');
    expect(tieredAfter.body.fill).to.not.equal(oldTiered);
  });

  it('expire with several groups and --json: one object naming them, exit code 0', async () => {
    await cached(plain, '/users/5');
    const run = await cli('expire', 'user_group_5', 'user_group_6', '--json');
    expect(run.code, run.stderr).to.equal(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).to.include({ ok: true, command: 'expire', prefix });
    expect(answer.groups).to.deep.equal(['user_group_5', 'user_group_6']);
    expect(answer.ms).to.be.a('number');
    expect((await getJson(`${plain.url}/users/5`)).cache).to.equal('MISS');
  });

  it('expire-key <key>: that key misses, another of its groups still hits', async () => {
    const two = await cached(plain, '/users/2');
    const three = await cached(plain, '/users/3');
    const run = await cli('expire-key', 'user_2', '--json');
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ ok: true, command: 'expire-key', key: 'user_2' });
    const after = await getJson(`${plain.url}/users/2`);
    expect(after.cache).to.equal('MISS');
    expect(after.body.fill).to.not.equal(two);
    const other = await getJson(`${plain.url}/users/3`);
    expect(other.cache).to.equal('HIT');
    expect(other.body.fill).to.equal(three);
  });

  it('inspect <key>: the entry, its groups and state; invalidated after an expiry; exit code 1 when nothing is held', async () => {
    await cached(plain, '/users/4');
    const run = await cli('inspect', 'user_4', '--json');
    expect(run.code, run.stderr).to.equal(0);
    const { entry, found } = JSON.parse(run.stdout);
    expect(found).to.equal(true);
    expect(entry).to.include({ key: 'user_4', status: 200, state: 'fresh' });
    expect(entry.groups).to.have.members(['user_group_4', 'users']);
    expect(entry.bodyBytes).to.be.above(900);
    expect(entry.body, 'no body unless asked').to.equal(undefined);

    const text = await cli('inspect', 'user_4');
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/^state\s+fresh$/m);
    expect(text.stdout).to.match(/^groups\s+.*users/m);

    expect((await cli('expire', 'users')).code).to.equal(0);
    const expired = JSON.parse((await cli('inspect', 'user_4', '--json')).stdout);
    expect(expired.entry.state).to.equal('invalidated');

    const missing = await cli('inspect', 'user_nobody', '--json');
    expect(missing.code).to.equal(1);
    expect(JSON.parse(missing.stdout)).to.include({ ok: true, found: false, key: 'user_nobody' });
  });

  it('stats: records, epoch, the expiry stream and the last expiry, from Redis alone', async () => {
    await cached(plain, '/users/7');
    expect((await cli('expire', 'user_group_7')).code).to.equal(0);
    const run = await cli('stats', '--json', '--entries');
    expect(run.code, run.stderr).to.equal(0);
    const stats = JSON.parse(run.stdout);
    expect(stats).to.include({ ok: true, command: 'stats', prefix, mode: 'standalone', writtenByThisServer: true });
    expect(stats.records).to.be.at.least(2);
    expect(Date.parse(stats.epoch)).to.be.within(Date.now() - 120_000, Date.now() + 1_000);
    expect(stats.lastExpiry.name).to.equal('group "user_group_7"');
    expect(stats.stream.length).to.be.at.least(1);
    expect(stats.stream.published).to.be.at.least(stats.stream.length);
    expect(stats.longestTtlMs).to.equal(60_000);
    expect(stats.entries).to.be.at.least(1);
    expect(stats.redis.version).to.match(/^\d+\.\d+/);
    expect(stats.warnings).to.deep.equal([]);
    const text = await cli('stats');
    expect(text.stdout).to.match(/^records\s+\d+ group\/key expiry records$/m);
    expect(text.stdout).to.match(/^entries\s+\(not counted: --entries\)$/m);
  });

  it('stats of a prefix nothing was written under says so', async () => {
    const run = await runCli(['stats', '--json', '--redis', server.url, '--prefix', uniquePrefix('empty')]);
    expect(run.code).to.equal(0);
    const stats = JSON.parse(run.stdout);
    expect(stats).to.include({ records: 0, epoch: null, lastExpiry: null });
    expect(stats.warnings[0]).to.match(/nothing is recorded under prefix/);
  });

  describe('exit codes and errors', () => {
    it('--help and no command: the usage, exit code 0', async () => {
      for (const args of [['--help'], []]) {
        const run = await runCli(args);
        expect(run.code).to.equal(0);
        expect(run.stdout).to.match(/^Usage: group-cache <command> \[options\]/);
        expect(run.stdout).to.match(/Exit codes: 0 done; 1 inspect found nothing; 2 bad arguments/);
      }
    });

    it('bad arguments: exit code 2, a message naming the fault, before any connection', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['expire'], /expire needs at least one group/],
        [['expire', ''], /argument 1 is empty/],
        [['inspect', 'a', 'b'], /inspect takes exactly one key, got 2/],
        [['purge'], /unknown command "purge"/],
        [['stats', '--frob'], /Unknown option '--frob'/],
        [['stats', '--redis', 'http://x'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
        [['stats', '--cluster', 'nohost'], /--cluster takes host:port/],
        [['stats', '--timeout', '0'], /--timeout must be an integer >= 1, got "0"/],
        [['stats', '--redis', 'redis://a:1', '--cluster', 'a:1'], /give --redis or --cluster, not both/],
      ];
      for (const [args, message] of cases) {
        const run = await runCli(args);
        expect(run.code, args.join(' ')).to.equal(2);
        expect(run.stderr, args.join(' ')).to.match(message);
        expect(run.stderr).to.include('Usage: group-cache');
      }
      const json = await runCli(['expire', '--json']);
      expect(json.code).to.equal(2);
      expect(JSON.parse(json.stdout).error).to.deep.include({ code: 'EUSAGE' });
    });

    it('Redis down: exit code 3, naming the address and the socket error', async () => {
      const run = await runCli(['expire', 'users', '--redis', 'redis://127.0.0.1:1', '--timeout', '2000']);
      expect(run.code).to.equal(3);
      expect(run.stderr).to.match(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
      const json = await runCli(['stats', '--json', '--redis', 'redis://:secret@127.0.0.1:1', '--timeout', '2000']);
      expect(json.code).to.equal(3);
      const answer = JSON.parse(json.stdout);
      expect(answer.error.code).to.equal('EUNREACHABLE');
      expect(answer.error.message, 'the password is not printed').to.not.include('secret');
    });

    it('Redis reached, the command failed: exit code 4, and it says running it again is safe', async () => {
      const broken = uniquePrefix('broken');
      await admin.set(`${broken}expiries`, 'not a sorted set');
      const run = await runCli(['expire', 'users', '--json', '--redis', server.url, '--prefix', broken]);
      expect(run.code).to.equal(4);
      const answer = JSON.parse(run.stdout);
      expect(answer).to.include({ ok: false, command: 'expire' });
      expect(answer.error.message).to.match(/WRONGTYPE.*running it again is safe/);
    });
  });
});
