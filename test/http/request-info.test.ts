// What a hit reads off the framework's request. `where` (events, messages) and the URL (the default key) are worked
// out only when something asks: on Express every read of a property the router sets on `req` is a megamorphic
// lookup (bench/results/2026-11-25-route-hit-cost.md), so a hit must not pay for names nobody uses. The names
// must still be right whenever they are asked for, on a hit, a miss or a bypass.
import Router from '@koa/router';
import { expect } from 'chai';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import express4 from 'express4';
import { createCache, type GroupCache } from 'group-cache';
import * as onExpress from 'group-cache/express';
import * as onKoa from 'group-cache/koa';
import Koa, { type Context, type Next } from 'koa';
import request from 'supertest';

const WATCHED = ['route', 'baseUrl', 'originalUrl', 'app', '_matchedRoute'];

/**
 * Turns the watched properties of `target` into accessors that count the reads made while `reading.on` is true
 * (the cache's middleware running), and keep whatever the framework stores in them.
 */
function watch(target: object, reading: { on: boolean; reads: string[] }): void {
  for (const name of WATCHED) {
    let value: unknown = (target as Record<string, unknown>)[name];
    Object.defineProperty(target, name, {
      configurable: true,
      enumerable: true,
      get() {
        if (reading.on) reading.reads.push(name);
        return value;
      },
      set(next: unknown) {
        value = next;
      },
    });
  }
}

/** Events that name the request, as `<event> <where>`. */
function named(cache: GroupCache): string[] {
  const seen: string[] = [];
  cache.on('hit', ({ where }) => seen.push(`hit ${where}`));
  cache.on('miss', ({ where }) => seen.push(`miss ${where}`));
  cache.on('bypass', ({ where, reason }) => seen.push(`bypass ${where} (${reason})`));
  return seen;
}

for (const [label, make] of [
  ['Express 5', express],
  ['Express 4', express4 as unknown as typeof express],
] as const) {
  describe(`a hit on ${label} reads no name off req`, () => {
    function app(cache: GroupCache) {
      const reading = { on: false, reads: [] as string[] };
      const cached = onExpress.groupCache(
        (req: Request) =>
          req.params.id === 'anon' ? { groups: ['users'] } : { key: `user_${req.params.id}`, groups: ['users'] },
        { cache },
      );
      // The cache's middleware, with the watched reads counted while it runs (a memory-store hit answers at once).
      const counted: RequestHandler = (req, res, next) => {
        reading.on = true;
        try {
          cached(req, res, next);
        } finally {
          reading.on = false;
        }
      };
      const server = make();
      server.use((req: Request, _res: Response, next: NextFunction) => {
        watch(req, reading);
        next();
      });
      const users = make.Router();
      users.get('/users/:id', counted, (req: Request, res: Response) => {
        res.json({ id: req.params.id });
      });
      server.use('/api', users);
      return { server, reading };
    }

    it('a hit reads none of req.route, req.baseUrl, req.originalUrl and req.app, and still serves the entry', async () => {
      const cache = createCache();
      const { server, reading } = app(cache);
      await request(server).get('/api/users/1').expect('X-Cache', 'MISS');
      reading.reads.length = 0;
      const hit = await request(server).get('/api/users/1').expect(200).expect('X-Cache', 'HIT');
      expect(hit.body).to.deep.equal({ id: '1' });
      expect(reading.reads).to.deep.equal([]);
    });

    it('events still name the route (mount path and pattern) on a miss, a hit and a bypass', async () => {
      const cache = createCache();
      const seen = named(cache);
      const { server, reading } = app(cache);
      await request(server).get('/api/users/2').expect('X-Cache', 'MISS');
      await request(server).get('/api/users/2').expect('X-Cache', 'HIT');
      expect(reading.reads).to.include('route'); // asked for, because a listener wants it
      await request(server).get('/api/users/2').set('Authorization', 'Bearer x').expect('X-Cache', 'BYPASS');
      expect(seen).to.deep.equal([
        'miss GET /api/users/:id',
        'hit GET /api/users/:id',
        'bypass GET /api/users/:id (Authorization header)',
      ]);
    });

    it('a key function that gives groups only still keys on the URL as the client sent it', async () => {
      const cache = createCache();
      const { server } = app(cache);
      await request(server).get('/api/users/anon?b=2&a=1').expect('X-Cache', 'MISS');
      await request(server).get('/api/users/anon?a=1&b=2').expect('X-Cache', 'HIT');
      expect(cache.inspect('GET /api/users/anon?a=1&b=2')).to.not.equal(undefined);
    });

    it('a hit sets the stored status over one a middleware ahead of it set', async () => {
      const cache = createCache();
      const server = make();
      server.get(
        '/teapot',
        (_req: Request, res: Response, next: NextFunction) => {
          res.status(418);
          next();
        },
        onExpress.groupCache(() => 'teapot', { cache }),
        (_req: Request, res: Response) => {
          res.status(200).send('short and stout');
        },
      );
      await request(server).get('/teapot').expect(200).expect('X-Cache', 'MISS');
      await request(server).get('/teapot').expect(200).expect('X-Cache', 'HIT').expect('short and stout');
    });
  });
}

describe('a hit on Koa reads no name off ctx', () => {
  it('a hit reads neither ctx._matchedRoute nor ctx.originalUrl, and events still name the route', async () => {
    const cache = createCache();
    const seen = named(cache);
    const reading = { on: false, reads: [] as string[] };
    const cached = onKoa.groupCache((ctx: Context) => `user_${ctx.params.id}`, { cache });
    const router = new Router({ prefix: '/api' });
    router.get(
      '/users/:id',
      (ctx: Context, next: Next) => {
        reading.on = true;
        try {
          return cached(ctx, next);
        } finally {
          reading.on = false;
        }
      },
      (ctx: Context) => {
        ctx.body = { id: ctx.params.id };
      },
    );
    const app = new Koa();
    app.use((ctx: Context, next: Next) => {
      watch(ctx, reading);
      return next();
    });
    app.use(router.routes());
    const server = app.callback();
    await request(server).get('/api/users/1').expect('X-Cache', 'MISS');
    reading.reads.length = 0;
    cache.removeAllListeners();
    const hit = await request(server).get('/api/users/1').expect(200).expect('X-Cache', 'HIT');
    expect(hit.body).to.deep.equal({ id: '1' });
    expect(reading.reads.filter((name) => name !== 'app')).to.deep.equal([]);
    expect(seen).to.deep.equal(['miss GET /api/users/:id']);
  });
});
