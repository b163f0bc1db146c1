// The benchmark: `npm run bench` (full, for the README) or `npm run bench:quick` (development).
// Options: --quick, --only=<row id,...>, --no-micro, --no-mixed, --profile=<row id> (CPU profile of one server),
// --misses (the miss rows alone), --no-misses (all but them), --costs (issue 26's cost rows: misses, writes, big-body
// hits and the Koa hit rows judged against koa-cash).
// Before/after against a git ref: bench/compare.mjs (`npm run bench:compare -- <ref>`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fillUnique, measure, uniqueRequests, writeRequests } from './load.mjs';
import { FULL_REDIS_MAXMEMORY, moduleMissing, planPinning, startFullRedis, startRedis, startServer } from './processes.mjs';
import { formatMicro, formatTable } from './report.mjs';
import { ALL_ROWS, COST_ROWS, MISS_ROWS, MIXED_ROWS, THROUGHPUT_ROWS } from './rows.mjs';
import { FULL_ENTRIES } from './servers/library.mjs';
import { sizeOf, WRITE_BODY } from './servers/payload.mjs';
import { checkTargets } from './targets.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const only = option('only')?.split(',');
const profileRow = option('profile');
const missesOnly = args.includes('--misses');
const noMisses = args.includes('--no-misses');
const costsOnly = args.includes('--costs');
const settings = quick
  ? { mode: 'quick', warmup: 1, duration: 1.5, rounds: 2, connections: 32, mixedDuration: 3 }
  : { mode: 'full', warmup: 3, duration: 3, rounds: 5, connections: 32, mixedDuration: 10 };
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function machine() {
  const model = /model name\s*:\s*(.+)/.exec(safeRead('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {}
  return { nproc, cpu: model, node: process.version, platform: `${process.platform} ${process.arch}` };
}

function safeRead(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Why a row cannot run here, or undefined. */
function skipReason(row, context) {
  for (const need of row.needs ?? []) {
    if (need === 'redis') {
      const redis = row.fullRedis ? context.fullRedis : context.redis;
      if (redis?.skip) return redis.skip;
      continue;
    }
    const missing = moduleMissing(need);
    if (missing) return missing;
  }
  return undefined;
}

/** One GET to check the row answers 200 with the payload (and, for group-cache rows, a HIT on the second). */
async function sanityCheck(row, port) {
  if (row.misses) return missSanityCheck(row, port);
  if (row.writes) return writeSanityCheck(row, port);
  const url = `http://127.0.0.1:${port}/users/1`;
  let response;
  for (let i = 0; i < 2; i++) {
    response = await fetch(url);
    await response.arrayBuffer();
  }
  if (response.status !== 200) throw new Error(`GET /users/1 answered ${response.status}`);
  if (row.options?.body !== undefined) {
    const length = Number(response.headers.get('content-length'));
    const [least, most] = sizeOf(row.options.body);
    if (!(length >= least && length <= most)) throw new Error(`GET /users/1 answered ${length} bytes`);
  }
  if (row.kind.startsWith('gc') && response.headers.get('x-cache') !== 'HIT') {
    throw new Error(`second GET /users/1 was not a hit (X-Cache: ${response.headers.get('x-cache')})`);
  }
}

/*
 * A miss row: a key the load never sends (it counts from 1) answers 200 with a body of the row's size, and on a
 * group-cache row a MISS, then a HIT on a second GET of the same key: a row whose misses stored nothing would
 * measure less than a miss costs.
 */
async function missSanityCheck(row, port) {
  const url = `http://127.0.0.1:${port}/users/0`;
  const get = async () => {
    const response = await fetch(url);
    const length = (await response.arrayBuffer()).byteLength;
    if (response.status !== 200) throw new Error(`GET /users/0 answered ${response.status}`);
    return { length, status: response.headers.get('x-cache') };
  };
  const first = await get();
  const [least, most] = sizeOf(row.options.body);
  if (first.length < least || first.length > most) throw new Error(`GET /users/0 answered ${first.length} bytes`);
  if (!row.kind.startsWith('gc')) return;
  if (first.status !== 'MISS') throw new Error(`first GET /users/0 was not a miss (X-Cache: ${first.status})`);
  const second = await get();
  if (second.status !== 'HIT') throw new Error(`second GET /users/0 was not a hit (X-Cache: ${second.status})`);
}

/*
 * A write row: a PUT answers 200 with the user updated; on a group-cache row, a cached GET of that user is a HIT
 * before the PUT and a MISS after it, and /__stats counts as many groups expired as the row names (a write that
 * expired nothing would measure less than an expiry costs).
 */
async function writeSanityCheck(row, port) {
  const url = `http://127.0.0.1:${port}/users/1`;
  const put = async () => {
    const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: WRITE_BODY });
    const body = await response.json();
    if (response.status !== 200 || body.role !== 'editor') {
      throw new Error(`PUT /users/1 answered ${response.status} ${JSON.stringify(body).slice(0, 80)}`);
    }
  };
  if (!row.kind.startsWith('gc')) return put();
  const get = async () => {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.headers.get('x-cache');
  };
  const expired = async () => (await (await fetch(`http://127.0.0.1:${port}/__stats`)).json()).expires;
  await get();
  const before = await get();
  if (before !== 'HIT') throw new Error(`second GET /users/1 was not a hit (X-Cache: ${before})`);
  const expiredBefore = await expired();
  await put();
  const count = (await expired()) - expiredBefore;
  if (count !== row.options.groups) throw new Error(`PUT /users/1 expired ${count} groups, not ${row.options.groups}`);
  const after = await get();
  if (after !== 'MISS') throw new Error(`GET /users/1 after a PUT was not a miss (X-Cache: ${after})`);
}

/*
 * What the load sends a row: the 16 ids in a cycle, for a write row as PUTs, or for a miss row a new id each request.
 * The count lives on the row's entry, so no key repeats across its fill, warm-up and rounds.
 */
function requestsOf(entry) {
  if (entry.row.writes) return writeRequests();
  return entry.row.misses ? uniqueRequests(entry) : undefined;
}

/** Connections of a row's load: the run's, or fewer for the 1 MB rows (bench/rows.mjs BIG_ROWS). */
function connectionsOf(entry) {
  return entry.row.connections ?? settings.connections;
}

/*
 * Before a miss row's warm-up: FULL_ENTRIES unique keys, enough to fill its store whatever the warm-up's length, and
 * for the memory-store rows a look at /__stats that it is full. The uncached rows get the same, for the same JIT.
 */
async function fillMissRow(entry) {
  await fillUnique(entry.base, entry, FULL_ENTRIES);
  if (entry.row.kind !== 'gcMemory') return FULL_ENTRIES;
  const stats = await (await fetch(`${entry.base}/__stats`)).json();
  if (stats.entries < FULL_ENTRIES) {
    console.log(`\n  warning: ${entry.row.id} holds ${stats.entries} entries after the fill, not ${FULL_ENTRIES}`);
  }
  return FULL_ENTRIES;
}

async function startRows(rows, context) {
  const running = [];
  const skipped = [];
  for (const row of rows) {
    const reason = skipReason(row, context);
    if (reason) {
      console.log(`  skip ${row.id}: ${reason}`);
      skipped.push({ id: row.id, group: row.group, label: row.label, reason });
      continue;
    }
    try {
      const server = await startServer(row.id, {
        pinning: context.pinning,
        env: { BENCH_REDIS_URL: (row.fullRedis ? context.fullRedis?.url : context.redis.url) ?? '' },
        nodeArgs: context.nodeArgs?.(row) ?? [],
      });
      await sanityCheck(row, server.port);
      running.push({ row, server, base: `http://127.0.0.1:${server.port}`, next: 1 });
    } catch (error) {
      console.log(`  skip ${row.id}: ${error.message}`);
      skipped.push({ id: row.id, group: row.group, label: row.label, reason: error.message });
    }
  }
  return { running, skipped };
}

/*
 * The throughput rows of this run: --only's, else every row; --misses the miss rows alone, --no-misses all but them,
 * --costs issue 26's cost rows (COST_ROWS).
 */
function selectedRows() {
  let rows = missesOnly ? MISS_ROWS : costsOnly ? COST_ROWS : THROUGHPUT_ROWS;
  if (noMisses) rows = rows.filter((row) => !row.misses);
  return rows.filter((row) => !only || only.includes(row.id));
}

async function throughput(context) {
  const rows = selectedRows();
  console.log(`\nStarting ${rows.length} servers`);
  const { running, skipped } = await startRows(rows, context);
  const evictedBefore = await context.fullRedis?.evicted?.();
  if (running.some(({ row }) => row.misses)) {
    console.log(`Miss rows: ${FULL_ENTRIES} unique keys each first, to fill their stores`);
    for (const entry of running) if (entry.row.misses) await fillMissRow(entry);
  }
  console.log(`Warm-up: ${settings.warmup} s per row`);
  for (const entry of running) {
    await measure(entry.base, { duration: settings.warmup, connections: connectionsOf(entry), requests: requestsOf(entry) });
  }
  const samples = new Map(running.map(({ row }) => [row.id, []]));
  const limitOf = new Map(running.filter(({ row }) => row.limit).map((entry) => [entry.row.group, entry]));
  const others = running.filter(({ row }) => !row.limit);
  const run = async (entry, round, pair) => {
    const sample = await measure(entry.base, {
      duration: settings.duration,
      connections: connectionsOf(entry),
      requests: requestsOf(entry),
      server: entry.server,
    });
    if (sample.non2xx > 0 || sample.errors > 0) {
      console.log(`\n  warning: ${entry.row.id} had ${sample.non2xx} non-2xx responses and ${sample.errors} errors`);
    }
    samples.get(entry.row.id).push({ round, pair, ...sample });
    return sample;
  };
  for (let round = 0; round < settings.rounds; round++) {
    /*
     * The machine is shared and noisy, so every row is measured back to back with its framework's limit row
     * (limit first on even rounds, second on odd ones) and judged by the ratio within that pair; rows rotate so
     * each round visits them in a different order.
     */
    const order = others.map((_, i) => others[(i + round * 5) % others.length]);
    process.stdout.write(`Round ${round + 1}/${settings.rounds}:`);
    for (const entry of order) {
      const limit = limitOf.get(entry.row.group);
      const pair = `${round}:${entry.row.id}`;
      if (!limit) {
        await run(entry, round, pair);
      } else if (round % 2 === 0) {
        await run(limit, round, pair);
        await run(entry, round, pair);
      } else {
        await run(entry, round, pair);
        await run(limit, round, pair);
      }
      const last = samples.get(entry.row.id).at(-1);
      process.stdout.write(` ${entry.row.id} ${Math.round(last.rps)}`);
    }
    for (const [group, limit] of limitOf) {
      if (!others.some(({ row }) => row.group === group)) await run(limit, round, `${round}:${limit.row.id}`);
    }
    process.stdout.write('\n');
  }
  await Promise.all(running.map(({ server }) => server.stop()));
  const table = summarize(
    running.map(({ row }) => row),
    samples,
    skipped,
  );
  if (evictedBefore !== undefined) {
    // The Redis miss rows ran on a full Redis only if it kept evicting while they ran.
    table.fullRedis = {
      maxmemory: FULL_REDIS_MAXMEMORY,
      policy: 'volatile-lru',
      evicted: (await context.fullRedis.evicted()) - evictedBefore,
    };
    console.log(
      `Miss rows' redis-server (maxmemory ${FULL_REDIS_MAXMEMORY}): ${table.fullRedis.evicted} keys evicted while they ran`,
    );
  }
  return table;
}

function summarize(rows, samples, skipped) {
  const limits = new Map(rows.filter((row) => row.limit).map((row) => [row.group, row.id]));
  return {
    rows: rows.map((row) => {
      const own = samples.get(row.id);
      const limitId = limits.get(row.group);
      const limitSamples = limitId ? samples.get(limitId) : undefined;
      // Ratio per pair (the row against its limit row measured right beside it), then the median of those.
      const partner = (sample) => limitSamples.find((other) => other.pair === sample.pair);
      const ratios = limitSamples && !row.limit ? own.map((sample) => sample.rps / partner(sample).rps) : [];
      // The same comparison in server CPU time per request: limit's µs over this row's (1.00 = as cheap).
      const cpuRatios = limitSamples && !row.limit ? own.map((sample) => partner(sample).cpuUsPerReq / sample.cpuUsPerReq) : [];
      // p99 latency against the limit row's in the same pair: over it (1.00 = the same) and added to it (ms).
      const p99Ratios = limitSamples && !row.limit ? own.map((sample) => sample.p99 / partner(sample).p99) : [];
      const p99Added = limitSamples && !row.limit ? own.map((sample) => sample.p99 - partner(sample).p99) : [];
      return {
        id: row.id,
        group: row.group,
        label: row.label,
        limit: Boolean(row.limit),
        rps: median(own.map((s) => s.rps)),
        rpsMin: Math.min(...own.map((s) => s.rps)),
        rpsMax: Math.max(...own.map((s) => s.rps)),
        p50: median(own.map((s) => s.p50)),
        p99: median(own.map((s) => s.p99)),
        p99Max: Math.max(...own.map((s) => s.p99)),
        ratio: ratios.length ? median(ratios) : undefined,
        ratioMin: ratios.length ? Math.min(...ratios) : undefined,
        ratioMax: ratios.length ? Math.max(...ratios) : undefined,
        cpuUsPerReq: median(own.map((s) => s.cpuUsPerReq)),
        cpuRatio: cpuRatios.length ? median(cpuRatios) : undefined,
        p99Ratio: p99Ratios.length ? median(p99Ratios) : undefined,
        p99Added: p99Added.length ? median(p99Added) : undefined,
        samples: own,
      };
    }),
    skipped,
  };
}

/** 90% GETs over 10,000 keys, 10% PUTs expiring the user's group, ids at random. */
function mixedRequests() {
  const pick = () => 1 + Math.floor(Math.random() * 10_000);
  return [
    {
      setupRequest(request) {
        const write = Math.random() < 0.1;
        request.method = write ? 'PUT' : 'GET';
        request.path = `/users/${pick()}`;
        return request;
      },
    },
  ];
}

async function mixed(context) {
  const rows = MIXED_ROWS.filter((row) => !only || only.includes(row.id));
  if (rows.length === 0) return { rows: [], skipped: [] };
  console.log('\nMixed workload: 90% reads over 10,000 keys, 10% writes expiring the user group');
  const { running, skipped } = await startRows(rows, context);
  const results = [];
  for (const { row, base, server } of running) {
    const stats = async () => (await fetch(`${base}/__stats`)).json();
    // Fill every key once, so the hit ratio measured is the steady state under writes, not a cold start.
    let next = 1;
    const filler = async () => {
      while (next <= 10_000) {
        const response = await fetch(`${base}/users/${next++}`);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, filler));
    await measure(base, { duration: settings.warmup * 2, connections: settings.connections, requests: mixedRequests() });
    const before = await stats();
    const sample = await measure(base, {
      duration: settings.mixedDuration,
      connections: settings.connections,
      requests: mixedRequests(),
      server,
    });
    const after = await stats();
    const hits = after.hits - before.hits;
    const misses = after.misses - before.misses;
    const result = {
      id: row.id,
      label: row.label,
      rps: sample.rps,
      p50: sample.p50,
      p99: sample.p99,
      cpuUsPerReq: sample.cpuUsPerReq,
      hits,
      misses,
      invalidated: after.invalidated - before.invalidated,
      expires: after.expires - before.expires,
      hitRatio: hits / (hits + misses),
      non2xx: sample.non2xx,
      errors: sample.errors,
    };
    console.log(
      `  ${row.label}: ${Math.round(result.rps)} req/s, hit ratio ${(result.hitRatio * 100).toFixed(1)}%, ` +
        `p99 ${result.p99.toFixed(2)} ms, ${result.expires} group expiries`,
    );
    results.push(result);
  }
  await Promise.all(running.map(({ server }) => server.stop()));
  return { rows: results, skipped };
}

async function micro(context, { memoryOnly = false } = {}) {
  console.log(
    memoryOnly
      ? '\nMicro measurements (in-process): heap bytes per entry'
      : '\nMicro measurements (in-process): expiry cost by group size, heap bytes per entry',
  );
  const script = fileURLToPath(new URL('./micro.mjs', import.meta.url));
  const nodeArgs = ['--expose-gc', script, ...(quick ? ['--quick'] : []), ...(memoryOnly ? ['--memory'] : [])];
  if (context.redis.url) nodeArgs.push(`--redis-url=${context.redis.url}`);
  const [command, commandArgs] = context.pinning.pinned
    ? ['taskset', ['-c', '0', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const { spawn } = await import('node:child_process');
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) return { error: `micro.mjs exited with ${code}` };
  const result = JSON.parse(stdout.trim().split('\n').pop());
  if (!context.redis.url) result.skipped.redisExpiry = context.redis.skip;
  return result;
}

async function profile(context) {
  const row = ALL_ROWS.find((candidate) => candidate.id === profileRow);
  if (!row) throw new Error(`unknown row ${profileRow}`);
  const dir = `${resultsDir}profiles`;
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const { running, skipped } = await startRows([row], {
    ...context,
    nodeArgs: () => ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  if (running.length === 0) throw new Error(skipped[0]?.reason);
  const entry = running[0];
  const { base, server } = entry;
  const filled = row.misses ? await fillMissRow(entry) : 0;
  const load = { connections: connectionsOf(entry), requests: requestsOf(entry) };
  const warm = await measure(base, { duration: settings.warmup, ...load });
  const sample = await measure(base, { duration: settings.duration * 2, ...load });
  console.log(`${row.id}: ${Math.round(sample.rps)} req/s under the profiler`);
  // The sanity check's requests and a miss row's fill ran under the profiler too.
  const requests = warm.total + sample.total + 2 + filled;
  await server.stop();
  const file = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => `${dir}/${name}`)
    .filter((path) => statSync(path).mtimeMs >= started)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  console.log(`profile: ${file}`);
  // Requests served under the profiler, for per-request numbers later (bench/profile-diff.mjs).
  writeFileSync(`${file}.json`, `${JSON.stringify({ row: row.id, requests })}\n`);
  const { summarizeProfile } = await import('./profile-summary.mjs');
  console.log(summarizeProfile(file, 40, requests));
}

async function main() {
  const info = machine();
  const pinning = planPinning(info.nproc);
  console.log(`group-cache benchmark (${settings.mode}): ${info.cpu}, ${info.nproc} cores, node ${info.node}`);
  console.log(`Pinning: ${pinning.pinned ? `yes (${pinning.reason})` : `no (${pinning.reason})`}`);
  console.log(
    `Load: autocannon, ${settings.connections} connections, ${settings.rounds} rounds of ${settings.duration} s per row, ` +
      `each row paired with its limit row (the 1 MB rows: 8 connections); ${settings.warmup} s warm-up; medians of the ` +
      'rounds, spread min-max',
  );
  // The miss rows' Redis is another server (startFullRedis).
  const onRedis = (row) => row.needs?.includes('redis') && !row.fullRedis;
  const needsRedis = profileRow
    ? onRedis(ALL_ROWS.find((row) => row.id === profileRow) ?? {})
    : !only || ALL_ROWS.some((row) => only.includes(row.id) && onRedis(row));
  const redis = needsRedis ? await startRedis(pinning) : { skip: 'not needed' };
  if (redis.skip && needsRedis) console.log(`Redis rows skipped: ${redis.skip}`);
  else if (redis.url) console.log(`Redis: own redis-server at ${redis.url} (--save '' --appendonly no)`);
  const needsFullRedis = (profileRow ? ALL_ROWS.filter((row) => row.id === profileRow) : selectedRows()).some(
    (row) => row.fullRedis,
  );
  const fullRedis = needsFullRedis ? await startFullRedis(pinning) : undefined;
  if (fullRedis?.skip) console.log(`Redis miss rows skipped: ${fullRedis.skip}`);
  else if (fullRedis) {
    console.log(`Redis for the miss rows: another at ${fullRedis.url}, maxmemory ${FULL_REDIS_MAXMEMORY}, volatile-lru, full`);
  }
  const context = { pinning, redis, fullRedis };
  try {
    if (profileRow) return await profile(context);
    const table = await throughput(context);
    // --costs is the cost rows alone, and the heap per entry (item 5's lines): no mixed workload, no expiry costs.
    const mixedResults = args.includes('--no-mixed') || costsOnly ? { rows: [], skipped: [] } : await mixed(context);
    const microResults = args.includes('--no-micro') ? undefined : await micro(context, { memoryOnly: costsOnly });
    const targets = checkTargets(table, microResults);
    const results = {
      date: new Date().toISOString(),
      mode: settings.mode,
      settings,
      machine: info,
      pinning,
      throughput: table,
      mixed: mixedResults,
      micro: microResults,
      targets,
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(`${resultsDir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${formatTable(table)}`);
    if (microResults) console.log(`\n${formatMicro(microResults, mixedResults)}`);
    console.log('\nTargets');
    for (const target of targets)
      console.log(
        `  ${target.info ? 'INFO' : target.pass === undefined ? 'SKIP' : target.pass ? 'PASS' : 'FAIL'}  ${target.name}: ${target.detail}`,
      );
    console.log(`\nResults written to bench/results/latest.json`);
  } finally {
    fullRedis?.close?.();
    await Promise.all([redis.stop?.(), fullRedis?.stop?.()]);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
