/*
 * Real Varnish (varnishd 7 with the xkey vmod, started by the tests on a free loopback port with the VCL of
 * examples/varnish) in front of real app instances.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createCache, type GroupCache, memoryStore } from 'group-cache';
import { varnishPurger } from 'group-cache/edge';
import { type EdgeState, purgerConformance } from 'group-cache/test-suite';
import { type AppInstance, FRAMEWORKS, type ItemsDb, startItemsApp } from '../helpers/edge-apps.js';
import { freePort } from '../helpers/redis-server.js';
import { startVarnish, startVarnishOrSkip, type Varnish, varnishInstalled } from '../helpers/varnish.js';

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function get(url: string): Promise<Answer> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const version = (answer: Answer): number => (JSON.parse(answer.body) as { version: number }).version;

/** Varnish in front of one app instance of `framework`, whose cache purges that Varnish. */
async function edgeStack(context: Mocha.Context, framework: (typeof FRAMEWORKS)[number], withEdge = true) {
  const varnishPort = await freePort();
  const db: ItemsDb = { versions: new Map() };
  const purger = varnishPurger({ url: `http://127.0.0.1:${varnishPort}`, timeout: 1_000 });
  const cache: GroupCache = withEdge
    ? createCache({ store: memoryStore(), cdnTags: 'Surrogate-Key', retryInterval: 200, edge: { purgers: purger, window: 400 } })
    : createCache({ store: memoryStore(), cdnTags: 'Surrogate-Key' });
  cache.on('error', () => {});
  // Without `edge`, the handler offers the edge its responses itself, as the README's old CDN recipe had users do.
  const headers: Record<string, string> = withEdge ? {} : { 'Surrogate-Control': 'max-age=60, fetch-within=1000' };
  const app: AppInstance = await startItemsApp(framework, cache, db, { headers });
  const varnish = await startVarnishOrSkip(context, app.port, varnishPort);
  return {
    db,
    cache,
    varnish,
    item: (id: number) => `${varnish.url}/items/${id}`,
    direct: (id: number) => `http://127.0.0.1:${app.port}/items/${id}`,
    async close() {
      await cache.close();
      await varnish.stop();
      await app.close();
    },
  };
}

describe('Varnish in front (examples/varnish/group-cache.vcl)', function () {
  this.timeout(60_000);

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      // One Varnish and one app for the framework's tests, each test on an item of its own.
      let stack: Awaited<ReturnType<typeof edgeStack>>;
      before(async function () {
        stack = await edgeStack(this, framework);
      });
      after(async () => {
        await stack?.close();
      });

      it('Varnish keeps what the app offered; browsers see neither the tags nor the edge lifetime', async () => {
        const first = await get(stack.item(1));
        expect(first.headers.get('x-edge')).to.equal('MISS');
        expect(first.headers.get('x-cache')).to.equal('MISS');
        const second = await get(stack.item(1));
        expect(second.headers.get('x-edge')).to.equal('HIT');
        for (const name of ['surrogate-key', 'surrogate-control', 'xkey']) expect(second.headers.get(name), name).to.equal(null);
      });

      it('a write through Varnish purges it before answering: the next read through Varnish has the write', async () => {
        await get(stack.item(2));
        expect((await get(stack.item(2))).headers.get('x-edge')).to.equal('HIT');
        const write = await fetch(`${stack.item(2)}?v=2`, { method: 'PUT' });
        expect(write.status).to.equal(200);
        const read = await get(stack.item(2));
        expect(read.headers.get('x-edge')).to.equal('MISS');
        expect(version(read)).to.equal(2);
      });

      it('the race: a slow read that fetched before a write, answering after its purge, is not kept by Varnish', async () => {
        stack.db.delay = () => 800;
        const slow = get(stack.item(4));
        await new Promise((resolve) => setTimeout(resolve, 100));
        stack.db.delay = undefined;
        // The slow read has read version 0 and is held; the write's purge runs before it answers.
        expect((await fetch(`${stack.item(4)}?v=5`, { method: 'PUT' })).status).to.equal(200);
        expect(version(await slow)).to.equal(0);
        const read = await get(stack.item(4));
        expect(read.headers.get('x-edge')).to.equal('MISS');
        expect(version(read)).to.equal(5);
      });

      // The 503 itself is lib/http's, the same for every adapter: one framework restarts Varnish for it.
      if (framework === 'express')
        it("onError 'fail': with Varnish down, a write is answered 503 (applied, not visible everywhere); the purge lands once it is back", async () => {
          await get(stack.item(3));
          await stack.varnish.kill();
          // Straight to the app: Varnish is down, so its purge fails.
          const write = await fetch(`${stack.direct(3)}?v=2`, { method: 'PUT' });
          expect(write.status).to.equal(503);
          expect(stack.db.versions.get('3')).to.equal(2);
          expect(stack.cache.stats().pendingPurges).to.equal(1);
          await stack.varnish.restart();
          const deadline = Date.now() + 10_000;
          while (stack.cache.stats().pendingPurges > 0 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 50));
          expect(stack.cache.stats().pendingPurges).to.equal(0);
        });
    });
  }

  it('without `edge` (the tags sent, no purge), a write leaves Varnish answering the old copy', async function () {
    const stack = await edgeStack(this, 'express', false);
    try {
      await get(stack.item(1));
      expect((await fetch(`${stack.item(1)}?v=2`, { method: 'PUT' })).status).to.equal(200);
      const read = await get(stack.item(1));
      expect(read.headers.get('x-edge')).to.equal('HIT');
      expect(version(read)).to.equal(0);
    } finally {
      await stack.close();
    }
  });
});

