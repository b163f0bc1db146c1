/*
 * Mistakes are loud (issue 15): each of these used to leave stale data or do nothing, without a word.
 */
import { execFileSync } from 'node:child_process';
import Router from '@koa/router';
import { expect } from 'chai';
import express, { type Request, type Response } from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import fastify4 from 'fastify4';
import { createCache, type GroupCache, type GroupCacheError, MAX_TTL, memoryStore, setDefaultCache } from 'group-cache';
import { addExpireGroups as expressAdd, groupCache as expressCache, expireGroups as expressExpire } from 'group-cache/express';
import { addExpireGroups as fastifyAdd, groupCache as fastifyCache, expireGroups as fastifyExpire } from 'group-cache/fastify';
import { addExpireGroups as koaAdd, groupCache as koaCache, expireGroups as koaExpire } from 'group-cache/koa';
import { redisStore } from 'group-cache/redis';
import { Redis } from 'ioredis';
import Koa from 'koa';
import request from 'supertest';

/** Collects the process warnings emitted with `code` while `run` runs. */
async function warningsDuring(code: string, run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error & { code?: string }) => {
    if (warning.code === code) seen.push(warning.message);
  };
  process.on('warning', listener);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

function errorsOf(cache: GroupCache): GroupCacheError[] {
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  return errors;
}

describe('unknown options throw a TypeError naming the option and the closest known one', () => {
  const client = new Redis({ lazyConnect: true });
  after(() => client.disconnect());
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'createCache({ tll })',
      () => createCache({ tll: 5 } as object),
      /unknown option tll for createCache\(\) \(did you mean ttl\?\)/,
    ],
    [
      'createCache({ storeTimout })',
      () => createCache({ storeTimout: 5 } as object),
      /unknown option storeTimout .*did you mean storeTimeout\?/,
    ],
    ['memoryStore({ maxByte })', () => memoryStore({ maxByte: 5 } as object), /unknown option maxByte .*did you mean maxBytes\?/],
    [
      'redisStore({ prefx })',
      () => redisStore({ client, prefx: 'x' } as unknown as Parameters<typeof redisStore>[0]),
      /unknown option prefx for redisStore\(\) \(did you mean prefix\?\)/,
    ],
    [
      'groupCache(fn, { ttll }) (Express)',
      () => expressCache(() => 'k', { ttll: 5 } as object),
      /unknown option ttll for groupCache\(\) \(did you mean ttl\?\)/,
    ],
    [
      'groupCache(fn, { allowAuthorisation }) (Koa)',
      () => koaCache(() => 'k', { allowAuthorisation: true } as object),
      /did you mean allowAuthorization\?/,
    ],
    [
      'expireGroups({ onErorr })',
      () => expressExpire({ onErorr: 'fail' } as object),
      /unknown option onErorr for expireGroups\(\) \(did you mean onError\?\)/,
    ],
    [
      'expireGroups({ zzzzzzzz }) lists the known ones',
      () => koaExpire({ zzzzzzzz: 1 } as object),
      /known options: cache, succeeded, onError/,
    ],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => {
      expect(make).to.throw(TypeError, message);
    });
  }
});

describe('ttl is bounded: at most MAX_TTL (one year)', () => {
  it('createCache, groupCache and a key function all refuse a longer one', async () => {
    expect(MAX_TTL).to.equal(365 * 24 * 3600 * 1000);
    expect(() => createCache({ ttl: Number.MAX_VALUE })).to.throw(TypeError, /option ttl must be at most 31536000000 ms/);
    expect(() => createCache({ ttl: MAX_TTL })).to.not.throw();
    expect(() => expressCache(() => 'k', { ttl: MAX_TTL + 1 })).to.throw(TypeError, /option ttl must be at most/);
    const cache = createCache();
    const errors = errorsOf(cache);
    const app = express();
    app.get(
      '/t',
      expressCache(() => ({ key: 't', ttl: Number.MAX_VALUE }), { cache }),
      (_req, res) => res.send('t'),
    );
    const res = await request(app).get('/t');
    expect(res.status).to.equal(200);
    expect(res.headers['x-cache']).to.equal('BYPASS');
    expect(errors[0]?.code).to.equal('EKEYFUNCTION');
    expect(errors[0]?.message).to.match(/at most 31536000000/);
  });
});

