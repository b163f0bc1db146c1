// The edge benchmark (issue 25): `npm run build && node --import tsx bench/edge.mjs [--quick] [--ops N]`.
// Two app instances on one Redis (started here), each behind its own varnishd 7 with examples/varnish (each app
// purges both), and the randomised read/write workload of test/helpers/edge-fleet.ts sent through a Varnish picked
// at random, every answer checked against the writes acknowledged before it was sent. Per framework: a steady run,
// a run with Redis killed twice, a run with each Varnish restarted once; then, for Express, the same steady run on
// the old recipe (the handler offers responses to Varnish, onExpire purges without the write waiting) as a control.
// Reports violations, edge and app hit ratios, write latency p50/p99, each purge call p50/p99, and what the edge adds
// to a write (its p50/p99 minus the control's). Writes bench/results/<date>-edge-<quick|full>.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, runWorkload, startFleet } from '../test/helpers/edge-fleet.ts';
import { startRedisOrSkip } from '../test/helpers/redis-server.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opsArg = args.indexOf('--ops');
const ops = opsArg === -1 ? (quick ? 2_000 : 10_000) : Number(args[opsArg + 1]);
const frameworks = quick ? ['express'] : ['express', 'koa', 'fastify'];
const workload = { ops, concurrency: 8, keys: 20, writeRatio: 0.2 };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const context = {
  skip() {
    throw new Error('bench/edge.mjs needs redis-server and varnishd');
  },
};

const rows = [];
const say = (line) => process.stderr.write(`${line}\n`);

async function measure(framework, run, mode, chaos) {
  const redis = await startRedisOrSkip(context, true);
  const fleet = await startFleet(redis, { framework, mode });
  try {
    // Warm up: the first requests of a process are slow and would not be offered to the edge.
    await runWorkload(fleet, { ...workload, ops: 200 });
    fleet.takePurgeTimes();
    const result = await runWorkload(fleet, { ...workload, chaos: chaos?.(redis, fleet) });
    const purges = fleet.takePurgeTimes();
    const row = {
      framework,
      run,
      ...result,
      violations: result.violations.length,
      purge: { p50: percentile(purges, 50), p99: percentile(purges, 99) },
    };
    rows.push(row);
    say(
      `${framework} ${run}: ${row.violations} violations, edge hits ${(row.edgeHitRatio * 100).toFixed(1)}%, app hits ${(row.appHitRatio * 100).toFixed(1)}%, write p50 ${row.writeLatency.p50.toFixed(1)} ms`,
    );
    return row;
  } finally {
    await fleet.close();
    await redis.stop();
  }
}

const redisTwice = (redis) =>
  [0.3, 0.65].map((at) => ({
    at,
    run: async () => {
      await redis.kill();
      await sleep(500);
      await redis.restart();
    },
  }));
const varnishEach = (_redis, fleet) => fleet.edges.map((edge, i) => ({ at: 0.3 + i * 0.35, run: () => edge.restart() }));

for (const framework of frameworks) {
  await measure(framework, 'steady', 'edge');
  await measure(framework, 'Redis killed twice', 'edge', redisTwice);
  await measure(framework, 'each Varnish restarted', 'edge', varnishEach);
}
const control = await measure('express', 'control: old recipe (no edge)', 'recipe');
const steady = rows.find((row) => row.framework === 'express' && row.run === 'steady');

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pct = (n) => `${(n * 100).toFixed(1)}%`;
const lines = [
  `# Edge: read-your-writes through Varnish (${quick ? 'quick' : 'full'} run, ${new Date().toISOString().slice(0, 10)})`,
  '',
  `\`node --import tsx bench/edge.mjs${quick ? ' --quick' : ''}\`: two app instances on one Redis, each behind its own varnishd 7.1`,
  `(xkey), every request through a Varnish picked at random; ${ops} operations per run (20% writes, 20 keys, 8 at a`,
  'time, one read in five of a slow fill up to 40 ms); every answer checked against the writes acknowledged before it',
  `was sent. \`edge.window\` 50 ms. Machine: 2 shared cores, everything on loopback.`,
  '',
  '| framework | run | ops/s | violations | acknowledged writes | unacknowledged (503 / refused) | failed reads | edge hit ratio | app hit ratio (edge misses) | write p50 ms | write p99 ms | purge call p50 ms | purge call p99 ms |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.framework} | ${r.run} | ${fmt((r.reads + r.writes) / r.seconds, 0)} | ${r.violations} | ${r.acknowledged} | ${r.unacknowledged} | ${r.failedReads} | ${pct(r.edgeHitRatio)} | ${pct(r.appHitRatio)} | ${fmt(r.writeLatency.p50)} | ${fmt(r.writeLatency.p99)} | ${fmt(r.purge.p50, 2)} | ${fmt(r.purge.p99, 2)} |`,
  ),
  '',
  `What the edge adds to a write (Express, steady run against the control, same workload): p50 ${fmt(steady.writeLatency.p50)} ms against`,
  `${fmt(control.writeLatency.p50)} ms (+${fmt(steady.writeLatency.p50 - control.writeLatency.p50)} ms: the 50 ms window, then one purge of both Varnishes in parallel);`,
  `p99 ${fmt(steady.writeLatency.p99)} ms against ${fmt(control.writeLatency.p99)} ms (on this shared machine the p99 of both is its noise).`,
  '',
];
const file = join(
  fileURLToPath(new URL('results/', import.meta.url)),
  `${new Date().toISOString().slice(0, 10)}-edge-${quick ? 'quick' : 'full'}.md`,
);
writeFileSync(file, lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\nwritten to ${file}\n`);
process.exit(0);
