/*
 * The inspector page in headless Chromium: the numbers follow traffic, markup in a key stays text, and a group
 * expired from the page makes the next request a MISS. Waits are for conditions (the page polls every second),
 * never fixed sleeps, and generous: the machine may be busy.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { createCache } from 'group-cache';
import { groupCache, inspector } from 'group-cache/express';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_OUTPUT, launchChromium } from '../helpers/browser.js';
import { listen } from '../helpers/http.js';

const WAIT = { timeout: 30_000 };

describe('inspector page in Chromium', function () {
  this.timeout(90_000);
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof listen>>;
  let close: () => void;
  const problems: string[] = [];

  before(async function () {
    browser = await launchChromium(this);
    const cache = createCache();
    const app = express();
    const mounted = inspector({ cache });
    close = mounted.close;
    app.use('/_cache', mounted);
    app.get(
      '/users/:id',
      groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), { cache }),
      (req, res) => {
        res.json({ id: req.params.id });
      },
    );
    server = await listen(app);
    page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
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

  const xCache = async (path: string) => (await fetch(`${server.url}${path}`)).headers.get('x-cache');
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
  /** Waits until an element matching `selector` holds exactly `value` as its text (the page polls each second). */
  async function showing(selector: string, value: string): Promise<void> {
    const deadline = Date.now() + WAIT.timeout;
    while (!(await page.locator(selector).allTextContents()).includes(value)) {
      if (Date.now() > deadline) throw new Error(`${selector} never showed ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('loads under its CSP, with no error, and shows the counters at 0', async () => {
    const response = await page.goto(`${server.url}/_cache`);
    expect(response?.status()).to.equal(200);
    expect(page.url()).to.equal(`${server.url}/_cache/`);
    await showing('#counter-hits', '0');
    expect(await text('#status')).to.match(/^updated /);
    expect(problems).to.deep.equal([]);
  });

  it('the counters, the chart and the recent decisions follow the traffic', async () => {
    expect(await xCache('/users/1')).to.equal('MISS');
    expect(await xCache('/users/1')).to.equal('HIT');
    await showing('#counter-hits', '1');
    await showing('#counter-misses', '1');
    expect(await text('#counter-stores')).to.equal('1');
    const rows = await page.locator('#decisions tbody tr').allInnerTexts();
    expect(rows.map((row) => row.split('\t').slice(1, 3).join(' '))).to.include.members([
      'miss user_1',
      'store user_1',
      'hit user_1',
    ]);
    // The chart plots the hit ratio of each poll with traffic in it.
    expect(await xCache('/users/1')).to.equal('HIT');
    await page.locator('#chart-line:not([points=""])').waitFor({ state: 'attached', ...WAIT });
    expect(await text('#ratio-now')).to.match(/%$/);
  });

  it('a key made of markup is shown as text, and never runs', async () => {
    const markup = '<img src=x onerror="document.title=\'pwned\'">';
    expect(await xCache(`/users/${encodeURIComponent(markup)}`)).to.equal('MISS');
    await showing('#decisions td', `user_${markup}`);
    expect(await page.locator('img').count()).to.equal(0);
    expect(await page.title()).to.equal('group-cache inspector');
  });

  it('looks a key up, and a group picked from it is expired from the page: the next request is a MISS', async () => {
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
    await showing('#decisions td', 'groups: user_group_1');
    expect(problems).to.deep.equal([]);
    await page.screenshot({ path: join(BROWSER_OUTPUT, 'inspector.png'), fullPage: true });
  });
});
