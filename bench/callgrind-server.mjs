// Instructions and simulated cache misses per request of a REAL server (sockets, HTTP parser, libuv, writes), for
// the rows whose CPU gap differs between a server and bench/inproc.mjs. Hardware counters are not available here, and
// process CPU time on a shared machine is noisy; callgrind counts user-space instructions and, with --cache-sim=yes,
// simulated I1/D1/LL misses, exactly and independently of the machine's load. What it cannot see is the kernel
// (syscalls, TCP loopback), so a gap that shows up in CPU time but not here lives there.
//
//   node bench/callgrind-server.mjs --rows=koa3-limit-headers,koa3-gc-memory --requests=1000,4000 [--keep=<dir>]
//
// Each row runs in one server process under valgrind (one at a time: the machine is shared):
//   valgrind --tool=callgrind --cache-sim=yes node --single-threaded bench/server.mjs <row>
// The server reports its port over IPC; this process (not under valgrind) fills the cache (the first request of each
// id is a miss for the cached rows), warms up, then sends two measured windows of requests over 8 keep-alive
// connections, each ended by `callgrind_control --dump` (a dump also zeroes the counters), and stops the server with
// SIGTERM. Why windows in one process rather than one process per count, differencing the totals at exit: startup
// and the JIT's warm-up cost ~3e9 instructions and vary by ~1% from run to run, ~10k instructions per request over
// 3,000 requests, as large as the gap being measured; the windows leave them out. Why still two windows: per
// request = (window 2 - window 1) / (count 2 - count 1), so what every window pays once (the dump itself, the first
// requests after a pause) cancels. --single-threaded keeps GC and compilation on the main thread, where callgrind
// counts them (in a normal server they run on helper threads, which process CPU time also counts).
// --keep=<dir> keeps the callgrind outputs (for callgrind_annotate); otherwise they go to a temp dir that is removed.
// Miss rows (rows.mjs MISS_ROWS) get a new id on every request, counting up, and FULL_ENTRIES of them before the
// warm-up, so that every measured request misses on a full store; their Redis rows get a redis-server of this
// process's own at its maxmemory (processes.mjs startFullRedis), as in bench/run.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFullRedis } from './processes.mjs';
import { ALL_ROWS } from './rows.mjs';
import { FULL_ENTRIES } from './servers/library.mjs';
import { IDS } from './servers/payload.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const rowIds = (option('rows') ?? 'koa3-limit-headers,koa3-gc-memory').split(',');
const counts = (option('requests') ?? '1000,4000').split(',').map(Number);
const warmup = Number(option('warmup') ?? 3000); // enough for the JIT to settle (fewer leaves compilation in the windows)
const connections = Number(option('connections') ?? 8);
const keep = option('keep');
const outDir = keep ?? mkdtempSync(join(tmpdir(), 'callgrind-server-'));
if (keep) mkdirSync(keep, { recursive: true });
const root = fileURLToPath(new URL('..', import.meta.url));

// Every child is killed when this process ends, however it ends; the temp dir goes with it.
const children = new Set();
function cleanup() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (!keep) rmSync(outDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** One GET over the keep-alive agent; resolves when the body has been read. */
function request(agent, port, id) {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: `/users/${id}`, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/**
 * `total` requests, `connections` at a time (one request in flight per connection): ids cycling over IDS, or with
 * `unique` (a miss row's counter) a new id each, counting up.
 */
async function load(agent, port, total, unique) {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      const id = unique === undefined ? IDS[sent % IDS.length] : unique.next++;
      sent++;
      await request(agent, port, id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, total) }, worker));
}

// The miss rows' full redis-server, started on the first Redis miss row.
let fullRedis;
async function envFor(row) {
  if (!row.fullRedis) return process.env;
  fullRedis ??= await startFullRedis({ pinned: false });
  if (fullRedis.skip) throw new Error(fullRedis.skip);
  return { ...process.env, BENCH_REDIS_URL: fullRedis.url };
}

/** Runs `row` under callgrind; returns the totals of each measured window (`counts`), by event name. */
async function profile(row) {
  const spec = ALL_ROWS.find((candidate) => candidate.id === row);
  // Its requests are GETs: a write row (PUTs, bench/run.mjs) would measure its read route instead.
  if (spec?.writes) throw new Error(`${row} is a write row: bench/callgrind-server.mjs sends GETs only`);
  const unique = spec?.misses ? { next: 1 } : undefined;
  const env = spec === undefined ? process.env : await envFor(spec);
  const outFile = join(outDir, `${row}.out`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--cache-sim=yes',
      `--callgrind-out-file=${outFile}`,
      'node',
      '--single-threaded',
      'bench/server.mjs',
      row,
    ],
    { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    child.on('message', (message) => message?.ready && resolve(message.port));
    child.once('exit', (code) => reject(new Error(`${row}: server exited (${code}) before it was ready`)));
  });
  const control = (flag) => execFileSync('callgrind_control', [flag, String(child.pid)], { stdio: 'ignore' });
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let at = performance.now();
  const took = () => `${((performance.now() - at) / 1000).toFixed(0)} s`;
  // Fills the cache: one miss per id, or for a miss row its store, full.
  if (unique === undefined) for (const id of IDS) await request(agent, port, id);
  else await load(agent, port, FULL_ENTRIES, unique);
  await load(agent, port, warmup, unique);
  control('--zero');
  const phases = [`warm-up ${took()}`];
  for (const count of counts) {
    at = performance.now();
    await load(agent, port, count, unique);
    control('--dump');
    phases.push(`${count} requests ${took()}`);
  }
  console.error(`${row}: ${phases.join(', ')}`);
  agent.destroy();
  child.kill('SIGTERM');
  await exited;
  children.delete(child);
  // The dumps are `<out>.1`, `<out>.2`, ... in order; the file written at exit (shutdown) is not used.
  const dumps = readdirSync(outDir)
    .filter((name) => name.startsWith(`${row}.out.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  return dumps.slice(0, counts.length).map((name) => totals(readFileSync(join(outDir, name), 'utf8')));
}

/** The `totals:` (or `summary:`) line of a callgrind output, by event name. */
function totals(text) {
  const names = /^events: (.+)$/m.exec(text)[1].trim().split(/\s+/);
  const values = (/^totals: (.+)$/m.exec(text) ?? /^summary: (.+)$/m.exec(text))[1].trim().split(/\s+/).map(Number);
  return Object.fromEntries(names.map((name, i) => [name, values[i] ?? 0]));
}

const [low, high] = counts;
const fmt = (value, digits) => value.toFixed(digits).padStart(10);
console.log(
  `per request = (window of ${high} - window of ${low}) / ${high - low}; warm-up ${warmup}, ${connections} connections`,
);
console.log(
  `${'row'.padEnd(26)}${'Ir'.padStart(10)}${'I1mr'.padStart(10)}${'D1mr'.padStart(10)}${'D1mw'.padStart(10)}${'LLm'.padStart(10)}`,
);
for (const row of rowIds) {
  const [a, b] = await profile(row);
  const per = (name) => ((b[name] ?? 0) - (a[name] ?? 0)) / (high - low);
  const ll = per('ILmr') + per('DLmr') + per('DLmw');
  console.log(
    `${row.padEnd(26)}${fmt(per('Ir'), 0)}${fmt(per('I1mr'), 1)}${fmt(per('D1mr'), 1)}${fmt(per('D1mw'), 1)}${fmt(ll, 2)}`,
  );
  console.log(`  totals ${JSON.stringify({ row, [low]: a, [high]: b })}`);
}
fullRedis?.close?.();
await fullRedis?.stop?.();
