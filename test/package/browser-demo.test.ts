/*
 * Issue 11, "a real browser": headless Chromium against the demo as `npm start` runs it (examples/express-users.mjs,
 * on a free port). A page load is a MISS then a HIT, the browser's revalidation gets a 304, a write through fetch()
 * is followed by a read with the new data, and the compressed page renders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Browser, Response as PageResponse } from 'playwright-core';
import { BROWSER_OUTPUT, launchChromium } from '../helpers/browser.js';

const DEMO = fileURLToPath(new URL('../../examples/express-users.mjs', import.meta.url));

/** Starts the demo on a free port (PORT=0) and resolves with its URL, read from the line it prints. */
function startDemo(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /demo on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (found) resolve({ child, url: found[1] as string });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`the demo exited (${code}) before listening: ${err}`)));
    child.once('error', reject);
  });
}

describe('a real browser against the demo (examples/express-users.mjs)', function () {
  this.timeout(60_000);
  let browser: Browser;
  let demo: { child: ChildProcess; url: string } | undefined;

  before(async function () {
    browser = await launchChromium(this);
    demo = await startDemo();
  });
  after(async () => {
    demo?.child.kill();
    await browser?.close();
  });

  it('MISS then HIT, a 304 on revalidation, a fetch() write then a read with the new data, a compressed page', async () => {
    const url = (demo as { url: string }).url;
    // Two browsers' worth of HTTP caches: the first visitor fills the server's cache, the second is served from it.
    const first = await browser.newContext();
    const second = await browser.newContext();
    try {
      const page = await first.newPage();
      const miss = (await page.goto(`${url}/`)) as PageResponse;
      expect(miss.status()).to.equal(200);
      expect(await miss.headerValue('x-cache')).to.equal('MISS');
      expect(['gzip', 'br'], 'compressed on the wire').to.include(await miss.headerValue('content-encoding'));
      await page.getByRole('cell', { name: 'Grace', exact: true }).waitFor();
      expect(await page.title()).to.equal('group-cache demo: users');

      const other = await second.newPage();
      const hit = (await other.goto(`${url}/`)) as PageResponse;
      expect(hit.status()).to.equal(200);
      expect(await hit.headerValue('x-cache')).to.equal('HIT');
      expect(['gzip', 'br']).to.include(await hit.headerValue('content-encoding'));
      await other.getByRole('cell', { name: 'Ada', exact: true }).waitFor();

      // The browser holds the page with its ETag and `max-age=0, must-revalidate`: a reload asks If-None-Match.
      // Playwright shows the page the browser kept (a 200); the status that came over the wire is the network's
      // raw response, which the DevTools protocol reports.
      const wire: Array<{ status: number; xcache: string | undefined }> = [];
      const devtools = await second.newCDPSession(other);
      await devtools.send('Network.enable');
      devtools.on('Network.responseReceivedExtraInfo', (event) => {
        const xcache = Object.entries(event.headers).find(([name]) => name.toLowerCase() === 'x-cache')?.[1];
        wire.push({ status: event.statusCode, xcache });
      });
      const conditional = other.waitForRequest((request) => request.url() === `${url}/`);
      await other.reload();
      const sent = await (await conditional).allHeaders();
      expect(sent['if-none-match'], 'the browser revalidated').to.be.a('string');
      await other.getByRole('cell', { name: 'Grace', exact: true }).waitFor();
      while (wire.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(wire[0]).to.deep.equal({ status: 304, xcache: 'HIT' });

      // A write through fetch(), then reads: the JSON and the page both show it, never a stale copy.
      const read = await other.evaluate(async () => {
        const write = await fetch('/users/1', {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Ada Lovelace' }),
        });
        const after = await fetch('/users/1');
        return { write: write.status, status: after.status, xcache: after.headers.get('x-cache'), user: await after.json() };
      });
      expect(read).to.deep.include({ write: 200, status: 200, xcache: 'MISS' });
      expect(read.user).to.deep.include({ id: '1', name: 'Ada Lovelace' });
      const fresh = (await other.reload()) as PageResponse;
      expect(fresh.status(), 'the old ETag no longer matches: a full page').to.equal(200);
      expect(await fresh.headerValue('x-cache')).to.equal('MISS');
      await other.getByRole('cell', { name: 'Ada Lovelace', exact: true }).waitFor();
      await other.screenshot({ path: join(BROWSER_OUTPUT, 'demo.png'), fullPage: true });

      // Chromium asks for br first; a browser asking for gzip alone gets gzip from the same cached entry.
      const gzipOnly = await browser.newContext({ extraHTTPHeaders: { 'accept-encoding': 'gzip' } });
      try {
        const old = await gzipOnly.newPage();
        const gzip = (await old.goto(`${url}/`)) as PageResponse;
        expect([await gzip.headerValue('content-encoding'), await gzip.headerValue('x-cache')]).to.deep.equal(['gzip', 'HIT']);
        await old.getByRole('cell', { name: 'Ada Lovelace', exact: true }).waitFor();
      } finally {
        await gzipOnly.close();
      }
    } finally {
      await first.close();
      await second.close();
    }
  });
});
