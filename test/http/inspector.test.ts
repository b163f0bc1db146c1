import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import Router from '@koa/router';
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import fastify4 from 'fastify4';
import { createCache, defaultCache, type GroupCache } from 'group-cache';
import * as expressAdapter from 'group-cache/express';
import * as fastifyAdapter from 'group-cache/fastify';
import * as honoAdapter from 'group-cache/hono';
import * as koaAdapter from 'group-cache/koa';
import { Hono } from 'hono';
import Koa, { type Context, type Next } from 'koa';
import Koa2 from 'koa2';
import request from 'supertest';

type InspectorOptions = { cache?: GroupCache; showBodies?: boolean; maxDecisions?: number; csrfToken?: string };

interface Setup {
  /** The app, as a Node request listener for supertest. */
  app: RequestListener;
  /** Stops the inspector recording decisions. */
  close(): void;
}

interface Driver {
  name: string;
  /**
   * An app with the inspector under /_cache, a cached route GET /users/:id (key user_<id>, groups user_group_<id>
   * and users) whose body holds a secret, GET /other, and (with `bodyParser`) a JSON body parser mounted first.
   */
  make(options: InspectorOptions, extra?: { bodyParser?: boolean; cacheEverything?: boolean }): Setup;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const secretBody = (id: string) => ({ id, email: `user${id}@example.com`, secret: `s3cret-${id}` });

const expressDriver = (name: string, framework: typeof express): Driver => ({
  name,
  make(options, extra = {}) {
    const cache = options.cache;
    const app = framework();
    if (extra.bodyParser) app.use(framework.json());
    // A route-agnostic groupCache in front of everything, keyed by URL: the inspector must still never be stored.
    if (extra.cacheEverything) app.use(expressAdapter.groupCache(() => ({ groups: ['all'] }), { cache }));
    const inspector = expressAdapter.inspector(options);
    app.use('/_cache', inspector);
    app.get(
      '/users/:id',
      expressAdapter.groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
        cache,
      }),
      (req, res) => {
        res.json(secretBody(String(req.params.id)));
      },
    );
    app.get('/other', (_req, res) => {
      res.send('the app');
    });
    return { app: app as unknown as RequestListener, close: inspector.close };
  },
});

async function jsonBody(ctx: Context, next: Next): Promise<void> {
  if (ctx.is('application/json')) {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    (ctx.request as { body?: unknown }).body = JSON.parse(text);
  }
  await next();
}

const koaDriver = (name: string, Framework: typeof Koa): Driver => ({
  name,
  make(options, extra = {}) {
    const cache = options.cache;
    const app = new Framework();
    const router = new Router();
    if (extra.bodyParser) app.use(jsonBody);
    if (extra.cacheEverything) app.use(koaAdapter.groupCache(() => ({ groups: ['all'] }), { cache }));
    const inspector = koaAdapter.inspector({ ...options, prefix: '/_cache' });
    app.use(inspector);
    router.get(
      '/users/:id',
      koaAdapter.groupCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: [`user_group_${ctx.params.id}`, 'users'] }), {
        cache,
      }),
      (ctx) => {
        ctx.body = secretBody(String(ctx.params.id));
      },
    );
    router.get('/other', (ctx) => {
      ctx.body = 'the app';
    });
    app.use(router.routes());
    return { app: app.callback(), close: inspector.close };
  },
});

