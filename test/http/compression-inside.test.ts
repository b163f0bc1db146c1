/*
 * Issue 11: a compressor mounted INSIDE the cache (between groupCache and the handler), so the cache sees encoded
 * bytes and `Vary: Accept-Encoding`. Each coding class (br, gzip, identity, ...) keeps its own entry, a thousand
 * spellings of Accept-Encoding make a few entries, and no client ever gets a coding it did not accept. Real apps:
 * `compression` on Express 4 and 5, `koa-compress` on Koa 2 and 3, requests on the wire through node:http so that
 * the test, not a client library, picks the exact Accept-Encoding sent (or none).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import Router from '@koa/router';
import { expect } from 'chai';
import compression from 'compression';
import express, { type Request, type Response } from 'express';
import express4 from 'express4';
import { createCache, type GroupCache } from 'group-cache';
import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as koaCache } from 'group-cache/koa';
import { redisStore } from 'group-cache/redis';
import Koa from 'koa';
import compress from 'koa-compress';
import Koa2 from 'koa2';
import { deferred, listen } from '../helpers/http.js';
import { useRedis } from '../helpers/redis-fixtures.js';
import { connect, uniquePrefix } from '../helpers/redis-server.js';

const PAGE = `<html><body>${'hello group-cache, compressed inside the cache. '.repeat(200)}</body></html>`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  coding: string | undefined;
  text: string;
}

/** GET with exactly these headers (`accept-encoding` absent when not given), the bytes as they came on the wire. */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const coding = res.headers['content-encoding'];
        const decoded =
          coding === 'gzip'
            ? gunzipSync(raw)
            : coding === 'br'
              ? brotliDecompressSync(raw)
              : coding === 'deflate'
                ? inflateSync(raw)
                : raw;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, coding, text: decoded.toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * An Accept-Encoding and the coding its client must get once br, gzip and identity entries are warm: br or gzip
 * where both compressors prefer it (and the client did not refuse it), none where it refused both.
 */
type Spelling = [spelling: string, coding: string | undefined];
const answeredWith = (coding: string | undefined, spellings: string[]): Spelling[] =>
  spellings.map((spelling) => [spelling, coding]);
const SPELLINGS: Spelling[] = [
  ...answeredWith('br', [
    'gzip, deflate, br',
    'gzip,deflate,br',
    'br, gzip, deflate',
    'br,gzip',
    'br',
    'BR',
    ' br ',
    'Br, GZip',
    'gzip, br',
    'deflate, gzip, br',
    'br;q=1.0, gzip;q=0.8, *;q=0.1',
    'br;q=1, gzip;q=0.9',
    'br;q=0.9, gzip;q=0.8',
    'gzip;q=0.5, br;q=0.9',
    'br, identity',
    'br, *;q=0',
    'br;q=1.000',
    'gzip, deflate, br, identity;q=0.5',
    'compress, gzip, br',
    'x-gzip, br',
    'gzip, deflate, br, zstd;q=0',
  ]),
  ...answeredWith('gzip', [
    'gzip',
    'GZIP',
    'gzip, deflate',
    'deflate, gzip',
    'gzip;q=1.0, identity; q=0.5, *;q=0',
    'gzip;q=0.8',
    'gzip, identity',
    'x-gzip',
    'gzip, compress',
    'gzip;q=1, deflate;q=0.5',
    'gzip, br;q=0',
    'gzip,  deflate',
    'identity;q=0, gzip',
  ]),
  ...answeredWith(undefined, [
    'identity',
    '',
    'gzip;q=0',
    'gzip;q=0, br;q=0',
    '*;q=0',
    'identity, *;q=0',
    'compress',
    'sdch',
    'IDENTITY',
    'br;q=0, gzip;q=0, deflate;q=0',
    'identity;q=1',
    'unknown-coding',
  ]),
];

/** Headers for a spelling (`undefined`: no Accept-Encoding at all). */
const asked = (spelling: string | undefined): Record<string, string> =>
  spelling === undefined ? {} : { 'accept-encoding': spelling };

