// Koa rows (3 and 2). Each builder returns `{ app, cache? }`.
import { bodies, sleep, user, userIdOf, userKey } from './payload.mjs';

async function base(version) {
  const Koa = (await import(version === 2 ? 'koa2' : 'koa')).default;
  const Router = (await import('@koa/router')).default;
  return { app: new Koa(), router: new Router() };
}

/*
 * Every Koa row has the same route table: @koa/router tests each request against every route, so a row with more
 * routes pays for them on every hit. The group-cache rows' write and stats routes are given to the others too
 * (the write route here answers without expiring anything).
 */
function finish(app, router, cache) {
  if (cache === undefined) {
    router.put('/users/:id', (ctx) => {
      ctx.body = user(ctx.params.id);
    });
    router.get('/__stats', (ctx) => {
      ctx.body = {};
    });
  }
  app.use(router.routes());
  return { app, cache };
}

/*
 * `early`: the cache mounted app-wide ahead of the router (`app.use(groupCache(...))`, its key function reading the
 * path, a GET only), so a hit never reaches @koa/router; otherwise on the route, as the README shows.
 */
async function groupCacheApp(version, store, { early = false } = {}) {
  const { createCache } = await import('group-cache');
  const { groupCache, expireGroups } = await import('group-cache/koa');
  const cache = createCache({ store: await store(), ttl: 600_000 });
  const { app, router } = await base(version);
  const handler = (ctx) => {
    ctx.body = user(ctx.params.id);
  };
  if (early) {
    const key = (ctx) => {
      const id = ctx.method === 'GET' ? userIdOf(ctx.path) : undefined;
      return id === undefined ? null : userKey(id);
    };
    app.use(groupCache(key, { cache }));
    router.get('/users/:id', handler);
  } else {
    router.get(
      '/users/:id',
      groupCache((ctx) => userKey(ctx.params.id), { cache }),
      handler,
    );
  }
  // expireGroups sits on the write route only, so the read rows measure the hit path alone.
  router.put('/users/:id', expireGroups({ cache }), (ctx) => {
    ctx.state.expireGroups = [`user_group_${ctx.params.id}`];
    ctx.body = user(ctx.params.id);
  });
  router.get('/__stats', (ctx) => {
    ctx.body = cache.stats();
  });
  return finish(app, router, cache);
}

export const builders = {
  async limit({ version }) {
    const precomputed = bodies();
    const { app, router } = await base(version);
    router.get('/users/:id', (ctx) => {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = precomputed.get(ctx.params.id);
    });
    return finish(app, router);
  },
  // The limit row plus the headers a group-cache hit adds (etag, age, x-cache; Koa sets content-length), set as a
  // Koa handler would: the physical limit of a hit, which the hit rows are judged against.
  async limitHeaders({ version, pass }) {
    const precomputed = bodies();
    const etags = new Map([...precomputed].map(([id, body]) => [id, `W/"${body.length.toString(16)}-${id}"`]));
    const { app, router } = await base(version);
    const handler = (ctx) => {
      ctx.type = 'application/json; charset=utf-8';
      ctx.set('ETag', etags.get(ctx.params.id));
      ctx.set('Age', '0');
      ctx.set('X-Cache', 'HIT');
      ctx.body = precomputed.get(ctx.params.id);
    };
    if (pass === undefined) router.get('/users/:id', handler);
    else router.get('/users/:id', pass, handler);
    return finish(app, router);
  },
  // limit-headers behind a route middleware that only calls next(): what any route middleware costs @koa/router and
  // Koa before it does anything, the floor under a hit answered from the route (`limitHeaders` is the handler alone).
  async limitHeadersMiddleware({ version }) {
    return builders.limitHeaders({ version, pass: (_ctx, next) => next() });
  },
  async slow({ version }) {
    const { app, router } = await base(version);
    router.get('/users/:id', async (ctx) => {
      await sleep(5);
      ctx.body = user(ctx.params.id);
    });
    return finish(app, router);
  },
  async gcMemory({ version }) {
    const { memoryStore } = await import('group-cache');
    return groupCacheApp(version, () => memoryStore({ maxBytes: 256 * 2 ** 20 }));
  },
  async gcMemoryEarly({ version }) {
    const { memoryStore } = await import('group-cache');
    return groupCacheApp(version, () => memoryStore({ maxBytes: 256 * 2 ** 20 }), { early: true });
  },
  async gcRedis({ version, redisUrl, prefix }) {
    const { redisStore } = await import('group-cache/redis');
    const { Redis } = await import('ioredis');
    return groupCacheApp(version, () => redisStore({ client: new Redis(redisUrl, { maxRetriesPerRequest: 1 }), prefix }));
  },
  async koaCash({ version }) {
    const koaCash = (await import('koa-cash')).default;
    const { app, router } = await base(version);
    const entries = new Map();
    app.use(
      koaCash({
        maxAge: 600_000,
        get: (key) => entries.get(key),
        set: (key, value) => {
          entries.set(key, value);
        },
      }),
    );
    router.get('/users/:id', async (ctx) => {
      if (await ctx.cashed()) return;
      ctx.body = user(ctx.params.id);
    });
    return finish(app, router);
  },
};

export async function build(kind, options) {
  const { app, cache } = await builders[kind](options);
  return { handler: app.callback(), cache };
}
