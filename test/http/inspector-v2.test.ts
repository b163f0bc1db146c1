/*
 * Inspector v2 over its JSON API, on every adapter: the per-minute history kept on the server, the per-route
 * table, the decision log's filters and its two rings, and expiry triggers carried from each framework's write
 * middleware to the expiry event (and to onExpire and the inspector). The page itself: inspector-page.test.ts.
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import fastify4 from 'fastify4';
import { type CacheOptions, createCache, type ExpireEvent, type GroupCache } from 'group-cache';
import * as expressAdapter from 'group-cache/express';
import * as fastifyAdapter from 'group-cache/fastify';
import * as koaAdapter from 'group-cache/koa';
import Koa from 'koa';
import Koa2 from 'koa2';
import request from 'supertest';
// The feed and the history are internals: taken from the source, with a cache made there too.
import { createCache as createSourceCache } from '../../lib/engine/cache.js';
import { HitHistory, MINUTE } from '../../lib/http/hit-history.js';
import { InspectorFeed } from '../../lib/http/inspector-feed.js';

type ExpiryNotice = Parameters<NonNullable<CacheOptions['onExpire']>>[0];
type InspectorOptions = { cache?: GroupCache; maxDecisions?: number; historyMinutes?: number; maxRoutes?: number };

interface Setup {
  app: RequestListener;
  close(): void;
}

/**
 * An app with the inspector under /_cache, expireGroups(), cached GET /users/:id (groups user_group_<id>, users)
 * and GET /posts/:id (group posts), and a write PUT /users/:id that expires user_group_<id> and users. With
 * `responseId`, a middleware sets X-Request-Id on every response (as request-id middlewares do).
 */
interface Driver {
  name: string;
  make(options: InspectorOptions & { cache: GroupCache }, extra?: { responseId?: string }): Setup;
}

const body = (id: string) => ({ id, text: 'x'.repeat(100) });

const expressDriver = (name: string, framework: typeof express): Driver => ({
  name,
  make(options, extra = {}) {
    const { cache } = options;
    const app = framework();
    if (extra.responseId !== undefined) {
      const id = extra.responseId;
      app.use((_req, res, next) => {
        res.setHeader('X-Request-Id', id);
        next();
      });
    }
    const inspector = expressAdapter.inspector(options);
    app.use('/_cache', inspector);
    app.use(expressAdapter.expireGroups({ cache }));
    const users = expressAdapter.groupCache(
      (req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }),
      { cache },
    );
    app.get('/users/:id', users, (req, res) => {
      res.json(body(String(req.params.id)));
    });
    app.get(
      '/posts/:id',
      expressAdapter.groupCache((req) => ({ key: `post_${req.params.id}`, groups: ['posts'] }), { cache }),
      (req, res) => {
        res.json(body(String(req.params.id)));
      },
    );
    app.put('/users/:id', (req, res) => {
      res.locals.expireGroups = [`user_group_${req.params.id}`, 'users'];
      res.json({ saved: true });
    });
    return { app: app as unknown as RequestListener, close: inspector.close };
  },
});

const koaDriver = (name: string, Framework: typeof Koa): Driver => ({
  name,
  make(options, extra = {}) {
    const { cache } = options;
    const app = new Framework();
    const router = new Router();
    if (extra.responseId !== undefined) {
      const id = extra.responseId;
      app.use(async (ctx, next) => {
        ctx.set('X-Request-Id', id);
        await next();
      });
    }
    const inspector = koaAdapter.inspector({ ...options, prefix: '/_cache' });
    app.use(inspector);
    app.use(koaAdapter.expireGroups({ cache }));
    router.get(
      '/users/:id',
      koaAdapter.groupCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: [`user_group_${ctx.params.id}`, 'users'] }), {
        cache,
      }),
      (ctx) => {
        ctx.body = body(String(ctx.params.id));
      },
    );
    router.get(
      '/posts/:id',
      koaAdapter.groupCache((ctx) => ({ key: `post_${ctx.params.id}`, groups: ['posts'] }), { cache }),
      (ctx) => {
        ctx.body = body(String(ctx.params.id));
      },
    );
    router.put('/users/:id', (ctx) => {
      ctx.state.expireGroups = [`user_group_${ctx.params.id}`, 'users'];
      ctx.body = { saved: true };
    });
    app.use(router.routes());
    return { app: app.callback(), close: inspector.close };
  },
});

