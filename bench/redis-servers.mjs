// The redis-server processes of the fleet benchmarks (bench/fleet.mjs, bench/fleet-scale.mjs): one node, or a Redis
// Cluster of 3 masters, on free loopback ports, never 6379. Every child a bench starts goes through `track`, and is
// killed when the bench exits, fails or is interrupted (SIGINT, SIGTERM).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set();

/** Kills `child` when this process exits, fails or is interrupted. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// The servers' directories, removed with them (redis-server writes its cluster config there).
const dirs = new Set();

function killAll() {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'group-cache-fleet-bench-'));
  dirs.add(dir);
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    }),
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    await sleep(20);
    try {
      const { Redis } = await import('ioredis');
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {}
  }
  return {
    url,
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Three masters, no replicas: `redis-server --cluster-enabled yes` on free ports, then `redis-cli --cluster create`.
export async function startCluster() {
  const dir = mkdtempSync(join(tmpdir(), 'group-cache-fleet-cluster-'));
  dirs.add(dir);
  const ports = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
  }
  const children = ports.map((port) =>
    track(
      spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'],
          ...['--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000'],
          ...['--save', '', '--appendonly', 'no', '--dir', dir],
        ],
        { stdio: 'ignore' },
      ),
    ),
  );
  const cli = (args) => execFileSync('redis-cli', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  for (const port of ports) {
    for (let i = 0; i < 200; i++) {
      try {
        if (cli(['-p', String(port), 'PING']).trim() === 'PONG') break;
      } catch {}
      await sleep(20);
    }
  }
  cli(['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes']);
  for (let i = 0; i < 400; i++) {
    if (ports.every((port) => cli(['-p', String(port), 'CLUSTER', 'INFO']).includes('cluster_state:ok'))) break;
    await sleep(50);
  }
  return {
    url: ports.join(','),
    stop() {
      for (const child of children) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether `taskset` can pin a process here (the fleet scripts put the instances on core 0 when it can). */
export function hasTaskset() {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
