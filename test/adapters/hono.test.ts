/*
 * What only the Hono adapter and the fetch entry do (the shared behaviour is the conformance table,
 * test/adapters/conformance.test.ts): a plain fetch handler cached through group-cache/fetch, hono/compress outside
 * and inside the cache, streamed bodies, the mount-order mistake and addExpireGroups (the inspector is test/http/inspector.test.ts's).
 */
import { gunzipSync } from 'node:zlib';
import { getRequestListener } from '@hono/node-server';
import { expect } from 'chai';
import { createCache, type GroupCache, type GroupCacheError } from 'group-cache';
import {
  addExpireGroups as addFetchGroups,
  groupCache as cacheFetch,
  expireGroups as expireFetch,
  requestLocals,
} from 'group-cache/fetch';
import { addExpireGroups, expireGroups, groupCache } from 'group-cache/hono';
import { deferred, type Listening, listen, type RawResponse, send } from 'group-cache/test-suite';
import { type Context, Hono } from 'hono';
import { compress } from 'hono/compress';

const BIG = JSON.stringify({ text: 'group-cache '.repeat(400) }); // over hono/compress's 1 KiB threshold

describe('Hono adapter and fetch entry', () => {
  let cache: GroupCache;
  let errors: GroupCacheError[];
  let server: Listening | undefined;

  beforeEach(() => {
    cache = createCache();
    errors = [];
    cache.on('error', (error) => errors.push(error));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await cache.close();
  });

  async function serve(fetch: (request: Request) => Response | Promise<Response>): Promise<string> {
    server = await listen(getRequestListener(fetch));
    return server.url;
  }
  const get = (url: string, path: string, headers?: Record<string, string>): Promise<RawResponse> =>
    send(url, 'GET', path, headers);

  describe('group-cache/fetch: a plain (request: Request) => Response handler served by @hono/node-server', () => {
    async function fetchApp(): Promise<{ url: string; runs: () => number }> {
      let runs = 0;
      let version = 0;
      const readUser = cacheFetch(
        (request) => ({ key: new URL(request.url).pathname, groups: ['users'] }),
        (request: Request) => {
          runs++;
          requestLocals(request).cacheGroups = ['people'];
          return Response.json({ path: new URL(request.url).pathname, version });
        },
        { cache },
      );
      const app = expireFetch(
        (request: Request) => {
          if (request.method === 'GET' || request.method === 'HEAD') return readUser(request);
          version++;
          addFetchGroups(request, 'people'); // a group the handler added to its entries
          return Response.json({ version });
        },
        { cache },
      );
      return { url: await serve(app), runs: () => runs };
    }

    it('MISS then HIT (the handler runs once), a write expires the groups its handler named, HEAD reads the GET', async () => {
      const { url, runs } = await fetchApp();
      const miss = await get(url, '/users/1');
      expect(miss.headers['x-cache']).to.equal('MISS');
      const hit = await get(url, '/users/1');
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(hit.body.equals(miss.body)).to.equal(true);
      expect(hit.headers['content-type']).to.equal(miss.headers['content-type']);
      expect(runs()).to.equal(1);
      const head = await send(url, 'HEAD', '/users/1');
      expect([head.headers['x-cache'], head.body.length, head.headers['content-length']]).to.deep.equal([
        'HIT',
        0,
        String(miss.body.length),
      ]);
      const write = await send(url, 'PUT', '/users/1');
      expect(write.status).to.equal(200);
      const after = await get(url, '/users/1');
      expect(after.headers['x-cache']).to.equal('MISS');
      expect(JSON.parse(after.body.toString())).to.deep.equal({ path: '/users/1', version: 1 });
    });

    it('a write whose expiry the store refuses is a 503 by default (onError: fail)', async () => {
      const { url } = await fetchApp();
      cache.store.expire = () => Promise.reject(new Error('store down'));
      const write = await send(url, 'PUT', '/users/1');
      expect(write.status).to.equal(503);
      expect(write.body.toString()).to.match(/cache invalidation could not be recorded/);
      expect(errors.map((error) => error.code)).to.include('EEXPIRE');
    });

    it('addExpireGroups outside expireGroups(handler) throws EMISUSE naming the fix', () => {
      expect(() => addFetchGroups(new Request('http://x/'), 'users'))
        .to.throw('expireGroups(handler)')
        .with.property('code', 'EMISUSE');
    });

    it('a streamed body goes out as it is written and is stored once it ended; one cut off by the client is not', async () => {
      const release = deferred();
      const app = cacheFetch(
        () => ({ key: 'stream', groups: ['s'] }),
        () => {
          const encoder = new TextEncoder();
          const body = new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode('first;'));
              await release.promise;
              controller.enqueue(encoder.encode('second'));
              controller.close();
            },
          });
          return new Response(body, { headers: { 'content-type': 'text/plain' } });
        },
        { cache },
      );
      const url = await serve(app);
      // The first chunk reaches the client before the handler finished.
      const response = await fetch(`${url}/`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).to.equal('first;');
      expect(cache.stats().stores).to.equal(0);
      release.resolve();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        rest += new TextDecoder().decode(chunk.value);
      expect(rest).to.equal('second');
      const hit = await get(url, '/');
      expect([hit.headers['x-cache'], hit.body.toString()]).to.deep.equal(['HIT', 'first;second']);
    });

    it('a client that goes away before a streamed body ended stores nothing', async () => {
      const app = cacheFetch(
        () => ({ key: 'endless', groups: ['s'] }),
        () => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('tick'));
            },
          });
          return new Response(body);
        },
        { cache },
      );
      const url = await serve(app);
      const notStored = new Promise<string>((resolve) => cache.once('notStored', (event) => resolve(event.detail)));
      const controller = new AbortController();
      const response = await fetch(`${url}/`, { signal: controller.signal });
      await (response.body as ReadableStream<Uint8Array>).getReader().read();
      controller.abort();
      expect(await notStored).to.match(/closed|cancelled/);
      expect(cache.stats().stores).to.equal(0);
    });
  });

  describe('hono/compress', () => {
    async function compressed(where: 'outside' | 'inside'): Promise<{ url: string; runs: () => number }> {
      let runs = 0;
      const app = new Hono();
      if (where === 'outside') app.use(compress());
      app.use(expireGroups({ cache }));
      const cached = groupCache(() => ({ key: 'big', groups: ['big'] }), { cache });
      const handler = (c: Context) => {
        runs++;
        return c.body(BIG, 200, { 'content-type': 'application/json' });
      };
      if (where === 'inside') app.get('/big', cached, compress(), handler);
      else app.get('/big', cached, handler);
      return { url: await serve(app.fetch), runs: () => runs };
    }

    it('mounted outside the cache: one identity entry, each hit encoded for the client that asks', async () => {
      const { url, runs } = await compressed('outside');
      const gzip = { 'accept-encoding': 'gzip' };
      const miss = await get(url, '/big', gzip);
      expect([miss.headers['x-cache'], miss.headers['content-encoding']]).to.deep.equal(['MISS', 'gzip']);
      expect(gunzipSync(miss.body).toString()).to.equal(BIG);
      const hit = await get(url, '/big', gzip);
      expect([hit.headers['x-cache'], hit.headers['content-encoding']]).to.deep.equal(['HIT', 'gzip']);
      expect(gunzipSync(hit.body).toString()).to.equal(BIG);
      const plain = await get(url, '/big');
      expect([plain.headers['x-cache'], plain.headers['content-encoding'], plain.body.toString()]).to.deep.equal([
        'HIT',
        undefined,
        BIG,
      ]);
      expect(runs()).to.equal(1);
      expect(cache.stats().stores).to.equal(1);
    });

    it('mounted inside the cache: an entry per coding, never gzip to a client that did not ask', async () => {
      const { url, runs } = await compressed('inside');
      const gzip = { 'accept-encoding': 'gzip' };
      expect((await get(url, '/big', gzip)).headers['x-cache']).to.equal('MISS');
      const hit = await get(url, '/big', gzip);
      expect([hit.headers['x-cache'], hit.headers['content-encoding']]).to.deep.equal(['HIT', 'gzip']);
      expect(gunzipSync(hit.body).toString()).to.equal(BIG);
      const plain = await get(url, '/big');
      expect(plain.headers['content-encoding']).to.equal(undefined);
      expect(plain.body.toString()).to.equal(BIG);
      expect((await get(url, '/big')).headers['x-cache']).to.equal('HIT');
      expect(runs()).to.equal(2);
    });
  });

  describe('writes', () => {
    it('expireGroups() registered after the routes is reported (EMISUSE), naming the fix', async () => {
      const app = new Hono();
      app.get(
        '/users/:id',
        groupCache((c) => `user_${c.req.param('id')}`, { cache }),
        (c) => c.json({ ok: true }),
      );
      app.put('/users/:id', (c) => {
        c.set('expireGroups', 'users');
        return c.json({ ok: true });
      });
      app.use(expireGroups({ cache }));
      const url = await serve(app.fetch);
      const warnings: string[] = [];
      const listener = (warning: Error & { code?: string }) => {
        if (warning.code === 'EMISUSE') warnings.push(warning.message);
      };
      process.on('warning', listener);
      try {
        await get(url, '/users/1');
        await get(url, '/users/1');
        await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      } finally {
        process.off('warning', listener);
      }
      const misuse = errors.filter((error) => error.code === 'EMISUSE');
      expect(misuse).to.have.length(1);
      expect(misuse[0]?.message).to.include('registered after the routes');
      expect(warnings).to.deep.equal([misuse[0]?.message]);
    });

    it("addExpireGroups(c, groups) appends to c.get('expireGroups'); with no expireGroups() on the path it throws", async () => {
      const app = new Hono();
      let thrown: unknown;
      app.put('/lonely', (c) => {
        try {
          addExpireGroups(c, 'users');
        } catch (error) {
          thrown = error;
        }
        return c.json({ ok: true });
      });
      app.use('/users/*', expireGroups({ cache }));
      app.get(
        '/users/:id',
        groupCache((c) => ({ key: `user_${c.req.param('id')}`, groups: ['users'] }), { cache }),
        (c) => c.json({ id: c.req.param('id') }),
      );
      let named: unknown;
      app.put('/users/:id', (c) => {
        c.set('expireGroups', 'profiles');
        addExpireGroups(c, ['users']);
        named = c.get('expireGroups');
        return c.json({ ok: true });
      });
      const url = await serve(app.fetch);
      await send(url, 'PUT', '/lonely');
      expect(thrown).to.have.property('code', 'EMISUSE');
      await get(url, '/users/1');
      expect((await get(url, '/users/1')).headers['x-cache']).to.equal('HIT');
      expect((await send(url, 'PUT', '/users/1')).status).to.equal(200);
      expect(named).to.deep.equal(['profiles', 'users']);
      expect((await get(url, '/users/1')).headers['x-cache']).to.equal('MISS');
    });
  });
});
