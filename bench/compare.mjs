// Before/after in one run: `npm run bench:compare -- <git ref> [--only=<row id,...>] [--quick] [--rounds=N] [--inproc]`.
// Exports <ref> (default HEAD) into a temporary directory, builds it there, and serves each row twice, from that
// build ("before") and from this working tree's dist/ ("after"), measured back to back every round (which goes
// first alternates). Both sides run this tree's bench/ (copied beside the ref's build), so the rows are the same
// code and only the library differs. Prints, per row, the medians of the per-pair ratios after / before.
// --inproc: instead of servers, bench/inproc.mjs runs whole requests in one process against both builds (CPU ns per
// request, no sockets): the comparison to trust when other work loads the machine. Rows then may include limit-headers.
// Miss rows (bench/rows.mjs MISS_ROWS) get what bench/run.mjs gives them: a new id each request, each side's store
// filled first, and for the Redis ones the redis-server at its maxmemory (both sides share it). Write rows get PUTs,
// the 1 MB rows their fewer connections, as in bench/run.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillUnique, measure, uniqueRequests, writeRequests } from './load.mjs';
import { planPinning, startFullRedis, startRedis, startServer } from './processes.mjs';
import { THROUGHPUT_ROWS } from './rows.mjs';
import { FULL_ENTRIES } from './servers/library.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const ref = args.find((arg) => !arg.startsWith('--')) ?? option('compare') ?? 'HEAD';
const quick = args.includes('--quick');
const DEFAULT_ROWS = ['express5-gc-memory', 'koa3-gc-memory', 'fastify5-gc-memory'];
const ids = option('only')?.split(',') ?? DEFAULT_ROWS;
const rounds = Number(option('rounds') ?? (quick ? 4 : 8));
const duration = quick ? 1.5 : 3;
const connections = 32;

const root = fileURLToPath(new URL('..', import.meta.url));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** `git archive <ref>` into a temporary directory, with this tree's node_modules and bench/, built. */
function prepareRef() {
  const commit = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), `group-cache-${commit}-`));
  const archive = spawnSync('sh', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: root, stdio: 'inherit' });
  if (archive.status !== 0) throw new Error(`git archive ${commit} failed`);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  rmSync(join(dir, 'bench'), { recursive: true, force: true });
  cpSync(join(root, 'bench'), join(dir, 'bench'), {
    recursive: true,
    filter: (source) => !source.startsWith(join(root, 'bench', 'results')),
  });
  console.log(`Building ${ref} (${commit}) in ${dir}`);
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, stdio: 'inherit' });
  return { dir, commit };
}