const varyTokens = (answer: Answer): string[] =>
  String(answer.headers.vary ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase());

/** What holds on every hit: the coding, the length, the validator, the Vary and the decoded page. */
function expectGoodHit(answer: Answer, coding: string | undefined, label: string): void {
  expect(answer.status, label).to.equal(200);
  expect(answer.headers['x-cache'], label).to.equal('HIT');
  expect(answer.coding, `${label}: its coding`).to.equal(coding);
  expect(answer.headers['content-length'], `${label}: Content-Length`).to.equal(String(answer.raw.length));
  expect(varyTokens(answer), `${label}: Vary`).to.include('accept-encoding');
  expect(answer.headers.etag, `${label}: ETag`).to.be.a('string');
  expect(answer.text, `${label}: the handler's page`).to.equal(PAGE);
}

interface Framework {
  name: string;
  /** A server whose /page runs groupCache, then the compressor, then the handler; `etag` strong (Express). */
  serve(cache: GroupCache, options?: { strongEtag?: boolean; vary?: string[] }): ReturnType<typeof listen>;
  /** What the compressor answers a client whose Accept-Encoding refuses every coding, identity included. */
  refusesAll: 'identity' | 'error';
}

function expressFramework(name: string, make: () => express.Express): Framework {
  return {
    name,
    refusesAll: 'identity',
    serve(cache, options = {}) {
      const app = make();
      if (options.strongEtag) app.set('etag', 'strong');
      app.get(
        '/page',
        expressCache(() => ({ key: 'page', groups: ['pages'] }), { cache, ...(options.vary ? { vary: options.vary } : {}) }),
        compression({ threshold: 0 }),
        (_req: Request, res: Response) => {
          res.type('html').send(PAGE);
        },
      );
      return listen(app);
    },
  };
}

function koaFramework(name: string, KoaApp: typeof Koa): Framework {
  return {
    name,
    // koa-compress 5 throws on a request it can give no coding (ctx.set('Content-Encoding', undefined)): a 500.
    refusesAll: 'error',
    serve(cache, options = {}) {
      const app = new KoaApp();
      app.silent = true;
      const router = new Router();
      router.get(
        '/page',
        koaCache(() => ({ key: 'page', groups: ['pages'] }), { cache, ...(options.vary ? { vary: options.vary } : {}) }),
        compress({ threshold: 0 }),
        (ctx) => {
          ctx.type = 'html';
          ctx.body = PAGE;
        },
      );
      app.use(router.routes());
      return listen(app.callback());
    },
  };
}

const FRAMEWORKS: Framework[] = [
  expressFramework('Express 5', () => express()),
  expressFramework('Express 4', () => express4() as unknown as express.Express),
  koaFramework('Koa 3', Koa),
  koaFramework('Koa 2', Koa2 as unknown as typeof Koa),
];