describe('expireGroups() on a cache no route reads from, while another cache has routes', () => {
  it('warns once (EMISUSE), naming the fix', async () => {
    const reading = createCache();
    const writing = createCache();
    const app = express();
    app.use(expressExpire({ cache: writing }));
    app.get(
      '/r',
      expressCache(() => ({ key: 'r', groups: ['g'] }), { cache: reading }),
      (_req, res) => res.send('r'),
    );
    app.put('/r', (_req, res) => {
      res.locals.expireGroups = 'g';
      res.send('w');
    });
    const warnings = await warningsDuring('EMISUSE', async () => {
      await request(app).get('/r');
      await request(app).put('/r');
      await request(app).put('/r');
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/no groupCache\(\) route reads from.*setDefaultCache\(\)/);
    expect((await request(app).get('/r')).headers['x-cache'], 'the mistake it points at').to.equal('HIT');
  });
});

describe('setDefaultCache()', () => {
  it('makes one cache the default of every groupCache() and expireGroups() given none (fresh process)', () => {
    const script = `
      import express from 'express';
      import { createCache, setDefaultCache } from 'group-cache';
      import { expireGroups, groupCache } from 'group-cache/express';
      const cache = createCache({ header: 'X-Mine' });
      setDefaultCache(cache);
      const app = express();
      app.use(expireGroups());
      app.get('/r', groupCache(() => ({ key: 'r', groups: ['g'] })), (_req, res) => res.send('r'));
      app.put('/r', (_req, res) => { res.locals.expireGroups = 'g'; res.send('w'); });
      const server = app.listen(0, async () => {
        const url = 'http://127.0.0.1:' + server.address().port + '/r';
        const seen = [];
        for (const method of ['GET', 'GET', 'PUT', 'GET']) seen.push((await fetch(url, { method })).headers.get('x-mine'));
        let late = 'no error';
        try { setDefaultCache(createCache()); } catch (error) { late = error.message; }
        console.log(JSON.stringify({ seen, stats: cache.stats().stores, late }));
        server.close();
      });`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
    }).toString();
    const result = JSON.parse(out) as { seen: Array<string | null>; stats: number; late: string };
    expect(result.seen).to.deep.equal(['MISS', 'HIT', null, 'MISS']);
    expect(result.stats).to.equal(2);
    expect(result.late).to.match(/called after a groupCache\(\) or expireGroups\(\) already took the default cache/);
  });

  it('rejects what is not a cache', () => {
    expect(() => setDefaultCache({} as GroupCache)).to.throw(TypeError, /argument cache must be a cache/);
  });
});