const fastifyDriver = (name: string, createApp: typeof Fastify): Driver => ({
  name,
  make(options, extra = {}) {
    const cache = options.cache;
    const app = createApp();
    // Fastify parses JSON bodies itself: `bodyParser` has nothing to add.
    if (extra.cacheEverything)
      app.addHook(
        'onRequest',
        fastifyAdapter.groupCache(() => ({ groups: ['all'] }), { cache }),
      );
    const inspector = fastifyAdapter.inspector(options);
    void app.register(inspector, { prefix: '/_cache' });
    const byId = (request: { params: unknown }) => {
      const { id } = request.params as { id: string };
      return { key: `user_${id}`, groups: [`user_group_${id}`, 'users'] };
    };
    app.get('/users/:id', { onRequest: fastifyAdapter.groupCache(byId, { cache }) }, async (request) =>
      secretBody((request.params as { id: string }).id),
    );
    app.get('/other', async () => 'the app');
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

// A JSON body parser, the Hono way: middleware that reads c.req.json() (Hono keeps what it read for later readers).
const honoDriver: Driver = {
  name: 'Hono',
  make(options, extra = {}) {
    const cache = options.cache;
    const app = new Hono();
    if (extra.bodyParser) {
      app.use(async (c, next) => {
        if (c.req.header('content-type')?.startsWith('application/json')) await c.req.json();
        await next();
      });
    }
    if (extra.cacheEverything) app.use(honoAdapter.groupCache(() => ({ groups: ['all'] }), { cache }));
    const inspector = honoAdapter.inspector({ ...options, prefix: '/_cache' });
    app.use('/_cache', inspector);
    app.use('/_cache/*', inspector);
    app.get(
      '/users/:id',
      honoAdapter.groupCache(
        (c) => ({ key: `user_${c.req.param('id')}`, groups: [`user_group_${c.req.param('id')}`, 'users'] }),
        {
          cache,
        },
      ),
      (c) => c.json(secretBody(c.req.param('id'))),
    );
    app.get('/other', (c) => c.text('the app'));
    return { app: getRequestListener(app.fetch), close: inspector.close };
  },
};

/** The CSRF token the page carries, read as the page's script reads it. */
async function tokenOf(app: RequestListener): Promise<string> {
  const page = await request(app).get('/_cache/');
  const match = /<meta name="group-cache-token" content="([A-Za-z0-9_-]+)">/.exec(page.text);
  expect(match, 'the page carries a token').to.not.equal(null);
  return (match as RegExpExecArray)[1] as string;
}

const DRIVERS = [
  expressDriver('Express', express),
  expressDriver('Express 4', express4 as unknown as typeof express),
  koaDriver('Koa', Koa),
  koaDriver('Koa 2', Koa2 as unknown as typeof Koa),
  fastifyDriver('Fastify', Fastify),
  fastifyDriver('Fastify 4', fastify4 as unknown as typeof Fastify),
  honoDriver,
];

for (const driver of DRIVERS) {
  describe(`inspector() on ${driver.name}`, () => {
    let cache: GroupCache;
    let setup: Setup;
    let app: RequestListener;
    beforeEach(() => {
      cache = createCache();
      setup = driver.make({ cache });
      app = setup.app;
    });
    afterEach(() => {
      setup.close();
    });

    const expire = (token: string | undefined, body: unknown = { groups: ['users'] }) => {
      const post = request(app).post('/_cache/api/expire').set('content-type', 'application/json');
      if (token !== undefined) post.set('x-group-cache-token', token);
      return post.send(JSON.stringify(body));
    };

    describe('routes', () => {
      it('the mount point without its slash redirects to it with one, relative to itself', async () => {
        const res = await request(app).get('/_cache');
        expect(res.status).to.equal(308);
        expect(res.headers.location).to.equal('./_cache/');
      });

      it('GET / serves the page, which loads its script and style from the inspector, under strict headers', async () => {
        const res = await request(app).get('/_cache/');
        expect(res.status).to.equal(200);
        expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
        expect(res.headers['content-security-policy']).to.equal(CSP);
        expect(res.headers['x-content-type-options']).to.equal('nosniff');
        expect(res.headers['cache-control']).to.equal('no-store');
        expect(res.headers['referrer-policy']).to.equal('no-referrer');
        expect(res.headers['x-frame-options']).to.equal('DENY');
        expect(res.text).to.include('<script src="inspector.js" defer></script>');
        expect(res.text).to.include('<link rel="stylesheet" href="inspector.css">');
        expect(res.text, 'no inline script').to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
        expect(res.text, 'no inline style').to.not.match(/<style|\sstyle=/);
      });

      it('serves its script and style as their own files, under the same headers', async () => {
        const js = await request(app).get('/_cache/inspector.js');
        expect(js.status).to.equal(200);
        expect(js.headers['content-type']).to.equal('text/javascript; charset=utf-8');
        expect(js.headers['content-security-policy']).to.equal(CSP);
        expect(js.headers['x-content-type-options']).to.equal('nosniff');
        const css = await request(app).get('/_cache/inspector.css');
        expect(css.status).to.equal(200);
        expect(css.headers['content-type']).to.equal('text/css; charset=utf-8');
        expect(css.headers['cache-control']).to.equal('no-store');
      });

      it('paths that are not the inspector’s go on to the app', async () => {
        expect((await request(app).get('/other')).text).to.equal('the app');
        expect((await request(app).get('/_cache/nothing-here')).status).to.equal(404);
        expect((await request(app).get('/_cachex/api/stats')).status).to.equal(404);
      });

      it('answers 405 to the wrong method', async () => {
        const post = await request(app).post('/_cache/api/stats');
        expect(post.status).to.equal(405);
        expect(post.headers.allow).to.equal('GET, HEAD');
        const get = await request(app).get('/_cache/api/expire');
        expect(get.status).to.equal(405);
        expect(get.headers.allow).to.equal('POST');
      });
    });

    describe('GET /api/stats and /api/decisions', () => {
      it('the counters change with traffic', async () => {
        const before = (await request(app).get('/_cache/api/stats')).body.stats;
        expect([before.hits, before.misses, before.stores]).to.deep.equal([0, 0, 0]);
        await request(app).get('/users/1');
        await request(app).get('/users/1');
        await request(app).get('/users/1').set('authorization', 'Bearer x');
        const res = await request(app).get('/_cache/api/stats');
        expect(res.headers['cache-control']).to.equal('no-store');
        expect(res.headers['content-type']).to.equal('application/json; charset=utf-8');
        const { stats } = res.body;
        expect([stats.hits, stats.misses, stats.stores, stats.bypasses]).to.deep.equal([1, 1, 1, 1]);
        expect(stats.bypassReasons.authorization).to.equal(1);
        expect(stats.entries).to.equal(1);
      });

      it('lists recent decisions with their keys, routes and reasons, and only newer ones after ?since=', async () => {
        await request(app).get('/users/1');
        await request(app).get('/users/1');
        await request(app).get('/users/1').set('authorization', 'Bearer x');
        await cache.expireGroups('users');
        const { body } = await request(app).get('/_cache/api/decisions');
        const seen = body.decisions.map((d: { event: string; key?: string; reason?: string }) => [d.event, d.key, d.reason]);
        expect(seen).to.deep.equal([
          ['miss', 'user_1', undefined],
          ['store', 'user_1', undefined],
          ['hit', 'user_1', undefined],
          ['bypass', undefined, 'Authorization header'],
          ['expire', undefined, undefined],
        ]);
        expect(body.decisions[0].where).to.equal('GET /users/:id');
        expect(body.decisions[4].groups).to.deep.equal(['users']);
        expect(body.seq).to.equal(5);
        const later = await request(app).get('/_cache/api/decisions?since=3');
        expect(later.body.decisions.map((d: { seq: number }) => d.seq)).to.deep.equal([4, 5]);
      });

      it('lists fills that were not stored, with their reason', async () => {
        await cache.getOrSet('nothing', () => undefined);
        const { body } = await request(app).get('/_cache/api/decisions');
        const refusals = body.decisions.filter((d: { event: string }) => d.event === 'not-stored');
        expect(refusals).to.have.length(1);
        expect(refusals[0].key).to.equal('nothing');
        expect(refusals[0].reason).to.match(/^undefined-value: /);
      });

      it('the requests to the inspector itself are never stored, even behind a groupCache() that caches everything', async () => {
        setup.close();
        setup = driver.make({ cache }, { cacheEverything: true });
        app = setup.app;
        const first = await request(app).get('/_cache/api/stats');
        const second = await request(app).get('/_cache/api/stats');
        expect(second.headers['x-cache']).to.not.equal('HIT');
        expect(second.body.stats.misses).to.be.above(first.body.stats.misses);
        expect(second.body.stats.notStoredReasons['no-store']).to.be.at.least(1);
      });
    });

    describe('GET /api/entry', () => {
      it('shows a key’s state, groups and headers, and never its body by default', async () => {
        await request(app).get('/users/1');
        const res = await request(app).get('/_cache/api/entry').query({ key: 'user_1' });
        expect(res.status).to.equal(200);
        expect(res.body).to.include({ key: 'user_1', found: true, state: 'fresh', status: 200 });
        expect(res.body.groups).to.deep.equal(['user_group_1', 'users']);
        expect(res.body.headers.map(([name]: [string]) => name.toLowerCase())).to.include('content-type');
        expect(res.body).to.not.have.property('body');
        expect(res.text).to.not.include('s3cret-1');
      });

      it('shows the body with showBodies: true', async () => {
        setup.close();
        setup = driver.make({ cache, showBodies: true });
        app = setup.app;
        await request(app).get('/users/1');
        const res = await request(app).get('/_cache/api/entry').query({ key: 'user_1' });
        expect(JSON.parse(res.body.body)).to.deep.equal(secretBody('1'));
      });

      it('says why an entry is invalidated', async () => {
        await request(app).get('/users/1');
        await cache.expireGroups('user_group_1');
        const res = await request(app).get('/_cache/api/entry').query({ key: 'user_1' });
        expect(res.body.state).to.equal('invalidated');
        expect(res.body.why).to.include('user_group_1');
      });

      it('answers 404 for a key not held, 400 without a key, 414 for a key past the bound', async () => {
        expect((await request(app).get('/_cache/api/entry').query({ key: 'user_9' })).status).to.equal(404);
        expect((await request(app).get('/_cache/api/entry')).status).to.equal(400);
        const huge = await request(app)
          .get('/_cache/api/entry')
          .query({ key: 'k'.repeat(8193) });
        expect(huge.status).to.equal(414);
      });

      it('a key made of markup comes back as JSON data, and the page has no way to render markup', async () => {
        const xss = '<img src=x onerror=alert(1)>';
        // The key comes from the request: GET /users/<markup> is keyed user_<markup>.
        expect((await request(app).get(`/users/${encodeURIComponent(xss)}`)).status).to.equal(200);
        const decisions = await request(app).get('/_cache/api/decisions');
        expect(decisions.headers['content-type']).to.equal('application/json; charset=utf-8');
        expect(decisions.body.decisions[0].key).to.equal(`user_${xss}`);
        const lookup = await request(app)
          .get('/_cache/api/entry')
          .query({ key: `user_${xss}` });
        expect(lookup.headers['content-type']).to.equal('application/json; charset=utf-8');
        expect(lookup.body.key).to.equal(`user_${xss}`);
        expect((await request(app).get('/_cache/')).text).to.not.include(xss);
        const js = (await request(app).get('/_cache/inspector.js')).text;
        expect(js).to.not.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
        expect(js).to.include('textContent');
      });
    });

    describe('POST /api/expire', () => {
      async function warm(): Promise<void> {
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('MISS');
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('HIT');
      }

      it('with the page’s token and a JSON body: expires the groups, and the next request is a MISS', async () => {
        await warm();
        const res = await expire(await tokenOf(app));
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ expired: ['users'] });
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('MISS');
      });

      it('refuses a request without the token, or with a wrong one (403), and expires nothing', async () => {
        await warm();
        const token = await tokenOf(app);
        expect((await expire(undefined)).status).to.equal(403);
        const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
        expect((await expire(wrong)).status).to.equal(403);
        expect((await expire('short')).status).to.equal(403);
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('HIT');
      });

      it('two inspectors given one csrfToken (instances behind a load balancer) accept each other’s page', async () => {
        const csrfToken = 'x'.repeat(16) + 'Y'.repeat(16);
        const one = driver.make({ cache, csrfToken });
        const two = driver.make({ cache, csrfToken });
        app = two.app;
        const res = await expire(await tokenOf(one.app));
        one.close();
        two.close();
        expect(res.status).to.equal(200);
      });

      it('another inspector’s token does not work here', async () => {
        const other = driver.make({ cache: createCache() });
        const res = await expire(await tokenOf(other.app));
        other.close();
        expect(res.status).to.equal(403);
      });

      it('refuses a body that is not application/json (415), token or not: what a plain HTML form could send', async () => {
        await warm();
        const token = await tokenOf(app);
        for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
          const res = await request(app)
            .post('/_cache/api/expire')
            .set('content-type', type)
            .set('x-group-cache-token', token)
            .send('{"groups":["users"]}');
          expect(res.status, type).to.equal(415);
        }
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('HIT');
      });

      it('refuses cross-site requests: Sec-Fetch-Site other than same-origin, an Origin not matching Host', async () => {
        await warm();
        const token = await tokenOf(app);
        for (const site of ['cross-site', 'same-site', 'none']) {
          const res = await expire(token).set('sec-fetch-site', site);
          expect(res.status, site).to.equal(403);
          expect(res.body.error).to.include('cross-site');
        }
        for (const origin of ['https://evil.example', 'null', 'not a url']) {
          expect((await expire(token).set('origin', origin)).status, origin).to.equal(403);
        }
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('HIT');
      });

      it('accepts a same-origin request as a browser sends it (Origin matching Host, Sec-Fetch-Site: same-origin)', async () => {
        await warm();
        const token = await tokenOf(app);
        const res = await expire(token)
          .set('host', 'admin.example:8080')
          .set('origin', 'https://admin.example:8080')
          .set('sec-fetch-site', 'same-origin');
        expect(res.status).to.equal(200);
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('MISS');
      });

      it('refuses bodies that do not name groups (400), and bodies over 64 KiB (413)', async () => {
        const token = await tokenOf(app);
        for (const body of [{}, { groups: [] }, { groups: [''] }, { groups: [1] }, [], { groups: Array(101).fill('g') }]) {
          expect((await expire(token, body)).status, JSON.stringify(body).slice(0, 40)).to.equal(400);
        }
        const broken = await request(app)
          .post('/_cache/api/expire')
          .set('content-type', 'application/json')
          .set('x-group-cache-token', token)
          .send('{"groups":');
        expect(broken.status).to.equal(400);
        expect((await expire(token, { groups: ['x'.repeat(70_000)] })).status).to.equal(413);
      });

      it('works after a JSON body parser already read the body', async () => {
        setup.close();
        setup = driver.make({ cache }, { bodyParser: true });
        app = setup.app;
        await warm();
        expect((await expire(await tokenOf(app))).status).to.equal(200);
        expect((await request(app).get('/users/1')).headers['x-cache']).to.equal('MISS');
      });

      it('answers 503 when the store cannot record the expiry', async () => {
        const failing = createCache();
        failing.on('error', () => {});
        failing.store.expire = () => Promise.reject(new Error('store down'));
        setup.close();
        setup = driver.make({ cache: failing });
        app = setup.app;
        const res = await expire(await tokenOf(app));
        expect(res.status).to.equal(503);
        expect(res.body.code).to.equal('EEXPIRE');
        await failing.close();
      });
    });

    describe('the decision log', () => {
      it('is bounded by maxDecisions, and long keys are cut', async () => {
        setup.close();
        setup = driver.make({ cache, maxDecisions: 3 });
        app = setup.app;
        for (const id of ['1', '2', '3']) await request(app).get(`/users/${id}`);
        await cache.getOrSet('x'.repeat(2000), () => 1); // a data key: its lookup and store are decisions too
        const { body } = await request(app).get('/_cache/api/decisions');
        expect(body.decisions.map((d: { seq: number }) => d.seq)).to.deep.equal([6, 7, 8]);
        expect(body.decisions[2].key.length).to.equal(513);
      });

      it('stops listening to the cache once closed', async () => {
        const listening = cache.listenerCount('hit');
        expect(listening).to.equal(1);
        setup.close();
        expect(cache.listenerCount('hit')).to.equal(0);
        await request(app).get('/users/1');
        expect((await request(app).get('/_cache/api/decisions')).body.decisions).to.deep.equal([]);
      });

      it('never listens to error: the cache keeps its own fallbacks for errors nobody handles', () => {
        expect(cache.listenerCount('error')).to.equal(0);
      });
    });
  });
}

