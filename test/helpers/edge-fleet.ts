/*
 * The read-your-writes check through the edge (issue 25), for test/edge/read-your-writes.test.ts and bench/edge.mjs:
 * two app instances on one Redis, each behind its own varnishd (every app purges both), and a randomised
 * read/write workload sent through the two Varnishes at random, whose every answer is checked against the writes
 * acknowledged before it was sent.
 */
import { performance } from 'node:perf_hooks';
import { createCache, type GroupCache, type Purger } from 'group-cache';
import { varnishPurger } from 'group-cache/edge';
import { redisStore } from 'group-cache/redis';
import { type AppInstance, type Framework, type ItemsDb, startItemsApp } from './edge-apps.js';
import { connect, freePort, type RedisServer, uniquePrefix } from './redis-server.js';
import { startVarnish, type Varnish } from './varnish.js';

export interface FleetOptions {
  framework: Framework;
  /** `edge.window` of each cache (ms). Default 50. */
  window?: number;
  /**
   * 'edge' (default): createCache({ edge }). 'recipe': no `edge`; the handler offers responses to Varnish itself and
   * onExpire purges both Varnishes without the write waiting, as docs/http.md's CDN recipe did before the edge.
   */
  mode?: 'edge' | 'recipe';
}

export interface Fleet {
  readonly edges: Varnish[];
  readonly caches: GroupCache[];
  /** Milliseconds each purge call took (one per edge per expiry), since the last {@link takePurgeTimes}. */
  takePurgeTimes(): number[];
  close(): Promise<void>;
}

/** A purger that times each call. */
function timed(purger: Purger, times: number[]): Purger {
  return {
    name: purger.name,
    async purge(tags, options) {
      const started = performance.now();
      try {
        await purger.purge(tags, options);
      } finally {
        times.push(performance.now() - started);
      }
    },
  };
}

export async function startFleet(redis: RedisServer, options: FleetOptions): Promise<Fleet> {
  const prefix = uniquePrefix('edge-fleet');
  const ports = [await freePort(), await freePort()];
  const purgeTimes: number[] = [];
  const purgers = ports.map((port) =>
    timed(varnishPurger({ url: `http://127.0.0.1:${port}`, timeout: 1_000, retries: 2 }), purgeTimes),
  );
  // Fills are quick, one in five reads the database slowly (up to 40 ms): slow fills race the writes.
  const db: ItemsDb = { versions: new Map(), delay: () => (Math.random() < 0.2 ? Math.random() * 40 : 0) };
  const caches: GroupCache[] = [];
  const apps: AppInstance[] = [];
  const clients: Awaited<ReturnType<typeof connect>>[] = [];
  const recipe = options.mode === 'recipe';
  for (let i = 0; i < 2; i++) {
    const client = await connect(redis);
    clients.push(client);
    const store = redisStore({ client, prefix });
    const cache = recipe
      ? createCache({
          store,
          storeTimeout: 1_000,
          cdnTags: 'Surrogate-Key',
          onExpire: async ({ cdnTags }) => {
            await Promise.all(purgers.map((purger) => purger.purge(cdnTags, { soft: false })));
          },
        })
      : createCache({ store, storeTimeout: 1_000, cdnTags: 'Surrogate-Key', edge: { purgers, window: options.window ?? 50 } });
    cache.on('error', () => {});
    caches.push(cache);
    const headers: Record<string, string> = recipe ? { 'Surrogate-Control': 'max-age=60, fetch-within=60000' } : {};
    apps.push(await startItemsApp(options.framework, cache, db, { headers }));
  }
  const edges: Varnish[] = await Promise.all(apps.map((app, i) => startVarnish(app.port, ports[i])));
  return {
    edges,
    caches,
    takePurgeTimes: () => purgeTimes.splice(0),
    async close() {
      for (const edge of edges) await edge.stop();
      for (const app of apps) await app.close();
      for (const cache of caches) await cache.close();
      for (const client of clients) client.disconnect();
    },
  };
}

export interface WorkloadOptions {
  ops: number;
  concurrency: number;
  keys: number;
  /** Share of operations that are writes. */
  writeRatio: number;
  /** Run (without blocking the workload) once this share of the operations was sent. */
  chaos?: { at: number; run: () => Promise<void> }[];
}

