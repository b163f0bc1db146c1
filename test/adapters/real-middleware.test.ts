/*
 * The middleware real apps mount around the cache, and responses that lie about their length (issue 14, items 2,
 * 3 and 4). Each case stored or crashed on the first version.
 */
import { get as httpGet, type RequestListener } from 'node:http';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import Router from '@koa/router';
import { expect } from 'chai';
import compression from 'compression';
import express, { type Request, type Response } from 'express';
import session from 'express-session';
import express4 from 'express4';
import { createCache, type GroupCache } from 'group-cache';
import { groupCache as expressCache, expireGroups as expressExpire } from 'group-cache/express';
import { groupCache as koaCache } from 'group-cache/koa';
import Koa from 'koa';
import compress from 'koa-compress';
import koaSession from 'koa-session';
import Koa2 from 'koa2';
import request from 'supertest';
import { listen } from '../helpers/http.js';

/** GET on a real server that tolerates a response cut short (the client of a truncated body gets a reset). */
function getLoose(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; xcache: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let xcache = '';
    const done = () => resolve({ status, body: Buffer.concat(chunks).toString(), xcache });
    const req = httpGet(url, { headers }, (res) => {
      status = res.statusCode ?? 0;
      xcache = String(res.headers['x-cache'] ?? '');
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', done);
    req.setTimeout(150, () => req.destroy()); // a truncated body never ends: stop waiting for it
  });
}

/**
 * GET `url` accepting `encoding`: the cache's answer, the coding on the wire, and the text. fetch decodes gzip and br
 * itself, so the text must be the page whatever was on the wire.
 */
async function fetchEncoded(
  url: string,
  encoding: string,
): Promise<{ xcache: string | null; coding: string | null; text: string }> {
  const res = await fetch(url, { headers: { 'accept-encoding': encoding } });
  return { xcache: res.headers.get('x-cache'), coding: res.headers.get('content-encoding'), text: await res.text() };
}

/** The page the compression tests serve: long enough for every encoder. */
const PAGE = `<html>${'hello group-cache '.repeat(300)}</html>`;

/** `handler` on a real server, with GET /page accepting an encoding (see fetchEncoded). */
async function servePage(handler: RequestListener) {
  const server = await listen(handler);
  return { url: server.url, fetchAs: (encoding: string) => fetchEncoded(`${server.url}/page`, encoding), close: server.close };
}

const EXPRESS = [
  ['Express 5', () => express()],
  ['Express 4', () => express4() as unknown as express.Express],
] as const;