describe('inspector() options', () => {
  it('uses the process-wide default cache when given none', async () => {
    const app = express();
    const inspector = expressAdapter.inspector();
    app.use('/_cache', inspector);
    app.get(
      '/default',
      expressAdapter.groupCache(() => 'inspector-default-cache'),
      (_req, res) => {
        res.send('x');
      },
    );
    await request(app).get('/default');
    await request(app).get('/default');
    const res = await request(app).get('/_cache/api/stats');
    const decisions = await request(app).get('/_cache/api/decisions');
    inspector.close();
    expect(res.body.stats.hits).to.be.at.least(1).and.equal(defaultCache().stats().hits);
    const keys = decisions.body.decisions.map((d: { event: string; key?: string }) => `${d.event} ${d.key}`);
    expect(keys).to.include.members(['miss inspector-default-cache', 'hit inspector-default-cache']);
  });

  it('refuses unknown options and values of the wrong type with a TypeError naming them', () => {
    expect(() => expressAdapter.inspector({ showBody: true } as never)).to.throw(TypeError, /showBody.*showBodies/);
    expect(() => expressAdapter.inspector({ showBodies: 'yes' } as never)).to.throw(TypeError, /showBodies/);
    expect(() => expressAdapter.inspector({ maxDecisions: 0 })).to.throw(TypeError, /maxDecisions/);
    expect(() => expressAdapter.inspector({ cache: {} as never })).to.throw(TypeError, /cache/);
    const cache = createCache();
    expect(() => expressAdapter.inspector({ cache, csrfToken: 'short' })).to.throw(TypeError, /csrfToken/);
    expect(cache.listenerCount('hit'), 'a refused inspector leaves no listener behind').to.equal(0);
    expect(() => expressAdapter.inspector({ csrfToken: `${'a'.repeat(32)}"><script>` })).to.throw(TypeError, /csrfToken/);
  });

  it('Koa: requires a prefix starting with /, since Koa has no mount path', () => {
    expect(() => koaAdapter.inspector({} as never)).to.throw(TypeError, /prefix/);
    expect(() => koaAdapter.inspector({ prefix: '_cache' })).to.throw(TypeError, /prefix/);
    const inspector = koaAdapter.inspector({ prefix: '/_cache/', cache: createCache() });
    inspector.close();
  });

  it('Koa: a trailing slash on the prefix is the same prefix', async () => {
    const app = new Koa();
    const inspector = koaAdapter.inspector({ prefix: '/admin/cache/', cache: createCache() });
    app.use(inspector);
    const res = await request(app.callback()).get('/admin/cache/api/stats');
    inspector.close();
    expect(res.status).to.equal(200);
    expect((await request(app.callback()).get('/admin/cache')).headers.location).to.equal('./cache/');
  });

  it('Fastify: must be registered under a prefix', async () => {
    const app = Fastify();
    const inspector = fastifyAdapter.inspector({ cache: createCache() });
    void app.register(inspector);
    let error: unknown;
    try {
      await app.ready();
    } catch (failure) {
      error = failure;
    }
    inspector.close();
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.include('prefix');
  });

  it('Fastify: inside a scope that holds the app’s auth, nothing is served without it', async () => {
    const app = Fastify();
    const inspector = fastifyAdapter.inspector({ cache: createCache() });
    void app.register(
      async (admin) => {
        admin.addHook('onRequest', async (request, reply) => {
          if (request.headers.authorization !== 'Bearer admin') return reply.code(401).send();
        });
        await admin.register(inspector);
      },
      { prefix: '/_cache' },
    );
    await app.ready();
    const anonymous = await request(app.server).get('/_cache/api/stats');
    const admin = await request(app.server).get('/_cache/api/stats').set('authorization', 'Bearer admin');
    inspector.close();
    await app.close();
    expect([anonymous.status, admin.status]).to.deep.equal([401, 200]);
  });

  it('Express: behind the app’s own auth, nothing is served without it', async () => {
    const app = express();
    const requireAdmin: RequestHandler = (req, res, next) => {
      if (req.headers.authorization === 'Bearer admin') next();
      else res.status(401).end();
    };
    const inspector = expressAdapter.inspector({ cache: createCache() });
    app.use('/_cache', requireAdmin, inspector);
    const anonymous = await request(app).get('/_cache/api/stats');
    const admin = await request(app).get('/_cache/api/stats').set('authorization', 'Bearer admin');
    inspector.close();
    expect([anonymous.status, admin.status]).to.deep.equal([401, 200]);
  });
});

describe('the demos mount the inspector at /_cache', () => {
  for (const demo of ['express-users.mjs', 'koa-users.mjs']) {
    it(`examples/${demo}`, async () => {
      const child = spawn(process.execPath, [new URL(`../../examples/${demo}`, import.meta.url).pathname], {
        env: { ...process.env, PORT: '0' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        let out = '';
        while (!/on (http:\/\/\S+)/.test(out)) {
          const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
          out += chunk.toString();
        }
        const url = (/on (http:\/\/\S+)/.exec(out) as RegExpExecArray)[1];
        const page = await fetch(`${url}/_cache/`);
        expect(page.status).to.equal(200);
        expect(page.headers.get('content-security-policy')).to.equal(CSP);
        expect(await page.text()).to.include('group-cache inspector');
      } finally {
        const exited = once(child, 'exit');
        child.kill();
        await exited;
      }
    });
  }
});
