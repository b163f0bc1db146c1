// Hono 4 rows, served by @hono/node-server, for the servers (bench/server.mjs) and in-process runs (bench/inproc.mjs).
// Each builder takes `{ lib?, redisUrl?, prefix?, oneRoute?, body?, full? }` and returns `{ app, cache? }`; build()
// hands the caller @hono/node-server's request listener for the app. See bench/servers/fastify.mjs for the options.
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { groupCacheBuilders, part, store } from './library.mjs';
import { bodies, payloadOf, user, userKey } from './payload.mjs';

const JSON_TYPE = 'application/json; charset=utf-8';

async function groupCacheApp(storeKind, { lib, redisUrl, prefix, oneRoute = false, body, full }) {
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'hono');
  const cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix, full }), ttl: 600_000 });
  const payload = payloadOf(body);
  const app = new Hono();
  app.use(expireGroups({ cache }));
  app.get(
    '/users/:id',
    groupCache((c) => userKey(c.req.param('id')), { cache }),
    (c) => c.json(payload(c.req.param('id'))),
  );
  if (!oneRoute) {
    app.put('/users/:id', (c) => {
      c.set('expireGroups', [`user_group_${c.req.param('id')}`]);
      return c.json(user(c.req.param('id')));
    });
    app.get('/__stats', (c) => c.json(cache.stats()));
  }
  return { app, cache };
}

export const builders = {
  async limit() {
    const precomputed = bodies();
    const app = new Hono();
    app.get('/users/:id', (c) => c.body(precomputed.get(c.req.param('id')), 200, { 'content-type': JSON_TYPE }));
    return { app };
  },
  // The limit row plus the headers a group-cache hit adds (etag, age, x-cache, content-length).
  async limitHeaders() {
    const precomputed = bodies();
    const etags = new Map([...precomputed].map(([id, body]) => [id, `W/"${body.length.toString(16)}-${id}"`]));
    const app = new Hono();
    app.get('/users/:id', (c) => {
      const id = c.req.param('id');
      const body = precomputed.get(id);
      return new Response(body, {
        headers: {
          'content-type': JSON_TYPE,
          etag: etags.get(id),
          age: '0',
          'content-length': String(body.length),
          'x-cache': 'HIT',
        },
      });
    });
    return { app };
  },
  // limit-headers behind the least a cached route adds: an app-wide and a route middleware that only await next().
  async limitHeadersMiddleware(options) {
    const { app: inner } = await builders.limitHeaders(options);
    const app = new Hono();
    app.use(async (_c, next) => {
      await next();
    });
    app.get(
      '/users/:id',
      async (_c, next) => {
        await next();
      },
      (c) => inner.fetch(c.req.raw),
    );
    return { app };
  },
  // The route the miss rows are paired with: the same handler as the group-cache rows', no cache, no middleware.
  async json({ body }) {
    const payload = payloadOf(body);
    const app = new Hono();
    app.get('/users/:id', (c) => c.json(payload(c.req.param('id'))));
    return { app };
  },
  ...groupCacheBuilders(groupCacheApp),
};

export async function build(kind, options) {
  if (!Object.hasOwn(builders, kind)) throw new Error(`no Hono row of kind ${kind}`);
  const { app, cache } = await builders[kind](options);
  return { handler: getRequestListener(app.fetch), cache };
}
