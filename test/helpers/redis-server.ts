import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisClient, type RedisStore, redisStore } from 'group-cache/redis';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import type { StoreFactory, StoreFixture } from './store-conformance.js';

/**
 * A redis-server the tests start themselves: a free loopback port (never 6379), no persistence, a scratch
 * directory. It can be killed and restarted on the same port to simulate an outage.
 */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** False when the tests run against `REDIS_URL` (no binary): kill/restart/flush are then unavailable. */
  readonly owned: boolean;
  /** SIGKILLs the server (an outage). */
  kill(): Promise<void>;
  /** SIGSTOPs the server: connections stay open and nothing answers (a slow Redis). */
  pause(): void;
  /** SIGCONTs a paused server. */
  resume(): void;
  /** Starts it again on the same port, with whatever an explicit `SAVE` left, and waits until it answers. */
  restart(): Promise<void>;
  /** Kills it for good and removes its directory. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

// The binary to start; REDIS_SERVER overrides it (e.g. a Redis 6.2 build, or a missing path to try the skip).
const binary = process.env.REDIS_SERVER ?? 'redis-server';

function hasBinary(): boolean {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A free port on loopback, never Redis's default one; `usable` may refuse more (the caller takes the next). */
export async function freePort(usable: (port: number) => boolean = () => true): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port !== 6379 && port !== 0 && usable(port)) return port;
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

// Generous: a loaded 2-core machine (CI beside other jobs) has been seen to take seconds to start one.
async function waitUntil(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis-server: timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A server on a free port. The port is free when chosen but may be taken before redis-server binds it (by a test's
 * own listen(0)): a server that exits at once is started again on another port.
 */
async function startOwned(): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOwnedOn(await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

class PortTaken extends Error {}

async function startOwnedOn(port: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'group-cache-redis-'));
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const spawned = spawn(binary, args, { stdio: 'ignore' });
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    child = spawned;
    await waitUntil(`it answers on port ${port}`, async () => {
      if (spawned.exitCode !== null) throw new PortTaken(`redis-server exited at once on port ${port} (in use?)`);
      return ping(port);
    });
  };
  const kill = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      current.once('exit', () => resolve());
      current.kill('SIGKILL');
    });
  };
  try {
    await launch();
  } catch (error) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    owned: true,
    kill,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function external(url: string): RedisServer {
  const unsupported = (): Promise<void> => Promise.reject(new Error('cannot kill or restart a REDIS_URL server'));
  const refuse = (): void => {
    throw new Error('cannot pause a REDIS_URL server');
  };
  return {
    url,
    port: Number(new URL(url).port || 6379),
    owned: false,
    kill: unsupported,
    pause: refuse,
    resume: refuse,
    restart: unsupported,
    stop: async () => {},
  };
}

/**
 * Starts a redis-server for a suite, or uses `REDIS_URL` when there is no binary. With neither, it warns loudly and
 * skips the suite; under CI (`CI=true`) it fails instead, since CI must never skip the Redis tests.
 * Call from a `before` hook: `server = await startRedisOrSkip(this)`.
 */
export async function startRedisOrSkip(context: Mocha.Context, needsOwned = false): Promise<RedisServer> {
  if (hasBinary()) return startOwned();
  const url = process.env.REDIS_URL;
  const why = url === undefined ? 'no redis-server binary and no REDIS_URL' : 'no redis-server binary to kill and restart';
  if (url !== undefined && !needsOwned) return external(url);
  if (process.env.CI === 'true') throw new Error(`Redis tests cannot run (${why}); CI must run them: install redis-server`);
  const fix = url === undefined ? 'Install redis-server (or set REDIS_URL)' : 'Install redis-server';
  console.warn(`\n  !!! SKIPPING Redis tests: ${why}. ${fix} to run them. !!!\n`);
  context.skip();
}

/** ioredis options for tests: fail fast while the server is down, so nothing waits or hangs. */
export const testClientOptions: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 1_000,
  retryStrategy: () => 50,
};

/** A client connected to `server`, ready for commands. */
export async function connect(server: RedisServer, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(server.url, { ...testClientOptions, ...options });
  // Connection errors while the server is killed are expected; ioredis would print them as unhandled otherwise.
  client.on('error', () => {});
  await waitUntil('the client is ready', async () => client.status === 'ready');
  return client;
}

/** True when the server answers a PING now. */
export function answers(server: RedisServer): Promise<boolean> {
  return ping(server.port);
}