for (const framework of FRAMEWORKS) {
  describe(`${framework.name}: a compressor mounted inside the cache`, () => {
    let cache: GroupCache;
    let server: Awaited<ReturnType<typeof listen>>;
    beforeEach(async () => {
      cache = createCache();
      server = await framework.serve(cache);
    });
    afterEach(async () => {
      await server.close();
      await cache.close();
    });
    const page = (spelling?: string) => get(`${server.url}/page`, asked(spelling));

    it('gzip, br, identity and no header: one entry per coding, each served only to the clients of its coding', async () => {
      const gzip = await page('gzip');
      expect([gzip.headers['x-cache'], gzip.coding, gzip.text === PAGE]).to.deep.equal(['MISS', 'gzip', true]);
      const br = await page('br');
      expect([br.headers['x-cache'], br.coding, br.text === PAGE]).to.deep.equal(['MISS', 'br', true]);
      const identity = await page('identity');
      expect([identity.headers['x-cache'], identity.coding, identity.text]).to.deep.equal(['MISS', undefined, PAGE]);
      expectGoodHit(await page('gzip'), 'gzip', 'gzip');
      expectGoodHit(await page('br'), 'br', 'br');
      expectGoodHit(await page('identity'), undefined, 'identity');
      expectGoodHit(await page(), undefined, 'no Accept-Encoding');
      expectGoodHit(await page('gzip;q=0'), undefined, 'gzip;q=0');
      expectGoodHit(await page('gzip, deflate, br'), 'br', 'a browser');
      expect(cache.stats()).to.include({ stores: 3, entries: 3, misses: 3 });
    });

    it('*;q=0: never gets a coding; the identity entry answers it', async () => {
      const cold = await page('*;q=0');
      if (framework.refusesAll === 'error') {
        // koa-compress's own bug, without the cache too: nothing is stored from it.
        expect(cold.status).to.equal(500);
        expect(cache.stats().stores).to.equal(0);
        expect((await page('identity')).headers['x-cache']).to.equal('MISS');
      } else {
        expect([cold.status, cold.coding, cold.text]).to.deep.equal([200, undefined, PAGE]);
      }
      expectGoodHit(await page('*;q=0'), undefined, '*;q=0');
      expectGoodHit(await page('identity;q=0'), undefined, 'identity;q=0 (nothing acceptable: identity, as the origin)');
      expect(cache.stats().entries).to.equal(1);
    });

    it(`${SPELLINGS.length} spellings of Accept-Encoding: at most one entry per coding class, each client gets a coding it accepts`, async () => {
      // Warm each class once, then every spelling must be a hit in a coding it accepts.
      for (const spelling of ['br', 'gzip', 'identity']) await page(spelling);
      for (const [spelling, coding] of SPELLINGS) {
        if (spelling === '*;q=0' && framework.refusesAll === 'error') continue; // see the *;q=0 case above
        expectGoodHit(await page(spelling), coding, JSON.stringify(spelling));
      }
      expect(cache.stats().entries).to.equal(3);
      expect(cache.stats().stores).to.equal(3);
    });

    it('a browser that lists zstd gets its own class, and still a coding it accepts (the compressor has no zstd here)', async () => {
      const chrome = 'gzip, deflate, br, zstd';
      expect((await page(chrome)).headers['x-cache']).to.equal('MISS');
      expectGoodHit(await page(chrome), 'br', 'Chrome');
      expectGoodHit(await page('zstd, br;q=0.5'), 'br', 'zstd first');
      expect((await page('br')).headers['x-cache'], 'br-only clients are another class').to.equal('MISS');
      expect(cache.stats().entries).to.equal(2);
    });

    it('the ETag is per coding or weak, and a revalidation of each variant gets a 304 with its Vary', async () => {
      const gzip = await page('gzip');
      const identity = await page('identity');
      const gzipHit = await page('gzip');
      const identityHit = await page('identity');
      const [a, b] = [String(gzipHit.headers.etag), String(identityHit.headers.etag)];
      expect(a === b ? a.startsWith('W/') && b.startsWith('W/') : true, `${a} vs ${b}`).to.equal(true);
      expect(gzip.raw.equals(gzipHit.raw) && identity.raw.equals(identityHit.raw)).to.equal(true);
      for (const [spelling, tag] of [
        ['gzip', a],
        ['identity', b],
      ] as const) {
        const revalidated = await get(`${server.url}/page`, { 'accept-encoding': spelling, 'if-none-match': tag });
        expect(revalidated.status, spelling).to.equal(304);
        expect(varyTokens(revalidated), spelling).to.include('accept-encoding');
        expect(revalidated.raw.length).to.equal(0);
      }
    });

    it('one group expiry, or one key expiry, reaches every coding variant', async () => {
      // Each class: a MISS, then a HIT. A refill right after an expiry may be refused once by the store (its start,
      // estimated on the store's clock, can read as no later than the expiry): that class then refills again.
      const missThenHit = async () => {
        for (const spelling of ['br', 'gzip', 'identity']) {
          const seen: unknown[] = [];
          while (seen.length < 4 && seen.at(-1) !== 'HIT') seen.push((await page(spelling)).headers['x-cache']);
          expect(seen[0], spelling).to.equal('MISS');
          expect(seen.at(-1), `${spelling}: ${seen.join(', ')}`).to.equal('HIT');
        }
      };
      await missThenHit();
      await cache.expireGroups('pages');
      await missThenHit();
      await cache.expireKey('page');
      await missThenHit();
    });

    it("vary: ['accept-encoding'] keys by the coding class too, not by the spelling", async () => {
      const keyed = createCache();
      const other = await framework.serve(keyed, { vary: ['accept-encoding'] });
      try {
        for (const [spelling, coding] of SPELLINGS) {
          if (spelling === '*;q=0' && framework.refusesAll === 'error') continue;
          const answer = await get(`${other.url}/page`, asked(spelling));
          expect(answer.coding, JSON.stringify(spelling)).to.equal(coding);
          expect(answer.text).to.equal(PAGE);
        }
        expect(keyed.stats().entries).to.equal(3);
      } finally {
        await other.close();
        await keyed.close();
      }
    });
  });
}

