// The in-process benchmark scripts drive the engine below the adapters (`cache.lookup`, `CachedRoute.begin`), so a
// change to an internal shape can break them without breaking any adapter test: each runs here, briefly, on the
// built package. Their numbers are not judged here (timings belong in `npm run bench`), only that they run and
// measure what they say.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function bench(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 60_000, maxBuffer: 16 * 2 ** 20 });
  return stdout;
}

interface Row {
  id: string;
  group: string;
  module: string;
  kind: string;
  limit?: boolean;
}

// The bench's modules are plain JavaScript without declarations: imported by a computed specifier, they come in untyped.
// biome-ignore lint/suspicious/noExplicitAny: see above
async function importBench(path: string): Promise<any> {
  return import(new URL(`../../bench/${path}`, import.meta.url).href);
}

describe('benchmark scripts (smoke)', function () {
  this.timeout(90_000);

  it('bench/hit-path.mjs times the framework-free hit path', async () => {
    const out = await bench(['bench/hit-path.mjs']);
    expect(out).to.match(/hit path \(CachedRoute\.begin \+ replay\), median of 7: \d+ ns per hit/);
  });

  it('bench/micro.mjs --quick measures expiry by group size and heap bytes per entry', async () => {
    const out = await bench(['--expose-gc', 'bench/micro.mjs', '--quick']);
    const result = JSON.parse(out.trim().split('\n').at(-1) as string) as {
      expiry: { memory: { size: number; medianUs: number; afterExpiry: string }[] };
      memory: { storeOverheadPerEntry: number; accountedOverMeasured: number };
      memoryOutside: Record<'koa' | 'express', { entries: number; overheadPerEntry: number }>;
    };
    expect(result.expiry.memory.map((row) => row.size)).to.deep.equal([1, 1000, 100000]);
    for (const row of result.expiry.memory) {
      expect(row.afterExpiry).to.equal('pass');
      expect(row.medianUs).to.be.greaterThan(0);
    }
    expect(result.memory.storeOverheadPerEntry).to.be.greaterThan(0);
    expect(result.memory.accountedOverMeasured).to.be.greaterThan(0);
    for (const framework of ['koa', 'express'] as const) {
      expect(result.memoryOutside[framework].entries).to.equal(5000);
      expect(result.memoryOutside[framework].overheadPerEntry).to.be.greaterThan(0);
    }
  });

  it('bench/rows.mjs: ids are unique, each group has one limit row, and each row has a builder in its module', async () => {
    const { ALL_ROWS, COST_ROWS, THROUGHPUT_ROWS } = await importBench('rows.mjs');
    const ids = ALL_ROWS.map((row: Row) => row.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const row of ALL_ROWS as Row[]) {
      const { builders } = await importBench(`servers/${row.module}.mjs`);
      expect(builders, row.id).to.have.property(row.kind);
    }
    const groups = new Map<string, number>();
    for (const row of THROUGHPUT_ROWS as Row[]) groups.set(row.group, (groups.get(row.group) ?? 0) + (row.limit ? 1 : 0));
    for (const [group, limits] of groups) expect(limits, group).to.be.at.most(1);
    expect(COST_ROWS.map((row: Row) => row.id)).to.include.members([
      'koa3-koa-cash',
      'express5-miss-1k-gc-memory',
      'koa3-write-gc-redis-10g',
      'fastify5-hit-1m-gc-memory',
    ]);
  });

  it('bench/targets.mjs judges the write and big-body rows (PASS or FAIL, not SKIP) when they ran', async () => {
    const { BIG_ROWS, WRITE_ROWS } = await importBench('rows.mjs');
    const { checkTargets } = await importBench('targets.mjs');
    const measured = [...WRITE_ROWS, ...BIG_ROWS].map((row: Row) => ({
      id: row.id,
      group: row.group,
      limit: Boolean(row.limit),
      rps: 1000,
      p99: 2,
      p99Max: 3,
      ratio: row.limit ? undefined : 0.97,
      cpuUsPerReq: 100,
      cpuRatio: row.limit ? undefined : 0.9,
      p99Ratio: row.limit ? undefined : 1.1,
      p99Added: row.limit ? undefined : 0.2,
    }));
    const targets = checkTargets({ rows: measured, skipped: [] }, undefined) as {
      name: string;
      pass?: boolean;
      info?: boolean;
    }[];
    const judged = targets.filter((target) => / write expiring | memory hit of /.test(target.name));
    expect(judged).to.have.length(3 * 4 + 3 * 2 * 2);
    for (const target of judged) expect(target.pass, target.name).to.be.a('boolean');
    expect(judged.filter((target) => target.name.includes('Redis store')).every((target) => target.pass)).to.equal(true);
    expect(judged.filter((target) => target.name.includes('memory store')).every((target) => !target.pass)).to.equal(true);
    const added = targets.filter((target) => target.info && target.name.includes('added by the expiry on Redis'));
    expect(added).to.have.length(3);
  });

  it('bench/inproc.mjs runs whole hits through Express, Koa and Fastify', async () => {
    const rows = ['express5-gc-memory', 'express5-limit-headers-mw', 'koa3-gc-memory', 'koa3-koa-cash', 'fastify5-gc-memory'];
    const out = await bench(['bench/inproc.mjs', `--rows=${rows.join(',')}`, '--requests=320', '--rounds=1']);
    for (const row of rows) expect(out).to.match(new RegExp(`^${row}: this tree \\d+ ns`, 'm'));
  });
});