const fastifyDriver = (name: string, createApp: typeof Fastify): Driver => ({
  name,
  make(options, extra = {}) {
    const { cache } = options;
    const app = createApp();
    if (extra.responseId !== undefined) {
      const id = extra.responseId;
      app.addHook('onRequest', async (_request, reply) => {
        reply.header('X-Request-Id', id);
      });
    }
    const inspector = fastifyAdapter.inspector(options);
    void app.register(inspector, { prefix: '/_cache' });
    void app.register(fastifyAdapter.expireGroups({ cache }));
    const id = (request: { params: unknown }) => (request.params as { id: string }).id;
    void app.after(() => {
      app.get(
        '/users/:id',
        {
          onRequest: fastifyAdapter.groupCache((r) => ({ key: `user_${id(r)}`, groups: [`user_group_${id(r)}`, 'users'] }), {
            cache,
          }),
        },
        async (r) => body(id(r)),
      );
      app.get(
        '/posts/:id',
        { onRequest: fastifyAdapter.groupCache((r) => ({ key: `post_${id(r)}`, groups: ['posts'] }), { cache }) },
        async (r) => body(id(r)),
      );
      app.put('/users/:id', async (r, reply) => {
        reply.expireGroups = [`user_group_${id(r)}`, 'users'];
        return { saved: true };
      });
    });
    const ready = app.ready();
    const listener: RequestListener = (req, res) => {
      ready.then(
        () => app.routing(req, res),
        (error: unknown) => res.destroy(error as Error),
      );
    };
    return { app: listener, close: inspector.close };
  },
});

const DRIVERS = [
  expressDriver('Express', express),
  expressDriver('Express 4', express4 as unknown as typeof express),
  koaDriver('Koa', Koa),
  koaDriver('Koa 2', Koa2 as unknown as typeof Koa),
  fastifyDriver('Fastify', Fastify),
  fastifyDriver('Fastify 4', fastify4 as unknown as typeof Fastify),
];

/** A cache on a clock the test moves (ms since the epoch). */
function clockedCache(start = Date.UTC(2026, 0, 1, 9, 0, 0)) {
  const clock = { now: start };
  const cache = createCache({ now: () => clock.now, ttl: 10 * 60_000 });
  return { cache, clock };
}

/** Resolves once the cache has counted `stores` stores (a miss is stored after its response went out). */
async function storesReach(cache: GroupCache, stores: number): Promise<void> {
  while (cache.stats().stores < stores) await new Promise((resolve) => setTimeout(resolve, 5));
}

interface RouteRow {
  route: string;
  requests: number;
  hits: number;
  misses: number;
  invalidated: number;
  bypasses: number;
  bypassReasons: Record<string, number>;
  stores: number;
  hitRatio: number | null;
  bytesFromCache: number;
  meanFillMs: number | null;
  savedMs: number | null;
}