describe('Express: a strong ETag under a compressor inside the cache', () => {
  it('is weakened on hits: the gzip and identity bytes differ, so they cannot share a strong validator', async () => {
    const cache = createCache();
    const server = await FRAMEWORKS[0]!.serve(cache, { strongEtag: true });
    try {
      const miss = await get(`${server.url}/page`, { 'accept-encoding': 'gzip' });
      expect(String(miss.headers.etag).startsWith('W/'), 'Express sent a strong one').to.equal(false);
      await get(`${server.url}/page`, { 'accept-encoding': 'identity' });
      const gzip = await get(`${server.url}/page`, { 'accept-encoding': 'gzip' });
      const identity = await get(`${server.url}/page`, { 'accept-encoding': 'identity' });
      expect([gzip.headers['x-cache'], identity.headers['x-cache']]).to.deep.equal(['HIT', 'HIT']);
      expect(gzip.headers.etag).to.equal(`W/${String(miss.headers.etag)}`);
      expect(String(identity.headers.etag).startsWith('W/')).to.equal(false);
    } finally {
      await server.close();
      await cache.close();
    }
  });
});

describe('a handler that encodes carelessly, behind the cache', () => {
  it('never has its gzip served to a client that refused gzip: that client gets its own fill', async () => {
    const cache = createCache();
    const app = express();
    app.get(
      '/naive',
      expressCache(() => 'naive', { cache }),
      (req: Request, res: Response) => {
        // Reads `gzip;q=0` as a yes: the bytes are gzip whenever the word appears.
        const gzip = String(req.headers['accept-encoding'] ?? '').includes('gzip');
        res.set('Vary', 'Accept-Encoding').type('text');
        if (gzip) res.set('Content-Encoding', 'gzip').send(gzipSync(PAGE));
        else res.send(PAGE);
      },
    );
    const server = await listen(app);
    try {
      const careless = await get(`${server.url}/naive`, { 'accept-encoding': 'gzip;q=0, identity' });
      expect(careless.coding, 'the handler sent gzip anyway').to.equal('gzip');
      const identity = await get(`${server.url}/naive`, { 'accept-encoding': 'identity' });
      expect([identity.headers['x-cache'], identity.coding, identity.text]).to.deep.equal(['MISS', undefined, PAGE]);
      // Its entry replaces the gzip one in place. The store refuses a fill dated before the entry it would replace,
      // and two fills a few ms apart can be dated in either order on a loaded machine: then the next identity client
      // refills once more. Either way none of them ever gets gzip, and one soon gets a hit.
      const after: Array<[unknown, unknown, boolean]> = [];
      while (after.length < 5 && after.at(-1)?.[0] !== 'HIT') {
        const again = await get(`${server.url}/naive`, { 'accept-encoding': 'identity' });
        after.push([again.headers['x-cache'], again.coding, again.text === PAGE]);
      }
      expect(after.at(-1)).to.deep.equal(['HIT', undefined, true]);
      for (const answer of after) expect(answer.slice(1)).to.deep.equal([undefined, true]);
    } finally {
      await server.close();
      await cache.close();
    }
  });
});

