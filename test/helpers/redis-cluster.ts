import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type ClusterOptions } from 'ioredis';
import { freePort } from './redis-server.js';

/**
 * A Redis Cluster the tests start themselves on free loopback ports (never 6379): 3 masters and 3 replicas, no
 * persistence, one scratch directory per node (a replica writes the master's snapshot it syncs from to its own
 * directory; shared, a node restarted "empty" would load another node's). A node can be killed (the failover test)
 * and the cluster waits for its replica to take over.
 */
export interface RedisClusterNode {
  readonly port: number;
  /** SIGKILLs the node. */
  kill(): Promise<void>;
  /**
   * Starts a killed node again on its port with its cluster identity (nodes.conf) but no data (its snapshot and
   * append-only files are deleted first): the cluster gets the same node back, empty, as after a restart without
   * persistence. Resolves once it answers PING.
   */
  restart(): Promise<void>;
  /** SIGSTOPs the node (it answers nothing until resumed). */
  pause(): void;
  /** SIGCONTs a paused node. */
  resume(): void;
  alive(): boolean;
}

export interface RedisCluster {
  readonly nodes: readonly RedisClusterNode[];
  /** The node serving `slot` as master now, as a live node sees it; waits up to `ms` for a live one. */
  masterOf(slot: number, ms?: number): Promise<RedisClusterNode>;
  /**
   * A live, running replica of the master `node`, as the replica itself says (its own CLUSTER NODES line). Waits up
   * to `ms` for one: after a failover or a pause, the roles and failure flags take a while to settle.
   */
  replicaOf(node: RedisClusterNode, ms?: number): Promise<RedisClusterNode>;
  /** Waits until every live node says cluster_state:ok and agrees that no live slot is served by a dead node. */
  waitOk(ms?: number): Promise<void>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

const binary = process.env.REDIS_SERVER ?? 'redis-server';
const cli = process.env.REDIS_CLI ?? 'redis-cli';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function has(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function redisCli(args: string[], ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: ms }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cli} ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function startCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'group-cache-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) {
    // The cluster bus listens on port + 10000: both must be usable.
    const port = await freePort((free) => free + 10_000 < 65_536 && !taken.has(free));
    taken.add(port);
    taken.add(port + 10_000);
    ports.push(port);
  }
  const children = new Map<number, ChildProcess>();
  const dirOf = (port: number): string => join(dir, String(port));
  const argsOf = new Map<number, string[]>();
  const paused = new Set<number>();
  const launch = (port: number): void => {
    const child = spawn(binary, argsOf.get(port)!, { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    children.set(port, child);
  };
  for (const port of ports) {
    mkdirSync(dirOf(port));
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dirOf(port), 'nodes.conf'),
      '--cluster-node-timeout',
      '1000',
      '--save',
      '',
      '--appendonly',
      'no',
      // Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
      '--repl-diskless-sync-delay',
      '0',
      '--dir',
      dirOf(port),
    ];
    argsOf.set(port, args);
    launch(port);
  }
  const alive = (port: number): boolean => {
    const child = children.get(port);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };
  for (const port of ports) {
    await waitUntil(
      `node ${port} answers`,
      async () => (await redisCli(['-p', String(port), 'PING'], 1_000)).trim() === 'PONG',
      10_000,
    );
  }
  await redisCli(
    ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
    30_000,
  );
  const nodes: RedisClusterNode[] = ports.map((port) => ({
    port,
    alive: () => alive(port),
    pause: () => {
      paused.add(port);
      children.get(port)?.kill('SIGSTOP');
    },
    resume: () => {
      paused.delete(port);
      children.get(port)?.kill('SIGCONT');
    },
    async kill() {
      const child = children.get(port);
      if (child === undefined || !alive(port)) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
    async restart() {
      if (alive(port)) throw new Error(`node ${port} is still running: kill it first`);
      // A replica keeps the snapshot it synced from: left there, the node would come back with that data.
      for (const file of ['dump.rdb', 'appendonly.aof', 'appendonlydir'])
        rmSync(join(dirOf(port), file), { recursive: true, force: true });
      launch(port);
      await waitUntil(
        `node ${port} answers again`,
        async () => (await redisCli(['-p', String(port), 'PING'], 1_000)).trim() === 'PONG',
        10_000,
      );
    },
  }));
  // Running and answering: a paused node answers nothing, so it is left out of what waitOk asks.
  const liveNodes = (): RedisClusterNode[] => nodes.filter((node) => node.alive() && !paused.has(node.port));
  const cluster: RedisCluster = {
    nodes,
    // Waits for one: right after a failover, the node asked may still list the failed master, or none, for a while.
    async masterOf(slot, ms = 20_000) {
      const find = async (): Promise<RedisClusterNode | undefined> => {
        const lines = (await redisCli(['-p', String(liveNodes()[0]!.port), 'CLUSTER', 'NODES'], 1_000)).trim().split('\n');
        for (const line of lines) {
          const fields = line.split(' ');
          if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
          const port = Number(fields[1]!.split(':')[1]!.split('@')[0]);
          for (const range of fields.slice(8)) {
            const [from, to] = range.split('-').map(Number);
            if (from !== undefined && slot >= from && slot <= (to ?? from)) {
              const node = nodes.find((candidate) => candidate.port === port && candidate.alive());
              if (node !== undefined) return node;
            }
          }
        }
        return undefined;
      };
      let found: RedisClusterNode | undefined;
      try {
        await waitUntil(
          `a live master serves slot ${slot}`,
          async () => {
            found = await find();
            return found !== undefined;
          },
          ms,
        );
      } catch {
        throw new Error(`no master serves slot ${slot} within ${ms} ms`);
      }
      return found!;
    },
    /*
     * Asked of the replicas, not of the master: right after a failover the master may not list its new replica yet,
     * and a replica paused a moment before may still carry a fail flag in the master's table.
     */
    async replicaOf(master, ms = 30_000) {
      const idOf = async (port: number): Promise<string | undefined> =>
        (await redisCli(['-p', String(port), 'CLUSTER', 'MYID'], 1_000)).trim() || undefined;
      let found: RedisClusterNode | undefined;
      try {
        await waitUntil(
          `a live replica of ${master.port}`,
          async () => {
            const id = await idOf(master.port);
            for (const node of liveNodes()) {
              if (node.port === master.port) continue;
              const lines = (await redisCli(['-p', String(node.port), 'CLUSTER', 'NODES'], 1_000)).trim().split('\n');
              const own = lines.find((line) => line.split(' ')[2]?.includes('myself'))?.split(' ');
              if (own?.[2]?.includes('slave') && own[3] === id) {
                found = node;
                return true;
              }
            }
            return false;
          },
          ms,
        );
      } catch {
        throw new Error(`no live replica of ${master.port} within ${ms} ms`);
      }
      return found!;
    },
    async waitOk(ms = 20_000) {
      await waitUntil(
        'every live node says cluster_state:ok and no master is failed',
        async () => {
          for (const node of liveNodes()) {
            const info = await redisCli(['-p', String(node.port), 'CLUSTER', 'INFO'], 1_000);
            if (!info.includes('cluster_state:ok')) return false;
            const lines = await redisCli(['-p', String(node.port), 'CLUSTER', 'NODES'], 1_000);
            // A master marked failed that still owns slots: the failover has not finished.
            for (const line of lines.trim().split('\n')) {
              const fields = line.split(' ');
              if (fields[2]?.includes('master') && fields[2].includes('fail') && fields.length > 8) return false;
            }
          }
          return true;
        },
        ms,
      );
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitOk();
  // Every replica synced: a write acknowledged by WAIT is on two nodes from the start.
  await waitUntil(
    'every replica is in sync',
    async () => {
      let online = 0;
      for (const port of ports)
        online += (await redisCli(['-p', String(port), 'INFO', 'replication'], 1_000)).split('state=online').length - 1;
      return online === 3;
    },
    20_000,
  );
  return cluster;
}

/**
 * Starts a cluster for a suite. Without redis-server or redis-cli it warns loudly and skips the suite; under CI
 * (`CI=true`) it fails instead, since CI must never skip the cluster tests. Call from a `before` hook.
 */
export async function startClusterOrSkip(context: Mocha.Context): Promise<RedisCluster> {
  if (has(binary) && has(cli)) return startCluster();
  const why = `no ${has(binary) ? cli : binary} binary`;
  if (process.env.CI === 'true')
    throw new Error(`Redis Cluster tests cannot run (${why}); CI must run them: install redis-server`);
  console.warn(
    `\n  !!! SKIPPING Redis Cluster tests: ${why}. Install redis-server (Debian's includes redis-cli) to run them. !!!\n`,
  );
  context.skip();
}

/** ioredis Cluster options for tests: fail fast while a node is down, find the new master quickly. */
export const testClusterOptions: ClusterOptions = {
  enableOfflineQueue: false,
  clusterRetryStrategy: () => 50,
  retryDelayOnFailover: 50,
  retryDelayOnClusterDown: 50,
  slotsRefreshTimeout: 500,
  redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 500 },
};

/** An ioredis Cluster client connected to `cluster`, ready for commands. */
export async function connectCluster(cluster: RedisCluster, options: ClusterOptions = {}): Promise<Cluster> {
  const live = cluster.nodes.filter((node) => node.alive());
  const client = new Cluster(
    live.map((node) => ({ host: '127.0.0.1', port: node.port })),
    { ...testClusterOptions, ...options },
  );
  client.on('error', () => {});
  await waitUntil('the cluster client is ready', async () => client.status === 'ready', 10_000);
  return client;
}

/** One cluster and client for a file whose blocks share it (a cluster takes long to start). */
export interface SharedCluster {
  /** The cluster, started by the first block that asks (its suite skipped where it cannot start). */
  readonly cluster: RedisCluster;
  /** A client on it. */
  readonly client: Cluster;
  /** Starts it for the first block that asks, with a timeout long enough for that; answers the client. */
  open(context: Mocha.Context): Promise<Cluster>;
  /** Each block calls it after its tests; the last one stops the cluster. */
  release(): Promise<void>;
}

/** A cluster shared by the `blocks` blocks of a file: see SharedCluster. */
export function sharedCluster(blocks: number): SharedCluster {
  let cluster: RedisCluster | undefined;
  let client: Cluster | undefined;
  let users = blocks;
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('sharedCluster(): the cluster was not opened by this block');
    return value;
  };
  return {
    get cluster() {
      return opened(cluster);
    },
    get client() {
      return opened(client);
    },
    async open(context) {
      context.timeout(60_000);
      cluster ??= await startClusterOrSkip(context);
      client ??= await connectCluster(cluster);
      return client;
    },
    async release() {
      if (--users > 0) return;
      client?.disconnect();
      client = undefined;
      await cluster?.stop();
      cluster = undefined;
    },
  };
}
