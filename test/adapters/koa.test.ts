import { get as httpGet } from 'node:http';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import { expect } from 'chai';
import { createCache, type GroupCache, type GroupCacheError, type RouteOptions } from 'group-cache';
import { addExpireGroups, expireGroups, groupCache } from 'group-cache/koa';
import Koa, { type Context, type Middleware } from 'koa';
import Koa2 from 'koa2';
import request from 'supertest';
import { listen, type RawResponse, sendRaw } from '../helpers/http.js';

function getRaw(app: Koa, path: string): Promise<RawResponse> {
  return sendRaw(request(app.callback()).get(path));
}

/** GET on a real server that tolerates a response cut short or never ended (Koa 2 leaves an errored stream hanging). */
function getLoose(url: string, ms = 300): Promise<{ status: number; body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const req = httpGet(url, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(true));
      res.on('error', () => finish(false));
    });
    req.on('error', () => finish(false));
    const timer = setTimeout(() => finish(false), ms);
    function finish(complete: boolean): void {
      clearTimeout(timer);
      req.destroy();
      resolve({ status, body: Buffer.concat(chunks), complete });
    }
  });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A readable that sends `chunks`, one per tick, then fails if `failAfter` is set. */
function slowStream(chunks: readonly (string | Buffer)[], failAfter?: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      setTimeout(() => {
        if (failAfter !== undefined && i === failAfter) this.destroy(new Error('disk on fire'));
        else this.push(i < chunks.length ? chunks[i++] : null);
      }, 1);
    },
  });
}