describe('concurrent misses of two coding classes', () => {
  it('the one that waited for the other class fills its own variant, and both stay', async () => {
    const cache = createCache();
    const gate = deferred();
    let runs = 0;
    const app = express();
    app.get(
      '/slow',
      expressCache(() => 'slow', { cache }),
      compression({ threshold: 0 }),
      async (_req: Request, res: Response) => {
        runs++;
        if (runs === 1) await gate.promise;
        res.type('html').send(PAGE);
      },
    );
    const server = await listen(app);
    try {
      const gzip = get(`${server.url}/slow`, { 'accept-encoding': 'gzip' });
      while (runs === 0) await new Promise((resolve) => setImmediate(resolve));
      const identity = get(`${server.url}/slow`, { 'accept-encoding': 'identity' });
      while (cache.stats().waits === 0) await new Promise((resolve) => setImmediate(resolve));
      gate.resolve();
      expect([(await gzip).coding, (await identity).coding]).to.deep.equal(['gzip', undefined]);
      expect(runs, 'the identity client ran its own handler').to.equal(2);
      const again = await Promise.all([
        get(`${server.url}/slow`, { 'accept-encoding': 'gzip' }),
        get(`${server.url}/slow`, { 'accept-encoding': 'identity' }),
      ]);
      expect(again.map((answer) => [answer.headers['x-cache'], answer.coding])).to.deep.equal([
        ['HIT', 'gzip'],
        ['HIT', undefined],
      ]);
      expect(cache.stats().entries).to.equal(2);
    } finally {
      await server.close();
      await cache.close();
    }
  });
});

describe('a compressor inside the cache, on the Redis store', () => {
  const redis = useRedis();

  for (const framework of [FRAMEWORKS[0] as Framework, FRAMEWORKS[2] as Framework]) {
    it(`${framework.name}: one entry per coding class, shared by a second instance on the same Redis and prefix`, async () => {
      const prefix = uniquePrefix('coding');
      const clients = [await connect(redis.server), await connect(redis.server)];
      const caches = clients.map((client) => createCache({ store: redisStore({ client, prefix }) }));
      const servers = await Promise.all(caches.map((cache) => framework.serve(cache)));
      const [one, two] = servers.map((server) => (spelling: string) => get(`${server.url}/page`, asked(spelling))) as [
        (spelling: string) => Promise<Answer>,
        (spelling: string) => Promise<Answer>,
      ];
      try {
        for (const [spelling, coding] of [
          ['gzip, deflate, br', 'br'],
          ['gzip', 'gzip'],
          ['identity', undefined],
        ] as const) {
          const miss = await one(spelling);
          expect([miss.headers['x-cache'], miss.coding, miss.text === PAGE], spelling).to.deep.equal(['MISS', coding, true]);
          expectGoodHit(await one(spelling), coding, `${spelling} (this instance)`);
          expectGoodHit(await two(spelling), coding, `${spelling} (another instance)`);
        }
        expectGoodHit(await two('BR;q=1, gzip;q=0.5'), 'br', 'another spelling');
        expect(await redis.client.keys(`${prefix}e:*`)).to.have.length(3);
        await caches[1]?.expireGroups('pages');
        for (const spelling of ['br', 'gzip', 'identity']) {
          expect((await one(spelling)).headers['x-cache'], spelling).to.equal('MISS');
        }
      } finally {
        for (const server of servers) await server.close();
        for (const cache of caches) await cache.close();
        for (const client of clients) client.disconnect();
      }
    });
  }
});
