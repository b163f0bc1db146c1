// The cache mounted app-wide, ahead of the routes (README "Performance"): a hit is answered before route matching,
// the key function reads the path itself, and what is mounted before the cache (auth) still runs on every hit.
import Router from '@koa/router';
import { expect } from 'chai';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import express4 from 'express4';
import { createCache, type GroupCache } from 'group-cache';
import * as onExpress from 'group-cache/express';
import * as onKoa from 'group-cache/koa';
import Koa, { type Context, type Next } from 'koa';
import Koa2 from 'koa2';
import request from 'supertest';
import { type RawResponse, sendRaw } from '../helpers/http.js';

/** The user id of `/users/<id>` on a GET, else undefined: what a key function ahead of the router parses itself. */
function userId(method: string, path: string): string | undefined {
  const match = /^\/users\/([^/]+)$/.exec(path);
  return method === 'GET' && match !== null ? match[1] : undefined;
}

const keyOf = (id: string | undefined) => (id === undefined ? null : { key: `user_${id}`, groups: [`user_group_${id}`] });

interface Counts {
  /** Runs of the route's own chain (a route middleware and the handler). */
  route: number;
  handler: number;
  auth: number;
}

interface Mounted {
  server: Parameters<typeof request>[0];
  counts: Counts;
  cache: GroupCache;
  names: Map<string, string>;
}

// Auth first, then the cache (app-wide), then the routes: the order the README gives.
function expressApp(make: typeof express): Mounted {
  const cache = createCache();
  const counts: Counts = { route: 0, handler: 0, auth: 0 };
  const names = new Map<string, string>();
  const app: Express = make();
  app.use((req: Request, res: Response, next: NextFunction) => {
    counts.auth++;
    if (req.headers['x-api-key'] !== 'ok') res.status(401).send('no');
    else next();
  });
  app.use(onExpress.groupCache((req) => keyOf(userId(req.method, req.path)), { cache }));
  const routeMiddleware = (_req: Request, _res: Response, next: NextFunction) => {
    counts.route++;
    next();
  };
  app.get('/users/:id', routeMiddleware, (req, res) => {
    counts.handler++;
    res.json({ id: req.params.id, name: names.get(req.params.id as string) ?? 'first' });
  });
  app.put('/users/:id', onExpress.expireGroups({ cache }), (req, res) => {
    names.set(req.params.id as string, 'renamed');
    res.locals.expireGroups = [`user_group_${req.params.id}`];
    res.json({ ok: true });
  });
  app.get('/other', (_req, res) => {
    counts.handler++;
    res.send('other');
  });
  return { server: app, counts, cache, names };
}

function koaApp(KoaApp: typeof Koa): Mounted {
  const cache = createCache();
  const counts: Counts = { route: 0, handler: 0, auth: 0 };
  const names = new Map<string, string>();
  const app = new KoaApp();
  const router = new Router();
  app.use(async (ctx: Context, next: Next) => {
    counts.auth++;
    if (ctx.get('x-api-key') !== 'ok') {
      ctx.status = 401;
      ctx.body = 'no';
      return;
    }
    await next();
  });
  app.use(onKoa.groupCache((ctx) => keyOf(userId(ctx.method, ctx.path)), { cache }));
  router.get(
    '/users/:id',
    (_ctx, next) => {
      counts.route++;
      return next();
    },
    (ctx) => {
      counts.handler++;
      ctx.body = { id: ctx.params.id, name: names.get(ctx.params.id as string) ?? 'first' };
    },
  );
  router.put('/users/:id', onKoa.expireGroups({ cache }), (ctx) => {
    names.set(ctx.params.id as string, 'renamed');
    ctx.state.expireGroups = [`user_group_${ctx.params.id}`];
    ctx.body = { ok: true };
  });
  router.get('/other', (ctx) => {
    counts.handler++;
    ctx.body = 'other';
  });
  app.use(router.routes());
  return { server: app.callback(), counts, cache, names };
}

const apps: [string, () => Mounted][] = [
  ['Express 5', () => expressApp(express)],
  ['Express 4', () => expressApp(express4 as unknown as typeof express)],
  ['Koa 3', () => koaApp(Koa)],
  ['Koa 2', () => koaApp(Koa2 as unknown as typeof Koa)],
];

// An API key, not Authorization: a request with Authorization bypasses the cache unless the route opts in.
const AUTH = { 'x-api-key': 'ok' };

for (const [name, make] of apps) {
  describe(`${name}: groupCache mounted app-wide, ahead of the routes`, () => {
    let mounted: Mounted;
    const get = (path: string, headers: Record<string, string> = AUTH): Promise<RawResponse> =>
      sendRaw(request(mounted.server).get(path), headers);

    beforeEach(() => {
      mounted = make();
    });
    afterEach(async () => {
      await mounted.cache.close();
    });

    it('answers a hit before route matching: neither the route middleware nor the handler runs', async () => {
      const first = await get('/users/1');
      expect(first.headers['x-cache']).to.equal('MISS');
      expect(mounted.counts).to.include({ route: 1, handler: 1 });
      const second = await get('/users/1');
      expect(second.headers['x-cache']).to.equal('HIT');
      expect(second.body.toString()).to.equal(first.body.toString());
      expect(JSON.parse(second.body.toString())).to.deep.equal({ id: '1', name: 'first' });
      expect(mounted.counts).to.include({ route: 1, handler: 1 });
      // Another id is another key.
      expect((await get('/users/2')).headers['x-cache']).to.equal('MISS');
    });

    it('passes a path its key function does not cache straight to the routes', async () => {
      for (let i = 0; i < 2; i++) {
        const other = await get('/other');
        expect(other.body.toString()).to.equal('other');
        expect(other.headers['x-cache']).to.equal('BYPASS');
      }
      expect(mounted.counts.handler).to.equal(2);
    });

    it('still runs what is mounted before it on every hit (an unauthenticated hit is refused)', async () => {
      await get('/users/1');
      expect((await get('/users/1')).headers['x-cache']).to.equal('HIT');
      const refused = await get('/users/1', {});
      expect(refused.status).to.equal(401);
      expect(refused.headers['x-cache']).to.equal(undefined);
      expect(mounted.counts.auth).to.equal(3);
    });

    it('a write route with expireGroups() expires the page: the next read is a miss with the new data', async () => {
      await get('/users/1');
      expect((await get('/users/1')).headers['x-cache']).to.equal('HIT');
      const write = await sendRaw(request(mounted.server).put('/users/1'), AUTH);
      expect(write.status).to.equal(200);
      const after = await get('/users/1');
      expect(after.headers['x-cache']).to.equal('MISS');
      expect(JSON.parse(after.body.toString())).to.deep.equal({ id: '1', name: 'renamed' });
      expect(mounted.counts.handler).to.equal(2);
    });
  });
}