for (const [version, makeApp] of [
  ['Express 5', () => express()],
  ['Express 4', () => express4() as unknown as express.Express],
] as const) {
  describe(`${version}: expireGroups() that no write reaches`, () => {
    it('app.use(expireGroups()) mounted after the routes is reported (EMISUSE) on the first request', async () => {
      const cache = createCache();
      const errors = errorsOf(cache);
      const app = makeApp();
      app.get(
        '/r',
        expressCache(() => 'r', { cache }),
        (_req: Request, res: Response) => res.send('r'),
      );
      app.use(expressExpire({ cache }));
      const warnings = await warningsDuring('EMISUSE', async () => {
        await request(app).get('/r');
        await request(app).get('/r');
      });
      expect(errors.map((error) => error.code)).to.deep.equal(['EMISUSE']);
      expect(errors[0]?.message).to.match(/mounted after the routes.*Mount it before the routes/);
      expect(warnings).to.have.length(1);
    });

    it('one middleware in two apps: the second app is checked on its first miss (a hit reads no req.app)', async () => {
      const cache = createCache();
      const errors = errorsOf(cache);
      const cached = expressCache((req: Request) => `r${String(req.query.n)}`, { cache });
      const good = makeApp();
      good.use(expressExpire({ cache }));
      good.get('/r', cached, (_req: Request, res: Response) => res.send('r'));
      const late = makeApp();
      late.get('/r', cached, (_req: Request, res: Response) => res.send('r'));
      late.use(expressExpire({ cache }));
      await request(good).get('/r?n=1').expect('X-Cache', 'MISS');
      await warningsDuring('EMISUSE', async () => {
        await request(late).get('/r?n=1').expect('X-Cache', 'HIT');
        expect(errors).to.deep.equal([]);
        await request(late).get('/r?n=2').expect('X-Cache', 'MISS');
      });
      expect(errors.map((error) => error.code)).to.deep.equal(['EMISUSE']);
    });

    it('mounted before the routes (app-wide or per route): nothing is reported', async () => {
      const cache = createCache();
      const errors = errorsOf(cache);
      const app = makeApp();
      app.use(expressExpire({ cache }));
      app.get(
        '/r',
        expressCache(() => 'r', { cache }),
        (_req: Request, res: Response) => res.send('r'),
      );
      app.put('/w', expressExpire({ cache }), (_req: Request, res: Response) => res.send('w'));
      await request(app).get('/r');
      expect(errors).to.deep.equal([]);
    });

    it('addExpireGroups() on a request no expireGroups() sees throws EMISUSE: the write fails instead of going stale', async () => {
      const app = makeApp();
      app.set('env', 'test');
      app.put('/w', (_req: Request, res: Response) => {
        expressAdd(res, 'users');
        res.send('written');
      });
      let thrown: unknown;
      app.use((error: unknown, _req: Request, res: Response, _next: unknown) => {
        thrown = error;
        res.status(500).send('error');
      });
      expect((await request(app).put('/w')).status).to.equal(500);
      expect((thrown as GroupCacheError).code).to.equal('EMISUSE');
      expect((thrown as Error).message).to.match(
        /no expireGroups\(\) middleware sees.*Mount app\.use\(expireGroups\(\)\) before/,
      );
    });
  });
}

describe('Koa: expireGroups() that no write reaches', () => {
  it('app.use(expireGroups()) after the router is reported (EMISUSE) on the first request', async () => {
    const cache = createCache();
    const errors = errorsOf(cache);
    const app = new Koa();
    const router = new Router();
    router.get(
      '/r',
      koaCache(() => 'r', { cache }),
      (ctx) => {
        ctx.body = 'r';
      },
    );
    app.use(router.routes());
    app.use(koaExpire({ cache }));
    const warnings = await warningsDuring('EMISUSE', async () => {
      await request(app.callback()).get('/r');
      await request(app.callback()).get('/r');
    });
    expect(warnings).to.have.lengthOf(1);
    expect(warnings[0]).to.match(/after the router/);
    expect(errors.map((error) => error.code)).to.deep.equal(['EMISUSE']);
    expect(errors[0]?.message).to.match(/after the router.*before app\.use\(router\.routes\(\)\)/);
  });

  it('addExpireGroups() with no expireGroups() on the path throws EMISUSE', async () => {
    const app = new Koa();
    let thrown: unknown;
    app.on('error', (error) => {
      thrown = error;
    });
    app.use((ctx) => {
      koaAdd(ctx, 'users');
      ctx.body = 'written';
    });
    expect((await request(app.callback()).put('/w')).status).to.equal(500);
    expect((thrown as GroupCacheError).code).to.equal('EMISUSE');
  });

  it('with expireGroups() before it, addExpireGroups() takes numbers and strings', async () => {
    const cache = createCache();
    const app = new Koa();
    app.use(koaExpire({ cache }));
    // The reads these writes expire (a PUT passes it by).
    app.use(koaCache((ctx) => ctx.path, { cache }));
    const expired: string[][] = [];
    cache.on('expire', (event) => expired.push(event.groups));
    app.use((ctx) => {
      koaAdd(ctx, ['users', 42]);
      ctx.body = 'written';
    });
    expect((await request(app.callback()).put('/w')).status).to.equal(200);
    expect(expired).to.deep.equal([['users', '42']]);
  });
});

