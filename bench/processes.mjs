// Child processes of the benchmark: servers and a private redis-server, pinned when taskset is available, and
// all of them killed when the benchmark ends, however it ends.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pinning plan: servers on core 0, the load generator (this process) and redis-server on core 1. Returns
 * `{ pinned, reason, serverCore, loadCore }`.
 */
export function planPinning(cores) {
  if (!hasCommand('taskset')) return { pinned: false, reason: 'taskset not found' };
  if (cores < 2) return { pinned: false, reason: `only ${cores} core` };
  try {
    execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  } catch (error) {
    return { pinned: false, reason: `taskset failed: ${error.message}` };
  }
  return { pinned: true, reason: 'servers on core 0; load generator and redis-server on core 1', serverCore: 0, loadCore: 1 };
}

function pinned(pinning, core, command, args) {
  return pinning.pinned ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/** Starts `bench/server.mjs <rowId>` (or another copy of it, `script`, as bench/compare.mjs does); resolves `{ port, child, stop() }` or rejects with the child's stderr. */
export function startServer(
  rowId,
  { pinning, env, nodeArgs = [], script = fileURLToPath(new URL('./server.mjs', import.meta.url)) },
) {
  // fork() cannot run under taskset; spawn node with an IPC channel instead.
  const [command, args] = pinned(pinning, 0, process.execPath, [...nodeArgs, script, rowId]);
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${rowId} did not start in 60 s ${stderr.trim()}`));
      // A NestJS server loads hundreds of modules first: on a busy machine that alone has taken over 15 s.
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`server ${rowId} exited (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.on('message', (message) => {
      if (!message?.ready) return;
      clearTimeout(timer);
      let asked = 0;
      resolve({
        port: message.port,
        child,
        cpu: () =>
          new Promise((done) => {
            const id = ++asked;
            const onMessage = (reply) => {
              if (reply?.id !== id) return;
              child.off('message', onMessage);
              done(reply.cpu);
            };
            child.on('message', onMessage);
            child.send({ cpu: true, id });
          }),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => {
              children.delete(child);
              done();
            });
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
          }),
      });
    });
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private redis-server (never the one on 6379); resolves `{ url, stop() }` or `{ skip: reason }`. `extra`:
 * more arguments (the miss rows' server gets a maxmemory and a policy).
 */
export async function startRedis(pinning, extra = []) {
  if (!hasCommand('redis-server')) return { skip: 'no redis-server binary on PATH' };
  const port = await freePort();
  const [command, args] = pinned(pinning, 1, 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'yes',
    ...extra,
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const onData = (chunk) => {
    output += chunk;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    const check = () => {
      if (/Ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    children.delete(child);
    return { skip: `redis-server did not start: ${output.trim().split('\n').slice(-2).join(' | ')}` };
  }
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => {
          children.delete(child);
          done();
        });
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}

/*
 * The miss rows' Redis: a redis-server of their own at its maxmemory, so that every entry a miss writes makes Redis
 * evict one, as the memory store does when full. `volatile-lru`, the policy the library's README advises: entries
 * carry a TTL and go, records (which have none) stay. It is filled before any row starts with 1 KB ballast keys that
 * carry a TTL too, until Redis evicts the first of them; the rows' own entries then push the ballast out, the oldest
 * first, and each other.
 */
export const FULL_REDIS_MAXMEMORY = '64mb';

/** Starts the miss rows' redis-server and fills it; resolves as startRedis, plus `evicted()` and `close()`. */
export async function startFullRedis(pinning) {
  const redis = await startRedis(pinning, ['--maxmemory', FULL_REDIS_MAXMEMORY, '--maxmemory-policy', 'volatile-lru']);
  if (redis.skip) return redis;
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  const ballast = Buffer.alloc(1024, 'x');
  try {
    let keys = 0;
    while ((await evictedKeys(client)) === 0) {
      // 64 MB of 1 KB keys is about 50,000 of them; far past that, maxmemory is not being applied.
      if (keys >= 1_000_000) throw new Error(`redis-server evicted nothing after ${keys} keys`);
      const batch = client.pipeline();
      for (const end = keys + 1_000; keys < end; keys++) batch.set(`ballast:${keys}`, ballast, 'EX', 86_400);
      await batch.exec();
    }
    return { ...redis, evicted: () => evictedKeys(client), close: () => client.disconnect() };
  } catch (error) {
    client.disconnect();
    await redis.stop();
    return { skip: `the miss rows' redis-server did not fill: ${error.message}` };
  }
}

async function evictedKeys(client) {
  return Number(/evicted_keys:(\d+)/.exec(await client.info('stats'))?.[1] ?? 0);
}

/** Whether a package specifier resolves to a built file (`group-cache/koa` before its adapter lands, say). */
export function moduleMissing(specifier) {
  try {
    const path = fileURLToPath(import.meta.resolve(specifier));
    return existsSync(path) ? undefined : `${specifier} is not built (${path} missing)`;
  } catch (error) {
    return `${specifier} does not resolve: ${error.message}`;
  }
}