export interface Violation {
  key: string;
  acknowledged: number;
  read: number;
  edge: string | null;
  app: string | null;
}

export interface WorkloadResult {
  reads: number;
  writes: number;
  acknowledged: number;
  /** Writes answered something else than 200 (a 503 of a failed expiry or purge), or not at all. */
  unacknowledged: number;
  /** Reads that got no answer or a non-200 (an edge restarting). */
  failedReads: number;
  violations: Violation[];
  /** Reads answered by Varnish from its cache, over the reads answered. */
  edgeHitRatio: number;
  /** Of the reads Varnish passed to the app, those the app answered from its cache. */
  appHitRatio: number;
  writeLatency: { p50: number; p99: number };
  seconds: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs the randomised workload through the fleet's edges and checks every read. */
export async function runWorkload(fleet: Fleet, options: WorkloadOptions): Promise<WorkloadResult> {
  const acknowledgedFloor = new Map<string, number>();
  const violations: Violation[] = [];
  const writeTimes: number[] = [];
  const counts = {
    reads: 0,
    writes: 0,
    acknowledged: 0,
    unacknowledged: 0,
    failedReads: 0,
    edgeHits: 0,
    edgeMisses: 0,
    appHits: 0,
  };
  const chaos = [...(options.chaos ?? [])].sort((a, b) => a.at - b.at);
  const running: Promise<void>[] = [];
  let sent = 0;
  let version = Date.now() * 1000;
  const started = performance.now();

  async function write(edge: string, key: string): Promise<void> {
    const v = ++version;
    counts.writes++;
    const begun = performance.now();
    const response = await fetch(`${edge}/items/${key}?v=${v}`, { method: 'PUT' }).catch(() => undefined);
    await response?.arrayBuffer().catch(() => undefined);
    if (response?.status !== 200) {
      counts.unacknowledged++;
      return;
    }
    writeTimes.push(performance.now() - begun);
    counts.acknowledged++;
    acknowledgedFloor.set(key, Math.max(acknowledgedFloor.get(key) ?? 0, v));
  }

  async function read(edge: string, key: string): Promise<void> {
    const floor = acknowledgedFloor.get(key) ?? 0;
    counts.reads++;
    const response = await fetch(`${edge}/items/${key}`).catch(() => undefined);
    const body = await response?.text().catch(() => undefined);
    if (response?.status !== 200 || body === undefined) {
      counts.failedReads++;
      return;
    }
    const said = response.headers.get('x-edge');
    if (said === 'HIT' || said === 'STALE') counts.edgeHits++;
    else {
      counts.edgeMisses++;
      if (response.headers.get('x-cache') === 'HIT') counts.appHits++;
    }
    const read = (JSON.parse(body) as { version: number }).version;
    if (read < floor) violations.push({ key, acknowledged: floor, read, edge: said, app: response.headers.get('x-cache') });
  }

  async function worker(): Promise<void> {
    while (sent < options.ops) {
      sent++;
      while (chaos.length > 0 && sent >= (chaos[0] as { at: number }).at * options.ops) {
        running.push((chaos.shift() as { run: () => Promise<void> }).run());
      }
      const edge = (fleet.edges[Math.floor(Math.random() * fleet.edges.length)] as Varnish).url;
      const key = String(Math.floor(Math.random() * options.keys));
      if (Math.random() < options.writeRatio) await write(edge, key);
      else await read(edge, key);
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  await Promise.all(running);
  const answered = counts.edgeHits + counts.edgeMisses;
  return {
    reads: counts.reads,
    writes: counts.writes,
    acknowledged: counts.acknowledged,
    unacknowledged: counts.unacknowledged,
    failedReads: counts.failedReads,
    violations,
    edgeHitRatio: answered === 0 ? 0 : counts.edgeHits / answered,
    appHitRatio: counts.edgeMisses === 0 ? 0 : counts.appHits / counts.edgeMisses,
    writeLatency: { p50: percentile(writeTimes, 50), p99: percentile(writeTimes, 99) },
    seconds: (performance.now() - started) / 1000,
  };
}
