/*
 * What only the Fastify adapter does (the shared behaviour is the conformance table, test/adapters/conformance.test.ts):
 * its hook positions, headers set by earlier hooks, stream payloads, the plugin's decoration and addExpireGroups.
 */
import { Readable } from 'node:stream';
import { expect } from 'chai';
import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fastify4 from 'fastify4';
import { createCache, type GroupCache, type GroupCacheError } from 'group-cache';
import { addExpireGroups, expireGroups, groupCache } from 'group-cache/fastify';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

for (const [version, createApp] of [
  ['Fastify 5', fastify],
  ['Fastify 4', fastify4 as unknown as typeof fastify],
] as const) {
  describe(`${version} adapter`, () => {
    let cache: GroupCache;
    let app: FastifyInstance;
    let warnings: string[];

    beforeEach(() => {
      cache = createCache();
      warnings = [];
      // Fastify logs a reply sent twice, or sent after a hijack, at warn: there must be none.
      const stream = { write: (line: string) => warnings.push(line) };
      app = createApp({ logger: { level: 'warn', stream } });
    });
    afterEach(async () => {
      await app.close();
      await cache.close();
    });

    const get = async (url: string) => app.inject({ method: 'GET', url });

    it('groupCache() as a preHandler: MISS then HIT, the handler runs once, nothing logged', async () => {
      let runs = 0;
      app.get<{ Params: { id: string } }>(
        '/users/:id',
        { preHandler: groupCache<IdRequest>((req) => ({ key: `user_${req.params.id}`, groups: ['users'] }), { cache }) },
        async (req) => {
          runs++;
          return { id: req.params.id };
        },
      );
      const miss = await get('/users/1');
      const hit = await get('/users/1');
      expect([miss.headers['x-cache'], hit.headers['x-cache']]).to.deep.equal(['MISS', 'HIT']);
      expect(hit.body).to.equal(miss.body);
      expect(hit.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(runs).to.equal(1);
      expect(warnings).to.deep.equal([]);
    });

    it('a hit keeps headers an earlier hook set with reply.header() (CORS, say)', async () => {
      app.addHook('onRequest', async (_req, reply) => {
        reply.header('access-control-allow-origin', '*');
      });
      app.get('/r', { onRequest: groupCache(() => 'r', { cache }) }, async () => 'body');
      await get('/r');
      const hit = await get('/r');
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(hit.headers['access-control-allow-origin']).to.equal('*');
      expect(hit.body).to.equal('body');
    });

    it('reply.cacheGroups (typed on FastifyReply) adds groups the handler decides', async () => {
      app.get('/team', { onRequest: groupCache(() => 'team', { cache }) }, async (_req, reply) => {
        reply.cacheGroups = ['user_group_7', 8];
        return { members: [7, 8] };
      });
      expect((await get('/team')).headers['x-cache']).to.equal('MISS');
      expect((await get('/team')).headers['x-cache']).to.equal('HIT');
      await cache.expireGroups('8');
      expect((await get('/team')).headers['x-cache']).to.equal('MISS');
    });

    it('with expireGroups() registered, the route pattern is bound at registration (no request.routeOptions per hit)', async () => {
      const errors: GroupCacheError[] = [];
      cache.on('error', (error) => errors.push(error));
      await app.register(expireGroups({ cache }));
      let reads = 0;
      app.addHook('onRequest', async (request) => {
        const proto = Object.getPrototypeOf(request) as object;
        const getter = Object.getOwnPropertyDescriptor(proto, 'routeOptions')?.get;
        Object.defineProperty(request, 'routeOptions', {
          get() {
            reads++;
            return getter?.call(request);
          },
        });
      });
      const failing = () => {
        throw new Error('no id');
      };
      await app.register(
        async (child) => {
          child.get('/items/:id', { onRequest: [groupCache(failing, { cache })] }, async () => 'item');
        },
        { prefix: '/api' },
      );
      expect((await get('/api/items/1')).headers['x-cache']).to.equal('BYPASS');
      expect(errors[0]?.message).to.include('GET /api/items/:id');
      expect(reads).to.equal(0);
    });

    it('a stream payload is stored as it was sent, and replayed byte for byte', async () => {
      app.get('/s', { onRequest: groupCache(() => 's', { cache }) }, async (_req, reply) => {
        reply.type('text/plain');
        return reply.send(Readable.from(['one ', 'two ', 'three']));
      });
      const miss = await get('/s');
      const hit = await get('/s');
      expect([miss.body, hit.body]).to.deep.equal(['one two three', 'one two three']);
      expect(hit.headers['x-cache']).to.equal('HIT');
      expect(cache.stats().stores).to.equal(1);
    });

    it('addExpireGroups(reply) appends to reply.expireGroups, expired before the write is answered', async () => {
      await app.register(expireGroups({ cache }));
      app.get('/u', { onRequest: groupCache(() => ({ key: 'u', groups: ['users'] }), { cache }) }, async () => ({ v: 1 }));
      app.put('/u', async (_req, reply) => {
        reply.expireGroups = 'other';
        addExpireGroups(reply, ['users']);
        return { groups: reply.expireGroups };
      });
      await get('/u');
      const write = await app.inject({ method: 'PUT', url: '/u' });
      expect(write.json()).to.deep.equal({ groups: ['other', 'users'] });
      expect((await get('/u')).headers['x-cache']).to.equal('MISS');
    });

    it('addExpireGroups() with no expireGroups() plugin throws EMISUSE (the groups would never be expired)', async () => {
      app.put('/u', async (_req, reply) => {
        try {
          addExpireGroups(reply, ['users']);
          return { code: null };
        } catch (error) {
          return { code: (error as GroupCacheError).code };
        }
      });
      expect((await app.inject({ method: 'PUT', url: '/u' })).json()).to.deep.equal({ code: 'EMISUSE' });
    });

    it('two expireGroups() plugins (one per cache) share the decoration and both expire', async () => {
      const other = createCache();
      try {
        await app.register(expireGroups({ cache }));
        await app.register(expireGroups({ cache: other }));
        for (const [path, routeCache] of [
          ['/a', cache],
          ['/b', other],
        ] as const) {
          app.get(path, { onRequest: groupCache(() => path, { cache: routeCache }) }, async () => path);
        }
        app.put('/u', async (_req, reply) => {
          reply.expireGroups = ['users'];
          return {};
        });
        expect((await app.inject({ method: 'PUT', url: '/u' })).statusCode).to.equal(200);
        expect([cache.stats().expires, other.stats().expires]).to.deep.equal([1, 1]);
      } finally {
        await other.close();
      }
    });
  });
}