for (const driver of DRIVERS) {
  describe(`inspector v2 on ${driver.name}`, () => {
    let setup: Setup;
    afterEach(() => setup?.close());

    it('api/history: one bucket per minute with traffic, kept on the server, the last historyMinutes only', async () => {
      const { cache, clock } = clockedCache();
      setup = driver.make({ cache, historyMinutes: 3 });
      const start = clock.now;
      for (let minute = 0; minute < 5; minute++) {
        clock.now = start + minute * 60_000 + 1_000;
        await request(setup.app).get(`/users/${minute}`).expect(200); // a miss
        await storesReach(cache, minute + 1);
        await request(setup.app).get(`/users/${minute}`).expect(200); // a hit
        await request(setup.app).get(`/users/${minute}`).expect(200); // a hit
      }
      const { body } = await request(setup.app).get('/_cache/api/history').expect(200);
      expect(body.minutes).to.equal(3);
      expect(body.at).to.equal(clock.now);
      const minutes = body.buckets.map((b: { at: number }) => (b.at - start) / 60_000);
      expect(minutes).to.deep.equal([2, 3, 4]);
      for (const bucket of body.buckets) expect(bucket).to.include({ hits: 2, misses: 1, stale: 0, bypasses: 0 });
    });

    it('api/routes: per route pattern, requests, hit ratio, bypasses by reason, bytes from cache, time saved; most handler runs first', async () => {
      const { cache } = clockedCache();
      setup = driver.make({ cache });
      await request(setup.app).get('/posts/1').expect(200);
      await storesReach(cache, 1);
      await request(setup.app).get('/posts/1').expect(200);
      for (const id of ['1', '2']) await request(setup.app).get(`/users/${id}`).expect(200);
      await storesReach(cache, 3);
      await request(setup.app).get('/users/1').set('authorization', 'Bearer t').expect(200);
      const hit = await request(setup.app).get('/users/1').expect(200);
      const { body } = await request(setup.app).get('/_cache/api/routes').expect(200);
      expect(body.maxRoutes).to.equal(100);
      const routes = body.routes as RouteRow[];
      expect(routes.map((r) => r.route)).to.deep.equal(['GET /users/:id', 'GET /posts/:id']);
      const [users, posts] = routes as [RouteRow, RouteRow];
      expect(users).to.include({ requests: 4, hits: 1, misses: 2, bypasses: 1, stores: 2, hitRatio: 1 / 3 });
      expect(users.bypassReasons).to.deep.equal({ authorization: 1 });
      expect(users.bytesFromCache).to.equal(Buffer.byteLength(hit.text));
      expect(users.meanFillMs).to.be.a('number').and.above(0);
      expect(users.savedMs).to.equal(users.meanFillMs);
      expect(posts).to.include({ requests: 2, hits: 1, misses: 1, bypasses: 0, hitRatio: 0.5 });
    });

    it('api/routes is capped at maxRoutes: later routes share one (other routes) row', async () => {
      const { cache } = clockedCache();
      setup = driver.make({ cache, maxRoutes: 1 });
      await request(setup.app).get('/users/1').expect(200);
      await request(setup.app).get('/posts/1').expect(200);
      await request(setup.app).get('/posts/2').expect(200);
      await storesReach(cache, 3);
      const { body } = await request(setup.app).get('/_cache/api/routes').expect(200);
      expect(body.routes.map((r: RouteRow) => [r.route, r.misses])).to.deep.equal([
        ['GET /users/:id', 1],
        ['(other routes)', 2],
      ]);
    });

    it('api/decisions filters by outcome, route and key text; hits never push the other decisions out', async () => {
      const { cache } = clockedCache();
      setup = driver.make({ cache, maxDecisions: 5 });
      await request(setup.app).get('/posts/7').expect(200);
      await storesReach(cache, 1);
      await request(setup.app).get('/users/1').expect(200);
      await storesReach(cache, 2);
      for (let i = 0; i < 20; i++) await request(setup.app).get('/users/1').expect(200);
      const all = (await request(setup.app).get('/_cache/api/decisions').expect(200)).body.decisions;
      // five hits (their ring), and the misses and stores (the other ring), in order
      expect(all.map((d: { event: string }) => d.event)).to.deep.equal([
        'miss',
        'store',
        'miss',
        'store',
        'hit',
        'hit',
        'hit',
        'hit',
        'hit',
      ]);
      const misses = (await request(setup.app).get('/_cache/api/decisions?event=miss,store').expect(200)).body.decisions;
      expect(misses.map((d: { event: string; key: string }) => `${d.event} ${d.key}`)).to.have.members([
        'miss post_7',
        'miss user_1',
        'store post_7',
        'store user_1',
      ]);
      const route = encodeURIComponent('GET /posts/:id');
      const posts = (await request(setup.app).get(`/_cache/api/decisions?route=${route}`).expect(200)).body.decisions;
      expect(posts.map((d: { event: string }) => d.event)).to.deep.equal(['miss', 'store']);
      const text = (await request(setup.app).get('/_cache/api/decisions?q=POST_7').expect(200)).body.decisions;
      expect(text.map((d: { key: string }) => d.key)).to.deep.equal(['post_7', 'post_7']);
      await request(setup.app).get('/_cache/api/decisions?event=hits').expect(400, { error: 'unknown event "hits"' });
      await request(setup.app)
        .get(`/_cache/api/decisions?q=${'x'.repeat(513)}`)
        .expect(400);
    });

    it('an expiry made by a write names its trigger: method, route pattern, status, X-Request-Id, and how many groups', async () => {
      const notices: ExpiryNotice[] = [];
      const cache = createCache({ onExpire: (notice) => void notices.push(notice) });
      const events: ExpireEvent[] = [];
      cache.on('expire', (event) => events.push(event));
      setup = driver.make({ cache });
      await request(setup.app).put('/users/42').set('x-request-id', 'req-abc-123').expect(200);
      const trigger = { method: 'PUT', route: '/users/:id', status: 200, requestId: 'req-abc-123' };
      expect(events).to.deep.equal([{ groups: ['user_group_42', 'users'], keys: [], trigger }]);
      const { body } = await request(setup.app).get('/_cache/api/decisions?event=expire').expect(200);
      expect(body.decisions).to.have.length(1);
      expect(body.decisions[0]).to.include({ event: 'expire', where: 'PUT /users/:id', groupCount: 2, keyCount: 0 });
      expect(body.decisions[0].trigger).to.deep.equal(trigger);
      expect(notices).to.deep.equal([
        { groups: ['user_group_42', 'users'], keys: [], cdnTags: ['user_group_42', 'users'], trigger },
      ]);
    });

    it('the request id comes from the response when the request has none, and a long one is cut', async () => {
      const { cache } = clockedCache();
      const events: ExpireEvent[] = [];
      cache.on('expire', (event) => events.push(event));
      setup = driver.make({ cache }, { responseId: 'from-the-response' });
      await request(setup.app).put('/users/1').expect(200);
      expect(events[0]?.trigger?.requestId).to.equal('from-the-response');
      await request(setup.app).put('/users/2').set('x-request-id', 'r'.repeat(5000)).expect(200);
      expect(events[1]?.trigger?.requestId).to.equal(`${'r'.repeat(128)}…`);
    });

    it('an expiry from the page names the inspector as its trigger', async () => {
      const { cache } = clockedCache();
      const events: ExpireEvent[] = [];
      cache.on('expire', (event) => events.push(event));
      setup = driver.make({ cache });
      const page = await request(setup.app).get('/_cache/');
      const token = /name="group-cache-token" content="([^"]+)"/.exec(page.text)?.[1] as string;
      await request(setup.app)
        .post('/_cache/api/expire')
        .set({ 'content-type': 'application/json', 'x-group-cache-token': token, 'x-request-id': 'ops-1' })
        .send(JSON.stringify({ groups: ['users'] }))
        .expect(200);
      expect(events).to.deep.equal([
        {
          groups: ['users'],
          keys: [],
          trigger: { method: 'POST', route: '/_cache/api/expire', status: 200, requestId: 'ops-1' },
        },
      ]);
    });
  });
}

