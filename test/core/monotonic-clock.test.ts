/*
 * Lifetimes in the memory store follow the monotonic clock: a wall clock stepped back (NTP, a VM resumed) must not
 * lengthen an entry's TTL, nor one stepped forward shorten it. The wall clock is `Date.now` to this process's code:
 * each test replaces it, before anything is created, by one that a test can step.
 */
import { expect } from 'chai';
import { createCache, memoryStore } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { express, getRaw } from '../helpers/express-app.js';

const HOUR = 3_600_000;
const wallNow = Date.now;
let step = 0;

function stepWallClock(by: number): void {
  step += by;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('TTLs on the monotonic clock (memory store)', () => {
  beforeEach(() => {
    step = 0;
    Date.now = () => wallNow.call(Date) + step;
  });
  afterEach(() => {
    Date.now = wallNow;
  });

  it('a route entry is not served past its TTL after the wall clock steps back an hour, nor with Age: 0', async () => {
    let served = 0;
    const app = express();
    app.get(
      '/x',
      groupCache(() => 'x', { cache: createCache(), ttl: 1_000 }),
      (_req, res) => {
        res.json({ served: ++served });
      },
    );
    expect((await getRaw(app, '/x')).headers['x-cache']).to.equal('MISS');
    stepWallClock(-HOUR);
    const hit = await getRaw(app, '/x');
    expect(hit.headers['x-cache']).to.equal('HIT');
    await sleep(1_200);
    const after = await getRaw(app, '/x');
    expect(after.headers['x-cache']).to.equal('MISS');
    expect(JSON.parse(after.body.toString())).to.deep.equal({ served: 2 });
  });

  it('a route entry is still fresh within its TTL after the wall clock steps forward an hour, its Age as it passed', async () => {
    const app = express();
    app.get(
      '/y',
      groupCache(() => 'y', { cache: createCache(), ttl: 30_000 }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    await getRaw(app, '/y');
    stepWallClock(HOUR);
    const hit = await getRaw(app, '/y');
    expect(hit.headers['x-cache']).to.equal('HIT');
    expect(Number(hit.headers.age)).to.be.below(30);
  });

  it('getOrSet on a default cache loads again once the TTL has passed, whatever the wall clock did', async () => {
    const cache = createCache();
    let loads = 0;
    const load = async (): Promise<number> => ++loads;
    await cache.getOrSet('k', load, { ttl: 1_000 });
    stepWallClock(-HOUR);
    expect(await cache.getOrSet('k', load, { ttl: 1_000 })).to.equal(1);
    await sleep(1_200);
    expect(await cache.getOrSet('k', load, { ttl: 1_000 })).to.equal(2);
  });

  it('memoryStore() drops an entry at its deadline after the wall clock steps back', async () => {
    const store = memoryStore();
    const storedAt = wallNow.call(Date);
    store.set('k:a', {
      status: 200,
      headers: [],
      body: Buffer.from('a'),
      etag: '"a"',
      vary: [],
      tags: ['k:a'],
      startedAt: store.get('k:a').stamp,
      storedAt,
      freshUntil: storedAt + 500,
      staleUntil: storedAt + 500,
    });
    stepWallClock(-HOUR);
    expect(store.get('k:a').entry).to.not.equal(undefined);
    await sleep(700);
    expect(store.get('k:a').entry).to.equal(undefined);
  });
});