/** Waits until `client` has reconnected after a restart. */
export function waitReady(client: Redis, ms = 5_000): Promise<void> {
  return waitUntil('the client reconnected', async () => client.status === 'ready', ms);
}

/** The two client packages the Redis store accepts; the Redis suites run on each. */
export type ClientKind = 'ioredis' | 'node-redis';
export const CLIENT_KINDS: readonly ClientKind[] = ['ioredis', 'node-redis'];

/** A client of either package, as the store receives it, with what the tests do to it. */
export interface TestClient {
  readonly kind: ClientKind;
  readonly client: RedisClient;
  /** True when the client can send commands now. */
  ready(): boolean;
  /** Drops the connection at once, for good. */
  disconnect(): void;
  /** Sends a raw command; bulk strings come back as strings. */
  command(...args: string[]): Promise<unknown>;
}

export interface TestClientOptions {
  /**
   * Keep commands queued while Redis is down and retry them (each client's default), so that failing fast is
   * shown to be the store's doing. Default false: the client itself fails fast.
   */
  queue?: boolean;
  /**
   * Do not wait until it is ready: a client used from the first request, as an app does at start-up (ioredis with
   * `lazyConnect`; node-redis with `connect()` under way). Pair it with `queue`, or the first commands fail.
   */
  lazy?: boolean;
}

/** A client of `kind` connected to `server`; ready for commands unless `lazy`. */
export async function connectClient(kind: ClientKind, server: RedisServer, options: TestClientOptions = {}): Promise<TestClient> {
  const created = kind === 'ioredis' ? ioredisClient(server, options) : nodeRedisClient(server, options);
  if (!options.lazy) await waitUntil('the client is ready', async () => created.ready());
  return created;
}

function ioredisClient(server: RedisServer, { queue = false, lazy = false }: TestClientOptions): TestClient {
  const queueing = { enableOfflineQueue: true, maxRetriesPerRequest: 20, retryStrategy: () => 50 };
  // lazyConnect: ioredis connects on the first command.
  const client = new Redis(server.url, { ...(queue ? queueing : testClientOptions), lazyConnect: lazy });
  client.on('error', () => {});
  return {
    kind: 'ioredis',
    client,
    ready: () => client.status === 'ready',
    disconnect: () => client.disconnect(),
    command: (...args: string[]) => client.call(args[0] ?? '', ...args.slice(1)),
  };
}

function nodeRedisClient(server: RedisServer, { queue = false }: TestClientOptions): TestClient {
  const client = createClient({
    url: server.url,
    disableOfflineQueue: !queue,
    socket: { connectTimeout: 1_000, reconnectStrategy: () => 50 },
  });
  // node-redis emits 'error' on every failed reconnection; with no listener that would crash the test process.
  client.on('error', () => {});
  void client.connect().catch(() => {});
  return {
    kind: 'node-redis',
    client,
    ready: () => client.isReady,
    disconnect: () => {
      if (client.isOpen) client.destroy();
    },
    command: (...args: string[]) => client.sendCommand(args),
  };
}

/** Waits until `client` is ready again (after a restart). */
export function waitClientReady(client: TestClient, ms = 5_000): Promise<void> {
  return waitUntil('the client reconnected', async () => client.ready(), ms);
}

let prefixes = 0;
/** A prefix no other test uses, so suites on one server (or on REDIS_URL) never see each other's keys. */
export function uniquePrefix(name: string): string {
  return `gct:${process.pid}:${name}:${++prefixes}:`;
}

/**
 * The Redis store for the store conformance suite, through a client of `kind`: one server and client per suite,
 * one prefix per fixture. `onRedis` makes the fixture from that fixture's Redis store (a store built on it, say);
 * by default the Redis store itself.
 */
export function redisStoreFactory(
  kind: ClientKind = 'ioredis',
  onRedis: (redis: RedisStore) => StoreFixture | Promise<StoreFixture> = redisFixture,
): StoreFactory {
  let server: RedisServer | undefined;
  let client: TestClient | undefined;
  return {
    async setup(context) {
      server = await startRedisOrSkip(context);
      client = await connectClient(kind, server);
    },
    create(options) {
      if (client === undefined) throw new Error('the Redis suite was not set up');
      return onRedis(redisStore({ client: client.client, prefix: uniquePrefix('conformance'), ...options }));
    },
    async teardown() {
      client?.disconnect();
      await server?.stop();
    },
  };
}

function redisFixture(store: RedisStore): StoreFixture {
  return {
    store,
    records: () => store.records(),
    cleanup: async () => {
      await store.clear();
    },
  };
}