for (const [version, KoaApp] of [
  ['Koa 3', Koa],
  ['Koa 2', Koa2],
] as const) {
  /** One cached route at GET /r (via @koa/router) whose handler is `handler`; counts its runs. */
  function appWith(handler: Middleware, cache: GroupCache, options: Omit<RouteOptions, 'cache'> = {}) {
    const app = new KoaApp();
    app.silent = true;
    const router = new Router();
    const calls = { count: 0 };
    router.get(
      '/r',
      groupCache(() => ({ key: 'r', groups: ['g'] }), { ...options, cache }),
      async (ctx, next) => {
        calls.count++;
        await handler(ctx, next);
      },
    );
    app.use(router.routes());
    return { app, calls };
  }

  async function missThenHit(handler: Middleware, options: Omit<RouteOptions, 'cache'> = {}) {
    const cache = createCache();
    const { app, calls } = appWith(handler, cache, options);
    const miss = await getRaw(app, '/r');
    const hit = await getRaw(app, '/r');
    return { miss, hit, calls, cache, app };
  }

  function expectSameReplay(miss: RawResponse, hit: RawResponse): void {
    expect(miss.headers['x-cache']).to.equal('MISS');
    expect(hit.headers['x-cache']).to.equal('HIT');
    expect(hit.status).to.equal(miss.status);
    expect(hit.body.equals(miss.body)).to.equal(true);
    expect(hit.headers['content-type']).to.equal(miss.headers['content-type']);
  }

  describe(`${version}: ctx.body kinds`, () => {
    it('ctx.body = string (text and html types as Koa sets them)', async () => {
      for (const [body, type] of [
        ['héllo wörld ✓', 'text/plain; charset=utf-8'],
        ['<p>hi</p>', 'text/html; charset=utf-8'],
      ] as const) {
        const { miss, hit, calls } = await missThenHit((ctx) => {
          ctx.body = body;
        });
        expectSameReplay(miss, hit);
        expect(hit.body.toString()).to.equal(body);
        expect(hit.headers['content-type']).to.equal(type);
        expect(hit.headers['content-length']).to.equal(String(Buffer.byteLength(body)));
        expect(calls.count).to.equal(1);
      }
    });

    it('ctx.body = Buffer, with Koa’s default type and with the handler’s own', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
      const plain = await missThenHit((ctx) => {
        ctx.body = bytes;
      });
      expectSameReplay(plain.miss, plain.hit);
      expect(plain.hit.body.equals(bytes)).to.equal(true);
      expect(plain.hit.headers['content-type']).to.equal('application/octet-stream');
      const typed = await missThenHit((ctx) => {
        ctx.type = 'image/png';
        ctx.body = bytes;
      });
      expectSameReplay(typed.miss, typed.hit);
      expect(typed.hit.headers['content-type']).to.equal('image/png');
    });

    it('ctx.body = object: stored as the JSON Koa sends, with the same Content-Type', async () => {
      const value = { name: 'Ada', list: [1, 'two', null], nested: { ok: true }, unicode: 'é✓' };
      const { miss, hit, calls } = await missThenHit((ctx) => {
        ctx.body = value;
      });
      expectSameReplay(miss, hit);
      expect(hit.body.toString()).to.equal(JSON.stringify(value));
      expect(hit.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(hit.headers['content-length']).to.equal(String(Buffer.byteLength(JSON.stringify(value))));
      expect(calls.count).to.equal(1);
    });

    it('ctx.body = array and a handler-set JSON type are replayed as sent', async () => {
      const { miss, hit } = await missThenHit((ctx) => {
        ctx.type = 'application/vnd.api+json';
        ctx.body = [{ id: 1 }, { id: 2 }];
      });
      expectSameReplay(miss, hit);
      expect(hit.body.toString()).to.equal('[{"id":1},{"id":2}]');
    });

    it('ctx.body = stream: teed to the client and stored once it completes', async () => {
      const chunks = ['alpha,', Buffer.from([0, 255, 1]), 'gamma ✓'];
      const expected = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
      const { miss, hit, calls } = await missThenHit((ctx) => {
        ctx.type = 'application/x-custom';
        ctx.body = slowStream(chunks);
      });
      expect(miss.body.equals(expected)).to.equal(true);
      expectSameReplay(miss, hit);
      expect(hit.headers['content-type']).to.equal('application/x-custom');
      expect(hit.headers['content-length']).to.equal(String(expected.length));
      expect(calls.count).to.equal(1);
    });

    it('a stream body keeps the Content-Length its handler set', async () => {
      const cache = createCache();
      const { app, calls } = appWith((ctx) => {
        ctx.length = 10;
        ctx.body = slowStream(['01234', '56789']);
      }, cache);
      // A keep-alive client: one that closes as soon as it has Content-Length bytes may do so before the
      // stream signalled its end, and an unfinished response is rightly not stored.
      const server = await listen(app.callback());
      try {
        for (const expected of ['MISS', 'HIT']) {
          const res = await fetch(`${server.url}/r`);
          expect(await res.text()).to.equal('0123456789');
          expect(res.headers.get('content-length')).to.equal('10');
          expect(res.headers.get('x-cache')).to.equal(expected);
        }
        expect(calls.count).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('a stream that errors mid-way stores nothing', async () => {
      const cache = createCache();
      const { app, calls } = appWith((ctx) => {
        ctx.body = slowStream(['part one,', 'part two,', 'never'], 2);
      }, cache);
      const server = await listen(app.callback());
      try {
        const first = await getLoose(`${server.url}/r`);
        expect(first.complete).to.equal(false);
        await tick();
        const second = await getLoose(`${server.url}/r`);
        expect(second.complete).to.equal(false);
        expect(calls.count).to.equal(2);
        expect(cache.stats().stores).to.equal(0);
      } finally {
        await server.close();
      }
    });

    it('a stream over maxEntryBytes streams fully to the client but is not stored', async () => {
      const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1024, 97 + i));
      const cache = createCache();
      const { app, calls } = appWith(
        (ctx) => {
          ctx.body = slowStream(chunks);
        },
        cache,
        { maxEntryBytes: 4096 },
      );
      const first = await getRaw(app, '/r');
      expect(first.body.equals(Buffer.concat(chunks))).to.equal(true);
      const second = await getRaw(app, '/r');
      expect(second.headers['x-cache']).to.equal('MISS');
      expect(second.body.equals(Buffer.concat(chunks))).to.equal(true);
      expect(calls.count).to.equal(2);
      expect(cache.stats().stores).to.equal(0);
    });

    it('ctx.body = null gives a 204, stored with an empty body when the route allows 204', async () => {
      const { miss, hit, calls } = await missThenHit(
        (ctx) => {
          ctx.body = null;
        },
        { statuses: [200, 204] },
      );
      expect(miss.status).to.equal(204);
      expect(hit.status).to.equal(204);
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(hit.body.length).to.equal(0);
      expect(hit.headers['content-length']).to.equal(undefined);
      expect(calls.count).to.equal(1);
    });

    it('a 204 is not stored by default', async () => {
      const { hit, calls, cache } = await missThenHit((ctx) => {
        ctx.status = 204;
      });
      expect(hit.headers['x-cache']).to.equal('MISS');
      expect(calls.count).to.equal(2);
      expect(cache.stats().stores).to.equal(0);
    });

    it('a status with no body (Koa sends its status message) is not stored', async () => {
      const { miss, hit, calls } = await missThenHit((ctx) => {
        ctx.status = 200;
      });
      expect(miss.body.toString()).to.equal('OK');
      expect(hit.headers['x-cache']).to.equal('MISS');
      expect(calls.count).to.equal(2);
    });

    if (version === 'Koa 3') {
      it('Koa 3 web bodies (Blob, ReadableStream) are sent by Koa but passed through uncached', async () => {
        for (const make of [() => new Blob(['web body']), () => new Blob(['web body']).stream()]) {
          const { miss, hit, calls, cache } = await missThenHit((ctx) => {
            ctx.body = make();
          });
          expect(miss.body.toString()).to.equal('web body');
          expect(hit.body.toString()).to.equal('web body');
          expect(hit.headers['x-cache']).to.equal('MISS');
          expect(calls.count).to.equal(2);
          expect(cache.stats().stores).to.equal(0);
        }
      });
    }

    it('a hit keeps the stored Content-Type: Koa does not replace it', async () => {
      const { miss, hit } = await missThenHit((ctx) => {
        ctx.set('Content-Type', 'text/csv; charset=utf-8');
        ctx.body = Buffer.from('a,b\n1,2\n');
      });
      expectSameReplay(miss, hit);
      expect(hit.headers['content-type']).to.equal('text/csv; charset=utf-8');
    });
  });

  describe(`${version}: errors, bypass and routing`, () => {
    it('a downstream throw is re-thrown unchanged and nothing is stored', async () => {
      const cache = createCache();
      const thrown = Object.assign(new Error('handler failed'), { status: 502, expose: true });
      const caught: unknown[] = [];
      const app = new KoaApp();
      app.silent = true;
      const calls = { count: 0 };
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          caught.push(error);
          ctx.status = 502;
          ctx.body = 'upstream saw it';
        }
      });
      app.use(groupCache(() => 'k', { cache }));
      app.use((ctx) => {
        calls.count++;
        if (calls.count === 1) throw thrown;
        ctx.body = 'second';
      });
      const first = await getRaw(app, '/');
      expect(first.status).to.equal(502);
      expect(caught).to.have.length(1);
      expect(caught[0]).to.equal(thrown);
      const second = await getRaw(app, '/');
      expect(second.headers['x-cache']).to.equal('MISS');
      expect(second.body.toString()).to.equal('second');
      expect(await getRaw(app, '/').then((res) => res.headers['x-cache'])).to.equal('HIT');
    });

    it('a stream body replaced by an error thrown further up is not stored', async () => {
      const cache = createCache();
      const app = new KoaApp();
      app.silent = true;
      let requests = 0;
      app.use(async (_ctx, next) => {
        await next();
        if (++requests === 1) throw new Error('late failure');
      });
      app.use(groupCache(() => 'k', { cache }));
      app.use((ctx) => {
        ctx.body = Readable.from(['streamed']);
      });
      expect((await getRaw(app, '/')).status).to.equal(500);
      const second = await getRaw(app, '/');
      expect(second.headers['x-cache']).to.equal('MISS');
      expect(second.body.toString()).to.equal('streamed');
      expect((await getRaw(app, '/')).headers['x-cache']).to.equal('HIT');
    });

    it('a body Koa cannot serialise (circular) fails as in Koa and stores nothing', async () => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const { miss, hit, cache } = await missThenHit((ctx) => {
        ctx.body = circular;
      });
      expect(miss.status).to.equal(500);
      expect(hit.status).to.equal(500);
      expect(cache.stats().stores).to.equal(0);
    });

    it('ctx.respond = false bypasses the cache: nothing is stored', async () => {
      const { miss, hit, calls, cache } = await missThenHit((ctx) => {
        ctx.respond = false;
        ctx.res.statusCode = 200;
        ctx.res.setHeader('content-type', 'text/plain');
        ctx.res.end('raw');
      });
      expect(miss.body.toString()).to.equal('raw');
      expect(hit.body.toString()).to.equal('raw');
      expect(calls.count).to.equal(2);
      expect(cache.stats().stores).to.equal(0);
    });

    it('works with @koa/router params and prefixes; errors name the matched route', async () => {
      const cache = createCache();
      const errors: GroupCacheError[] = [];
      cache.on('error', (error) => errors.push(error));
      const app = new KoaApp();
      app.silent = true;
      const router = new Router({ prefix: '/api' });
      router.get(
        '/users/:id',
        groupCache<Context & { params: Record<string, string> }>((ctx) => `user_${ctx.params.id}`, { cache }),
        (ctx) => {
          ctx.body = { id: (ctx as Context & { params: Record<string, string> }).params.id };
        },
      );
      router.get(
        '/bad/:id',
        groupCache(
          () => {
            throw new Error('nope');
          },
          { cache },
        ),
        (ctx) => {
          ctx.body = 'served';
        },
      );
      app.use(router.routes());
      expect((await getRaw(app, '/api/users/7')).headers['x-cache']).to.equal('MISS');
      const hit = await getRaw(app, '/api/users/7');
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(JSON.parse(hit.body.toString())).to.deep.equal({ id: '7' });
      expect((await getRaw(app, '/api/users/8')).headers['x-cache']).to.equal('MISS');
      const bad = await getRaw(app, '/api/bad/1');
      expect(bad.body.toString()).to.equal('served');
      expect(bad.headers['x-cache']).to.equal('BYPASS');
      expect(errors[0]?.message).to.include('GET /api/bad/:id');
    });

    it('without a router, errors name the request path', async () => {
      const cache = createCache();
      const errors: GroupCacheError[] = [];
      cache.on('error', (error) => errors.push(error));
      const app = new KoaApp();
      app.use(groupCache(() => Promise.reject(new Error('nope')), { cache }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      expect((await getRaw(app, '/plain')).headers['x-cache']).to.equal('BYPASS');
      expect(errors[0]?.message).to.include('GET /plain');
    });
  });

  describe(`${version}: expireGroups`, () => {
    function writeApp(cache: GroupCache, write: Middleware) {
      const app = new KoaApp();
      app.silent = true;
      const router = new Router();
      let version = 0;
      router.get(
        '/users',
        groupCache(() => ({ key: 'list', groups: ['users'] }), { cache }),
        (ctx) => {
          ctx.body = { version };
        },
      );
      router.put('/users', async (ctx, next) => {
        version++;
        await write(ctx, next);
      });
      app.use(expireGroups({ cache }));
      app.use(router.routes());
      return app;
    }

    it('accepts a single string, and addExpireGroups() appends to ctx.state.expireGroups', async () => {
      for (const write of [
        (ctx: Context) => {
          ctx.state.expireGroups = 'users';
          ctx.body = 'ok';
        },
        (ctx: Context) => {
          ctx.state.expireGroups = 'other';
          addExpireGroups(ctx, ['users']);
          expect(ctx.state.expireGroups).to.deep.equal(['other', 'users']);
          ctx.body = 'ok';
        },
      ]) {
        const cache = createCache();
        const app = writeApp(cache, write);
        await getRaw(app, '/users');
        expect((await getRaw(app, '/users')).headers['x-cache']).to.equal('HIT');
        expect((await request(app.callback()).put('/users')).status).to.equal(200);
        const next = await getRaw(app, '/users');
        expect(next.headers['x-cache']).to.equal('MISS');
        expect(JSON.parse(next.body.toString())).to.deep.equal({ version: 1 });
      }
    });

    it('expires after a write that streams its body, before Koa sends it', async () => {
      const cache = createCache();
      const app = writeApp(cache, (ctx) => {
        ctx.state.expireGroups = ['users'];
        ctx.body = Readable.from(['done']);
      });
      await getRaw(app, '/users');
      const write = await request(app.callback()).put('/users');
      expect(write.status).to.equal(200);
      expect((await getRaw(app, '/users')).headers['x-cache']).to.equal('MISS');
    });

    it("onError: 'fail' answers 503 and destroys the write's stream body", async () => {
      const cache = createCache();
      cache.on('error', () => {});
      cache.store.expire = () => Promise.reject(new Error('store down'));
      const body = Readable.from(['never sent']);
      const app = new KoaApp();
      app.use(expireGroups({ cache, onError: 'fail' }));
      // The reads this write expires (a PUT passes it by).
      app.use(groupCache((ctx) => ctx.path, { cache }));
      app.use((ctx) => {
        ctx.set('ETag', '"v1"');
        ctx.state.expireGroups = 'users';
        ctx.body = body;
      });
      const write = await getRaw(app, '/');
      expect(write.status).to.equal(503);
      expect(write.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(write.headers.etag).to.equal(undefined);
      expect(write.body.toString()).to.match(/invalidation could not be recorded/);
      expect(body.destroyed).to.equal(true);
      await cache.close();
    });

    it('a write that throws expires nothing', async () => {
      const cache = createCache();
      const app = writeApp(cache, (ctx) => {
        ctx.state.expireGroups = ['users'];
        ctx.throw(409, 'conflict');
      });
      await getRaw(app, '/users');
      expect((await request(app.callback()).put('/users')).status).to.equal(409);
      expect((await getRaw(app, '/users')).headers['x-cache']).to.equal('HIT');
    });
  });
}