for (const [version, makeApp] of EXPRESS) {
  describe(`${version} with the middleware real apps mount`, () => {
    let cache: GroupCache;
    beforeEach(() => {
      cache = createCache();
    });
    afterEach(() => cache.close());

    it("express-session: a new visitor's page (its Set-Cookie added after our head check) is never stored", async () => {
      const app = makeApp();
      app.use(session({ secret: 'test secret', resave: false, saveUninitialized: true }));
      app.get(
        '/form',
        expressCache(() => 'form', { cache }),
        (req: Request, res: Response) => {
          res.send(`csrf token for session ${req.session.id}`);
        },
      );
      const alice = await request(app).get('/form');
      expect(alice.headers['set-cookie'], 'express-session set its cookie').to.have.length(1);
      const bob = await request(app).get('/form');
      expect(bob.text).to.not.equal(alice.text);
      expect(bob.headers['x-cache']).to.not.equal('HIT');
      expect(cache.stats().stores).to.equal(0);
    });

    // compression mounted before the cache, serving PAGE.
    function compressedPage() {
      const app = makeApp();
      app.use(compression({ threshold: 0 }));
      app.get(
        '/page',
        expressCache(() => 'page', { cache }),
        (_req: Request, res: Response) => {
          res.type('html').send(PAGE);
        },
      );
      return servePage(app);
    }

    it('compression mounted before the cache: the cache stores identity bytes, every client gets what it accepts', async () => {
      const server = await compressedPage();
      const { fetchAs } = server;
      try {
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'MISS', coding: 'gzip', text: PAGE });
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'HIT', coding: 'gzip', text: PAGE });
        expect(await fetchAs('br')).to.deep.equal({ xcache: 'HIT', coding: 'br', text: PAGE });
        expect(await fetchAs('identity')).to.deep.equal({ xcache: 'HIT', coding: null, text: PAGE });
        expect(await fetchAs('*;q=0'), 'a client that accepts nothing listed gets identity').to.deep.equal({
          xcache: 'HIT',
          coding: null,
          text: PAGE,
        });
        // And on the wire, byte for byte, as a client without fetch's decoding sees it.
        const raw = await new Promise<Buffer>((resolve, reject) => {
          httpGet(`${server.url}/page`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          }).on('error', reject);
        });
        expect(gunzipSync(raw).toString()).to.equal(PAGE);
        expect(cache.stats().stores).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('compression mounted before the cache: an entry first filled for an identity client serves gzip clients too', async () => {
      const server = await compressedPage();
      const { fetchAs } = server;
      try {
        expect(await fetchAs('identity')).to.deep.equal({ xcache: 'MISS', coding: null, text: PAGE });
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'HIT', coding: 'gzip', text: PAGE });
        expect(await fetchAs('gzip, deflate, br')).to.deep.equal({ xcache: 'HIT', coding: 'br', text: PAGE });
        expect(cache.stats().stores).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('a body shorter than its Content-Length is never stored', async () => {
      const app = makeApp();
      app.get(
        '/cut',
        expressCache(() => 'cut', { cache }),
        (_req: Request, res: Response) => {
          res.setHeader('Content-Length', '1000');
          res.setHeader('Content-Type', 'text/plain');
          res.end('fifteen bytes!!');
        },
      );
      const server = await listen(app);
      try {
        const first = await getLoose(`${server.url}/cut`);
        expect(first.body).to.equal('fifteen bytes!!');
        const second = await getLoose(`${server.url}/cut`);
        expect(second.xcache).to.equal('MISS');
        expect(cache.stats().stores).to.equal(0);
      } finally {
        await server.close();
      }
    });

    it('expireGroups(): a handler that calls res.end(42) gets a 500 as without the middleware, and the process lives', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const app = makeApp();
        app.set('env', 'test');
        app.use(expressExpire({ cache }));
        app.get(
          '/users',
          expressCache(() => 'users', { cache }),
          (_req: Request, res: Response) => {
            res.json([]);
          },
        );
        app.put('/bad', (_req: Request, res: Response) => {
          res.locals.expireGroups = 'users';
          (res.end as (chunk: unknown) => void)(42);
        });
        const res = await request(app).put('/bad');
        expect(res.status).to.equal(500);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(unhandled).to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
}

for (const [version, KoaApp] of [
  ['Koa 3', Koa],
  ['Koa 2', Koa2],
] as const) {
  describe(`${version} with the middleware real apps mount`, () => {
    let cache: GroupCache;
    beforeEach(() => {
      cache = createCache();
    });
    afterEach(() => cache.close());

    function appWith(upstream: Koa.Middleware | undefined, handler: Koa.Middleware): Koa {
      const app = new KoaApp();
      app.silent = true;
      app.keys = ['test key'];
      if (upstream) app.use(upstream);
      const router = new Router();
      router.get(
        '/page',
        koaCache(() => 'page', { cache }),
        handler,
      );
      app.use(router.routes());
      return app;
    }

    // koa-compress mounted before the router, serving PAGE.
    const compressedPage = () =>
      servePage(
        appWith(compress({ threshold: 0 }), (ctx) => {
          ctx.type = 'html';
          ctx.body = PAGE;
        }).callback(),
      );

    it('koa-session: a page whose session cookie is set after next() is never stored', async () => {
      const app = appWith(undefined, (ctx) => {
        ctx.session!.views = ((ctx.session!.views as number | undefined) ?? 0) + 1;
        ctx.body = `account page, views ${String(ctx.session!.views)}`;
      });
      app.middleware.unshift(koaSession({ signed: true }, app));
      const alice = await request(app.callback()).get('/page');
      expect(alice.headers['set-cookie']).to.be.an('array');
      const anonymous = await request(app.callback()).get('/page');
      expect(anonymous.headers['x-cache']).to.not.equal('HIT');
      expect(cache.stats().stores).to.equal(0);
    });

    for (const [label, late] of [
      ["ctx.set('Cache-Control', 'private')", (ctx: Koa.Context) => ctx.set('Cache-Control', 'private')],
      ['ctx.cookies.set()', (ctx: Koa.Context) => ctx.cookies.set('sid', 'alice', { signed: false })],
    ] as const) {
      it(`an upstream middleware doing ${label} after next(): not stored`, async () => {
        const app = appWith(
          async (ctx, next) => {
            await next();
            late(ctx);
          },
          (ctx) => {
            ctx.body = 'account page for sid=alice';
          },
        );
        await request(app.callback()).get('/page');
        const anonymous = await request(app.callback()).get('/page');
        expect(anonymous.headers['x-cache']).to.equal('MISS');
        expect(cache.stats().stores).to.equal(0);
      });
    }

    it('an upstream middleware replacing the body after next(): not stored as the old body', async () => {
      const app = appWith(
        async (ctx, next) => {
          await next();
          ctx.body = `${String(ctx.body)} (wrapped)`;
        },
        (ctx) => {
          ctx.body = 'inner';
        },
      );
      expect((await request(app.callback()).get('/page')).text).to.equal('inner (wrapped)');
      const second = await request(app.callback()).get('/page');
      expect(second.text).to.equal('inner (wrapped)');
      expect(cache.stats().stores).to.equal(0);
    });

    it('koa-compress mounted before the router: the cache stores identity bytes, every client gets what it accepts', async () => {
      const server = await compressedPage();
      const { fetchAs } = server;
      try {
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'MISS', coding: 'gzip', text: PAGE });
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'HIT', coding: 'gzip', text: PAGE });
        expect(await fetchAs('br')).to.deep.equal({ xcache: 'HIT', coding: 'br', text: PAGE });
        expect(await fetchAs('identity')).to.deep.equal({ xcache: 'HIT', coding: null, text: PAGE });
        expect(cache.stats().stores).to.equal(1);
      } finally {
        await server.close();
      }
    });

    // koa-compress declares `Vary: Accept-Encoding` before the handler runs: a Vary the cache saw before calling
    // next() is the outer encoder's, so even a first fill for an identity client is one entry for every client.
    it('koa-compress mounted before the router: a first fill for an identity client serves every client', async () => {
      const server = await compressedPage();
      const { fetchAs } = server;
      try {
        expect(await fetchAs('identity')).to.deep.equal({ xcache: 'MISS', coding: null, text: PAGE });
        expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'HIT', coding: 'gzip', text: PAGE });
        expect(await fetchAs('gzip, deflate, br')).to.deep.equal({ xcache: 'HIT', coding: 'br', text: PAGE });
        expect(await fetchAs('identity')).to.deep.equal({ xcache: 'HIT', coding: null, text: PAGE });
        expect(cache.stats().stores).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('a stream that ends before its ctx.length is never stored', async () => {
      const app = appWith(undefined, (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = Readable.from([Buffer.from('fifteen bytes!!')]);
        ctx.length = 1000;
      });
      const server = await listen(app.callback());
      try {
        const first = await getLoose(`${server.url}/page`);
        expect(first.body).to.equal('fifteen bytes!!');
        const second = await getLoose(`${server.url}/page`);
        expect(second.xcache).to.equal('MISS');
        expect(cache.stats().stores).to.equal(0);
      } finally {
        await server.close();
      }
    });
  });
}