/**
 * A bare backend: /obj/<n>?tags=a,b&delay=ms&within=ms answers, after `delay`, a response tagged with `tags` that
 * Varnish may keep if it arrives within `within` ms of Varnish's request (default 2,000: a loaded machine's).
 */
async function tagBackend(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const delay = Number(url.searchParams.get('delay') ?? 0);
    const within = Number(url.searchParams.get('within') ?? 2_000);
    setTimeout(() => {
      res.writeHead(200, {
        'Surrogate-Key': (url.searchParams.get('tags') ?? '').split(',').join(' '),
        'Surrogate-Control': `max-age=60, fetch-within=${within}`,
        'Content-Type': 'text/plain',
      });
      res.end(url.pathname);
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('the VCL race guard (fetch-within)', function () {
  this.timeout(60_000);
  let backend: Awaited<ReturnType<typeof tagBackend>> | undefined;
  let varnish: Varnish | undefined;
  before(async function () {
    backend = await tagBackend();
    varnish = await startVarnishOrSkip(this, backend.port);
  });
  after(async () => {
    await varnish?.stop();
    backend?.server.close();
  });

  it('a response that reached Varnish within fetch-within of its request is kept', async () => {
    const url = `${varnish?.url}/obj/fast?tags=t`;
    expect((await get(url)).headers.get('x-edge')).to.equal('MISS');
    expect((await get(url)).headers.get('x-edge')).to.equal('HIT');
  });

  it('one that took longer (it may have read before an expiry whose purge already ran) is delivered, not kept', async () => {
    const url = `${varnish?.url}/obj/slow?tags=t&delay=300&within=100`;
    expect((await get(url)).status).to.equal(200);
    expect((await get(url)).headers.get('x-edge')).to.equal('MISS');
  });
});

// varnishPurger against a real Varnish, held by the shipped conformance suite.
{
  let backend: Awaited<ReturnType<typeof tagBackend>> | undefined;
  let varnish: Varnish | undefined;
  let next = 0;
  purgerConformance('varnishPurger against varnishd with the example VCL', {
    timeout: 1_000,
    soft: true,
    async setup(context) {
      if (!varnishInstalled() && process.env.CI !== 'true') {
        console.warn('\n  !!! SKIPPING the Varnish purger conformance: no varnishd. !!!\n');
        context?.skip?.();
      }
      backend = await tagBackend();
      varnish = await startVarnish(backend.port);
    },
    create() {
      const base = varnish?.url ?? '';
      return {
        purger: varnishPurger({ url: base, timeout: 1_000 }),
        async put(tags) {
          const url = `${base}/obj/${++next}?tags=${tags.map(encodeURIComponent).join(',')}`;
          const answer = await get(url);
          if (answer.status !== 200) throw new Error(`put: Varnish answered ${answer.status}`);
          return url;
        },
        async state(url): Promise<EdgeState> {
          const said = (await get(url)).headers.get('x-edge');
          return said === 'HIT' ? 'fresh' : said === 'STALE' ? 'stale' : 'gone';
        },
        breakEdge: async () => varnish?.kill(),
        heal: async () => varnish?.restart(),
      };
    },
    async teardown() {
      await varnish?.stop();
      backend?.server.close();
    },
  });
}
