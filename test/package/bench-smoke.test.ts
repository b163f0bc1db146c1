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

  it('bench/inproc.mjs runs whole hits through Express, Koa and Fastify', async () => {
    const rows = ['express5-gc-memory', 'express5-limit-headers-mw', 'koa3-gc-memory', 'koa3-koa-cash', 'fastify5-gc-memory'];
    const out = await bench(['bench/inproc.mjs', `--rows=${rows.join(',')}`, '--requests=320', '--rounds=1']);
    for (const row of rows) expect(out).to.match(new RegExp(`^${row}: this tree \\d+ ns`, 'm'));
  });
});
