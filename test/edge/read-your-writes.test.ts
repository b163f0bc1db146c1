/*
 * Read-your-writes through the edge, measured: two app instances on one Redis, each behind its own varnishd,
 * every request through a Varnish picked at random, every answer checked against the writes acknowledged before
 * it was sent. A CI-sized run; bench/edge.mjs runs the big one and reports the figures.
 */
import { expect } from 'chai';
import { type Fleet, runWorkload, startFleet, type WorkloadResult } from '../helpers/edge-fleet.js';
import { type RedisServer, startRedisOrSkip } from '../helpers/redis-server.js';
import { varnishInstalled } from '../helpers/varnish.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WORKLOAD = { ops: 800, concurrency: 8, keys: 6, writeRatio: 0.2 };

function summary(result: WorkloadResult): string {
  return JSON.stringify({ ...result, violations: result.violations.slice(0, 5) });
}

describe('read-your-writes through Varnish (two instances, one Redis, a Varnish each)', function () {
  this.timeout(120_000);
  let redis: RedisServer | undefined;
  let fleet: Fleet | undefined;

  before(async function () {
    if (!varnishInstalled() && process.env.CI !== 'true') {
      console.warn('\n  !!! SKIPPING read-your-writes through Varnish: no varnishd. !!!\n');
      this.skip();
    }
    redis = await startRedisOrSkip(this, true);
    // A wider window than the default: on a loaded CI machine more responses reach Varnish in time to be kept.
    fleet = await startFleet(redis, { framework: 'express', window: 100 });
  });
  after(async () => {
    await fleet?.close();
    await redis?.stop();
  });

  it('0 violations, and the edge and the app both serve hits', async () => {
    const result = await runWorkload(fleet as Fleet, WORKLOAD);
    expect(result.violations, summary(result)).to.deep.equal([]);
    expect(result.acknowledged).to.be.above(100);
    expect(result.edgeHitRatio, summary(result)).to.be.above(0.1);
    expect(result.appHitRatio, summary(result)).to.be.above(0.1);
  });

  it('0 violations with Redis killed mid-run (writes meanwhile are answered 503, not acknowledged)', async () => {
    const result = await runWorkload(fleet as Fleet, {
      ...WORKLOAD,
      chaos: [
        {
          at: 0.3,
          run: async () => {
            await redis?.kill();
            await sleep(400);
            await redis?.restart();
          },
        },
      ],
    });
    expect(result.violations, summary(result)).to.deep.equal([]);
    expect(result.unacknowledged, 'some writes ran while Redis was down').to.be.above(0);
  });

  it('0 violations with a Varnish restarted mid-run', async () => {
    const result = await runWorkload(fleet as Fleet, {
      ...WORKLOAD,
      chaos: [{ at: 0.3, run: async () => fleet?.edges[0]?.restart() }],
    });
    expect(result.violations, summary(result)).to.deep.equal([]);
    expect(result.failedReads + result.unacknowledged, 'some requests met the restarting Varnish').to.be.above(0);
  });
});

describe('the check catches what the edge adds: the old recipe (onExpire purges, the write does not wait)', function () {
  this.timeout(120_000);
  let redis: RedisServer | undefined;
  let fleet: Fleet | undefined;
  before(async function () {
    if (!varnishInstalled() && process.env.CI !== 'true') this.skip();
    redis = await startRedisOrSkip(this, true);
    fleet = await startFleet(redis, { framework: 'express', mode: 'recipe' });
  });
  after(async () => {
    await fleet?.close();
    await redis?.stop();
  });

  it('has read-your-writes violations', async () => {
    const result = await runWorkload(fleet as Fleet, WORKLOAD);
    expect(result.violations.length, summary(result)).to.be.above(0);
  });
});