describe('inspector v2 options and bounds', () => {
  it('historyMinutes and maxRoutes must be positive integers within their bounds', () => {
    const cache = createCache();
    expect(() => expressAdapter.inspector({ cache, historyMinutes: 0 })).to.throw(
      TypeError,
      /historyMinutes must be a positive integer/,
    );
    expect(() => expressAdapter.inspector({ cache, historyMinutes: 10_081 })).to.throw(
      TypeError,
      /historyMinutes must be at most 10080/,
    );
    expect(() => expressAdapter.inspector({ cache, maxRoutes: 1.5 })).to.throw(TypeError, /maxRoutes must be a positive integer/);
    expect(() => expressAdapter.inspector({ cache, maxRoutes: 10_001 })).to.throw(TypeError, /maxRoutes must be at most 10000/);
    expect(cache.listenerCount('hit')).to.equal(0);
  });

  it('a flood of distinct paths on an app-wide groupCache() stays within maxRoutes rows', async () => {
    const cache = createCache();
    const app = express();
    const inspector = expressAdapter.inspector({ cache, maxRoutes: 10 });
    app.use('/_cache', inspector);
    app.use(expressAdapter.groupCache(() => ({ groups: ['all'] }), { cache }));
    app.get('/*splat', (_req, res) => {
      res.send('ok');
    });
    try {
      for (let i = 0; i < 50; i++) await request(app).get(`/page-${i}`).expect(200);
      const { body } = await request(app).get('/_cache/api/routes').expect(200);
      expect(body.routes).to.have.length(11);
      expect(body.routes.at(-1)).to.include({ route: '(other routes)', misses: 40 });
    } finally {
      inspector.close();
    }
  });
});

describe('what the inspector keeps is bounded whatever the events', () => {
  const long = (prefix: string, i: number) => `${prefix}${i}-${'x'.repeat(600)}`;

  it('the decision rings hold maxDecisions each; an expiry keeps 20 names, each cut, and counts the rest', () => {
    const cache = createSourceCache();
    const feed = new InspectorFeed(cache, { decisions: 50, historyMinutes: 10, routes: 5 });
    feed.start();
    try {
      for (let i = 0; i < 300; i++) {
        cache.emit('hit', { key: long('k', i), where: long('GET /r', i), bytes: 1 });
        const groups = Array.from({ length: 100 }, (_, j) => long('g', j));
        cache.emit('expire', { groups, keys: [], trigger: { method: 'PUT', route: '/r', status: 200 } });
      }
      const kept = feed.log.recent();
      expect(kept.filter((d) => d.event === 'hit')).to.have.length(50);
      const expiries = kept.filter((d) => d.event === 'expire');
      expect(expiries).to.have.length(50);
      for (const d of expiries) {
        expect(d.groups).to.have.length(20);
        expect(d).to.include({ groupCount: 100, more: 80 });
        for (const name of d.groups ?? []) expect(name).to.have.length(513);
      }
      for (const d of kept) expect(d.key?.length ?? 0).to.be.at.most(513);
      expect(feed.routes.report()).to.have.length(6); // five routes, and the others' row
      expect(feed.history.buckets(cache.now())).to.have.length(1);
    } finally {
      feed.stop();
    }
  });

  it('the history ring never holds more than historyMinutes buckets, and a clock stepped back counts in the latest', () => {
    const history = new HitHistory(4);
    for (let minute = 0; minute < 100; minute++) history.count('hits', minute * MINUTE);
    history.count('misses', 10 * MINUTE); // a clock set back 89 minutes
    const buckets = history.buckets(99 * MINUTE);
    expect(buckets.map((b) => b.at / MINUTE)).to.deep.equal([96, 97, 98, 99]);
    expect(buckets.at(-1)).to.include({ hits: 1, misses: 1 });
  });
});