for (const [version, makeApp] of [
  ['Fastify 5', () => fastify()],
  ['Fastify 4', () => (fastify4 as unknown as typeof fastify)()],
] as const) {
  describe(`${version}: expireGroups() that no write reaches`, () => {
    /** GET /r cached in group g; PUT /w (at the root, or inside the plugin with expireGroups()) expires g. */
    async function writeApp(cache: GroupCache, layout: 'outside' | 'inside' | 'root-after') {
      const app = makeApp();
      const write = async (_request: unknown, reply: { expireGroups: unknown }) => {
        reply.expireGroups = 'g';
        return 'written';
      };
      app.get('/r', { onRequest: fastifyCache(() => ({ key: 'r', groups: ['g'] }), { cache }) }, async () => 'r');
      if (layout === 'root-after') {
        app.put('/w', write);
        await app.register(fastifyExpire({ cache }));
      } else {
        await app.register(async (admin) => {
          await admin.register(fastifyExpire({ cache }));
          if (layout === 'inside') admin.put('/w', write);
        });
        if (layout === 'outside') app.put('/w', write);
      }
      await app.ready();
      return app;
    }

    it('registered inside an encapsulated plugin, a write outside it is reported (EMISUSE) once, naming the route', async () => {
      const cache = createCache();
      const errors = errorsOf(cache);
      const app = await writeApp(cache, 'outside');
      await app.inject({ method: 'GET', url: '/r' });
      const warnings = await warningsDuring('EMISUSE', async () => {
        expect((await app.inject({ method: 'PUT', url: '/w' })).statusCode).to.equal(200);
        await app.inject({ method: 'PUT', url: '/w' });
      });
      expect(errors.map((error) => error.code)).to.deep.equal(['EMISUSE']);
      expect(errors[0]?.message).to.match(/set by PUT \/w, a route no expireGroups\(\) plugin covers.*Register it at the root/);
      expect(warnings).to.have.length(1);
      const read = await app.inject({ method: 'GET', url: '/r' });
      expect(read.headers['x-cache'], 'the mistake it points at').to.equal('HIT');
    });

    it('inside the plugin that declares the write, or at the root even after the routes: expired, nothing reported', async () => {
      for (const layout of ['inside', 'root-after'] as const) {
        const cache = createCache();
        const errors = errorsOf(cache);
        const app = await writeApp(cache, layout);
        await app.inject({ method: 'GET', url: '/r' });
        expect((await app.inject({ method: 'PUT', url: '/w' })).statusCode, layout).to.equal(200);
        expect((await app.inject({ method: 'GET', url: '/r' })).headers['x-cache'], layout).to.equal('MISS');
        expect(errors, layout).to.deep.equal([]);
      }
    });

    it('addExpireGroups() on a route outside the encapsulated plugin throws EMISUSE', async () => {
      const app = makeApp();
      await app.register(async (admin) => {
        await admin.register(fastifyExpire({ cache: createCache() }));
      });
      app.put('/w', async (_request, reply) => {
        fastifyAdd(reply, 'g');
        return 'written';
      });
      app.setErrorHandler(async (error: GroupCacheError, _request, reply) => reply.code(500).send({ code: error.code }));
      expect((await app.inject({ method: 'PUT', url: '/w' })).json()).to.deep.equal({ code: 'EMISUSE' });
    });

    it('app.register(expireGroups) without calling it fails with a TypeError saying so', async () => {
      const app = makeApp();
      let thrown: unknown;
      try {
        await app.register(fastifyExpire as unknown as Parameters<typeof app.register>[0]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(TypeError);
      expect((thrown as Error).message).to.match(
        /expireGroups is a plugin factory: register its result, app\.register\(expireGroups\(\)\)/,
      );
    });
  });
}
