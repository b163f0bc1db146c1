/*
 * The inspector page in headless Chromium, opened after traffic: the hit ratio and the reasons for misses come
 * first; the chart is full at once (history kept on the server) with labelled axes and times; the route table;
 * the decision log's filters and its pause; an expiry row naming its trigger; markup stays text; a group expired
 * from the page makes the next request a MISS. The traffic runs on a clock the test moves, so ninety minutes of
 * history take a second. Waits are for conditions (the page polls every second), never fixed sleeps.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { createCache } from 'group-cache';
import { expireGroups, groupCache, inspector } from 'group-cache/express';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_OUTPUT, launchChromium } from '../helpers/browser.js';
import { listen } from '../helpers/http.js';

const WAIT = { timeout: Number(process.env.WAIT_MS ?? 30_000) };
const START = Date.UTC(2026, 0, 1, 9, 0, 0);
const MINUTES = 90;

describe('inspector page in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof listen>>;
  let close: () => void;
  const clock = { now: START };
  const cache = createCache({ now: () => clock.now, ttl: 5 * 60_000 });
  const problems: string[] = [];

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });
  const xCache = async (path: string) => (await get(path)).headers.get('x-cache');
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
  const storesReach = async (stores: number) => {
    while (cache.stats().stores < stores) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  /** Ninety minutes of traffic: users read often (a TTL of five minutes makes misses), posts rarely, one bypass a minute. */
  async function traffic(): Promise<void> {
    for (let minute = 0; minute < MINUTES; minute++) {
      clock.now = START + minute * 60_000 + 5_000;
      const stores = cache.stats().stores;
      const first = await get('/users/1');
      await first.arrayBuffer();
      if (first.headers.get('x-cache') === 'MISS') await storesReach(stores + 1);
      for (let i = 0; i < 3; i++) await (await get('/users/1')).arrayBuffer();
      await (await get(`/posts/${minute % 10}`)).arrayBuffer();
      await (await get('/users/2', { authorization: 'Bearer t' })).arrayBuffer();
    }
    clock.now = START + MINUTES * 60_000;
  }

  before(async function () {
    browser = await launchChromium(this);
    const app = express();
    const mounted = inspector({ cache });
    close = mounted.close;
    app.use('/_cache', mounted);
    app.use(expireGroups({ cache }));
    app.get(
      '/users/:id',
      groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), { cache }),
      (req, res) => {
        res.json({ id: req.params.id });
      },
    );
    app.get(
      '/posts/:id',
      groupCache((req) => ({ key: `post_${req.params.id}`, groups: ['posts'] }), { cache }),
      (req, res) => {
        res.json({ post: req.params.id });
      },
    );
    app.put('/users/:id', (req, res) => {
      res.locals.expireGroups = [`user_group_${req.params.id}`, 'users'];
      res.json({ saved: true });
    });
    server = await listen(app);
    await traffic();
    const write = await fetch(`${server.url}/users/1`, { method: 'PUT', headers: { 'x-request-id': 'req-abc-123' } });
    expect(write.status).to.equal(200);
    page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    // A CSP violation or a script error would show here: the page must work under its own policy.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  });

  after(async () => {
    await browser?.close();
    close?.();
    await server?.close();
  });

  /** The decision log's rows, each as its cells. */
  function logRows(): Promise<string[][]> {
    return page
      .locator('#decisions tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) =>
          Array.from(
            (row as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells,
            (cell) => cell.textContent ?? '',
          ),
        ),
      );
  }

  /** Waits until `check` holds (the page polls each second). */
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + WAIT.timeout;
    while (!(await check())) {
      if (Date.now() > deadline) {
        const state = `log ${await text('#log-state')}; rows ${JSON.stringify((await logRows()).slice(0, 5))}`;
        throw new Error(`never: ${what} (${state})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('opened after traffic: loads under its CSP with the hit ratio and the reasons for misses first', async () => {
    const response = await page.goto(`${server.url}/_cache`);
    expect(response?.status()).to.equal(200);
    expect(page.url()).to.equal(`${server.url}/_cache/`);
    await until('the hit ratios are shown', async () => (await text('#ratio-hour')).endsWith('%'));
    await until('the reasons are shown', async () => (await page.locator('#miss-reasons tbody tr').count()) >= 2);
    const sections = await page.locator('main > section h2').allTextContents();
    expect(sections[0]).to.equal('Hit ratio');
    expect(sections[1]).to.equal('Why requests were not served from the cache');
    // Above everything else on the page, the chart, the routes and the log included.
    const top = async (selector: string) => (await page.locator(selector).boundingBox())?.y ?? Number.NaN;
    const ratioTop = await top('#ratio-recent');
    for (const below of ['#chart', '#routes', '#decisions', '#counters']) expect(ratioTop).to.be.below(await top(below));
    const s = cache.stats();
    expect(await text('#ratio-all')).to.equal(`${(((s.hits + s.stale) / (s.hits + s.stale + s.misses)) * 100).toFixed(1)}%`);
    const reasons = await page.locator('#miss-reasons tbody tr').allInnerTexts();
    expect(reasons.map((row) => row.split('\t').slice(0, 2).join(': '))).to.include.members([
      'bypass: authorization',
      'miss: not cached yet, evicted, or past its TTL',
    ]);
    expect(problems).to.deep.equal([]);
  });

  it('the chart is full at once, one point per minute, with labelled axes and UTC times', async () => {
    await until('the chart is drawn', async () => (await page.locator('#chart .ratio-point').count()) > 0);
    expect(await page.locator('#chart .ratio-point').count()).to.equal(MINUTES);
    expect(await page.locator('#chart .ratio-line').count()).to.be.at.least(1);
    expect(await page.locator('#chart .tick-y').allTextContents()).to.deep.equal(['0%', '25%', '50%', '75%', '100%']);
    const times = await page.locator('#chart .tick-x').allTextContents();
    expect(times.length).to.be.within(4, 9);
    for (const time of times) expect(time).to.match(/^\d\d:\d\d$/);
    expect(times[0]).to.equal('09:00');
    expect(await page.locator('#chart .axis-title').allTextContents()).to.deep.equal([
      'time (UTC), one point per minute',
      'hit ratio',
    ]);
    expect(await text('#chart-range')).to.equal('09:00–10:31 UTC (kept: the last 6.0 h)');
    const tooltip = await page.locator('#chart .ratio-point title').first().textContent();
    expect(tooltip).to.match(/^09:00 UTC: \d+\.\d% of \d+ lookups$/);
  });

  it('the route table: per route pattern, most handler runs first, with hit ratio, bypass reasons, bytes and time saved', async () => {
    await until('the routes are listed', async () => (await page.locator('#routes tbody tr[data-route]').count()) === 2);
    const rows = await page.locator('#routes tbody tr').allInnerTexts();
    const cells = rows.map((row) => row.split('\t'));
    expect(cells.map((row) => row[0])).to.deep.equal(['GET /users/:id', 'GET /posts/:id']);
    const users = cells[0] as string[];
    expect(users[1]).to.equal(String(MINUTES * 5)); // 4 lookups and a bypass a minute
    expect(users[2]).to.match(/^\d+\.\d%$/);
    expect(users[6]).to.equal(`${MINUTES} (authorization ${MINUTES})`);
    expect(users[8]).to.match(/^[\d.]+ KiB$/);
    expect(users[9]).to.match(/^[\d.]+ (ms|s)$/);
  });

  it('the decision log filters by outcome, route and key text', async () => {
    await until('decisions are listed', async () => (await logRows()).length > 0);
    await page.uncheck('#filter-event-hit');
    await until('no hit is listed', async () => (await logRows()).every((row) => row[1] !== 'hit'));
    expect((await logRows()).length).to.be.above(0);
    for (const name of ['miss', 'stale', 'invalidated', 'bypass', 'store', 'not-stored', 'evict']) {
      await page.uncheck(`#filter-event-${name}`);
    }
    await until('only expiries are listed', async () => {
      const rows = await logRows();
      return rows.length === 1 && rows.every((row) => row[1] === 'expire');
    });
    for (const name of ['hit', 'miss', 'stale', 'invalidated', 'bypass', 'store', 'not-stored', 'evict']) {
      await page.check(`#filter-event-${name}`);
    }
    await page.selectOption('#filter-route', 'GET /posts/:id');
    await until('only posts are listed', async () => {
      const rows = await logRows();
      return rows.length > 0 && rows.every((row) => row[3] === 'GET /posts/:id');
    });
    await page.selectOption('#filter-route', '');
    await page.fill('#filter-text', 'POST_3');
    await until('only post_3 is listed', async () => {
      const rows = await logRows();
      return rows.length > 0 && rows.every((row) => /post_3$/.test(row[2] ?? '')); // evictions show the store id, k:post_3
    });
    await page.fill('#filter-text', '');
    await until('everything is listed again', async () => (await logRows()).some((row) => row[2] === 'user_1'));
  });

  it('an expiry row names its trigger: method, route, status, request id, and how many groups', async () => {
    const rows = await logRows();
    const expiry = rows.find((row) => row[1] === 'expire');
    expect(expiry).to.deep.equal([
      expiry?.[0],
      'expire',
      'user_group_1, users',
      'PUT /users/:id',
      'triggered by PUT /users/:id → 200, request req-abc-123; 2 groups',
    ]);
  });

  it('the log pauses while the pointer is on it, and with the Pause button, then shows what came meanwhile', async () => {
    await page.hover('#decisions-box');
    await until('paused by the pointer', async () => (await text('#log-state')) === 'paused (pointer on the log)');
    await page.mouse.move(0, 0);
    await until('live again', async () => (await text('#log-state')) === 'live');
    await page.click('#pause');
    expect(await text('#pause')).to.equal('Resume');
    const before = await logRows();
    expect(await xCache('/posts/77')).to.equal('MISS');
    await until('new decisions wait', async () => /^paused \(Pause pressed\): \d+ new$/.test(await text('#log-state')));
    expect(await logRows()).to.deep.equal(before);
    await page.click('#pause');
    await until('the waiting decisions are shown', async () => (await logRows()).some((row) => row[2] === 'post_77'));
    expect(await text('#log-state')).to.equal('live');
  });

  it('a key made of markup is shown as text, and never runs', async () => {
    const markup = '<img src=x onerror="document.title=\'pwned\'">';
    expect(await xCache(`/users/${encodeURIComponent(markup)}`)).to.equal('MISS');
    await until('the key is listed', async () => (await logRows()).some((row) => row[2] === `user_${markup}`));
    expect(await page.locator('img').count()).to.equal(0);
    expect(await page.title()).to.equal('group-cache inspector');
  });

  it('looks a key up, and a group picked from it is expired from the page: the next request is a MISS', async () => {
    const stores = cache.stats().stores;
    expect(await xCache('/users/1')).to.equal('MISS'); // expired by the PUT
    await storesReach(stores + 1);
    expect(await xCache('/users/1')).to.equal('HIT');
    await page.fill('#lookup-key', 'user_1');
    await page.click('#lookup-button');
    await page.locator('#lookup-groups button', { hasText: 'user_group_1' }).waitFor(WAIT);
    expect(await text('#lookup-result')).to.include('fresh');
    await page.locator('#lookup-groups button', { hasText: 'user_group_1' }).click();
    expect(await page.inputValue('#expire-group')).to.equal('user_group_1');
    await page.click('#expire-button');
    await page.locator('#expire-result', { hasText: 'Expired group "user_group_1".' }).waitFor(WAIT);
    expect(await xCache('/users/1')).to.equal('MISS');
    await until('the page expiry is listed with its trigger', async () =>
      (await logRows()).some((row) => row[3] === 'POST /_cache/api/expire' && row[4]?.startsWith('triggered by POST') === true),
    );
    expect(problems).to.deep.equal([]);
    await page.screenshot({ path: join(BROWSER_OUTPUT, 'inspector.png'), fullPage: true });
    // The top of the page, small enough for the docs (docs/inspector.jpg is a copy of one).
    const clip = { x: 0, y: 0, width: 1400, height: 1150 };
    await page.screenshot({ path: join(BROWSER_OUTPUT, 'inspector-top.jpg'), type: 'jpeg', quality: 70, clip });
  });
});