async function main() {
  const rows = ids.map((id) => {
    const row = THROUGHPUT_ROWS.find((candidate) => candidate.id === id);
    if (!row) throw new Error(`unknown row ${id}`);
    return row;
  });
  const pinning = planPinning(Number(execFileSync('nproc', { encoding: 'utf8' }).trim()));
  const { dir, commit } = prepareRef();
  if (args.includes('--inproc')) {
    console.log(`In-process, ${ref} (${commit}) as ref, the working tree as this tree:`);
    try {
      const script = fileURLToPath(new URL('./inproc.mjs', import.meta.url));
      const runs = ['--expose-gc', script, `--rows=${ids.join(',')}`, `--ref=${dir}`, `--rounds=${rounds}`];
      const [command, commandArgs] = pinning.pinned
        ? ['taskset', ['-c', '0', process.execPath, ...runs]]
        : [process.execPath, runs];
      execFileSync(command, commandArgs, { stdio: 'inherit' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const sides = [];
  // Rows on the Redis store share one redis-server of the run's own (each side writes under its own prefix).
  const onRedis = (row) => row.needs?.includes('redis');
  const redis = rows.some((row) => onRedis(row) && !row.fullRedis) ? await startRedis(pinning) : undefined;
  const fullRedis = rows.some((row) => row.fullRedis) ? await startFullRedis(pinning) : undefined;
  for (const server of [redis, fullRedis]) if (server?.skip) throw new Error(`Redis rows need a redis-server: ${server.skip}`);
  try {
    for (const row of rows) {
      const env = { BENCH_REDIS_URL: (row.fullRedis ? fullRedis?.url : redis?.url) ?? '' };
      const before = await startServer(row.id, { pinning, env, script: join(dir, 'bench', 'server.mjs') });
      const after = await startServer(row.id, { pinning, env });
      // A miss row's ids count up per server, so no key repeats on either side.
      before.next = 1;
      after.next = 1;
      sides.push({ row, before, after, samples: [] });
    }
    console.log(
      `Comparing ${ref} (${commit}, before) with the working tree (after): ${rounds} rounds of ${duration} s per side, ` +
        `${connections} connections; pinning ${pinning.pinned ? 'on' : `off (${pinning.reason})`}`,
    );
    const base = (server) => `http://127.0.0.1:${server.port}`;
    const requests = (side, server) => (side.row.writes ? writeRequests() : side.row.misses ? uniqueRequests(server) : undefined);
    const connectionsOf = (side) => side.row.connections ?? connections;
    for (const side of sides) {
      for (const server of [side.before, side.after]) {
        if (side.row.misses) await fillUnique(base(server), server, FULL_ENTRIES);
        await measure(base(server), { duration: 1, connections: connectionsOf(side), requests: requests(side, server) });
      }
    }
    for (let round = 0; round < rounds; round++) {
      process.stdout.write(`Round ${round + 1}/${rounds}:`);
      for (const side of sides) {
        const run = (server) =>
          measure(base(server), { duration, connections: connectionsOf(side), server, requests: requests(side, server) });
        let before;
        let after;
        if (round % 2 === 0) {
          before = await run(side.before);
          after = await run(side.after);
        } else {
          after = await run(side.after);
          before = await run(side.before);
        }
        side.samples.push({ before, after });
        process.stdout.write(` ${side.row.id} ${(after.rps / before.rps).toFixed(2)}`);
      }
      process.stdout.write('\n');
    }
  } finally {
    await Promise.all(sides.flatMap(({ before, after }) => [before.stop(), after.stop()]));
    fullRedis?.close?.();
    await Promise.all([redis?.stop?.(), fullRedis?.stop?.()]);
    rmSync(dir, { recursive: true, force: true });
  }
  const results = sides.map(({ row, samples }) => ({
    id: row.id,
    beforeRps: median(samples.map((s) => s.before.rps)),
    afterRps: median(samples.map((s) => s.after.rps)),
    rpsRatio: median(samples.map((s) => s.after.rps / s.before.rps)),
    rpsRatioMin: Math.min(...samples.map((s) => s.after.rps / s.before.rps)),
    rpsRatioMax: Math.max(...samples.map((s) => s.after.rps / s.before.rps)),
    beforeCpu: median(samples.map((s) => s.before.cpuUsPerReq)),
    afterCpu: median(samples.map((s) => s.after.cpuUsPerReq)),
    cpuRatio: median(samples.map((s) => s.after.cpuUsPerReq / s.before.cpuUsPerReq)),
  }));
  console.log(
    `\n| Row | before req/s | after req/s | after/before (spread) | before CPU µs/req | after CPU µs/req | CPU after/before |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.id} | ${Math.round(r.beforeRps)} | ${Math.round(r.afterRps)} | ${r.rpsRatio.toFixed(2)} ` +
        `(${r.rpsRatioMin.toFixed(2)}-${r.rpsRatioMax.toFixed(2)}) | ${r.beforeCpu.toFixed(1)} | ${r.afterCpu.toFixed(1)} | ${r.cpuRatio.toFixed(2)} |`,
    );
  }
  const dirOut = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dirOut, { recursive: true });
  writeFileSync(`${dirOut}compare.json`, `${JSON.stringify({ ref, commit, rounds, duration, results }, null, 2)}\n`);
  console.log('\nCPU after/before below 1.00 means the working tree spends less server CPU per request.');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
