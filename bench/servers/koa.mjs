// Koa rows (3 and 2), for the servers (bench/server.mjs) and in-process runs (bench/inproc.mjs). Each builder takes
// `{ version, lib?, redisUrl?, prefix?, oneRoute? }` and returns `{ app, cache? }`: `lib` is another build's modules
// (bench/servers/library.mjs; by default the package's), `oneRoute` leaves out the write and stats routes (below).
// The miss rows add `body` ('1k' or '64k', the JSON the route answers) and `full` (a store that is already full).
import { FULL_ENTRIES, groupCacheBuilders, part, store } from './library.mjs';
import { bodies, payloadOf, sleep, user, userIdOf, userKey } from './payload.mjs';

async function base(version) {
  const Koa = (await import(version === 2 ? 'koa2' : 'koa')).default;
  const Router = (await import('@koa/router')).default;
  return { app: new Koa(), router: new Router() };
}

/*
 * Every Koa row has the same route table: @koa/router tests each request against every route, so a row with more
 * routes pays for them on every hit. The group-cache rows' write and stats routes are given to the others too
 * (the write route here answers without expiring anything). `oneRoute`: the measured route alone (in-process runs).
 */
function finish(app, router, { cache, oneRoute = false } = {}) {
  if (cache === undefined && !oneRoute) {
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
async function groupCacheApp(
  storeKind,
  { version, lib, redisUrl, prefix, oneRoute = false, body, full },
  { early = false } = {},
) {
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'koa');
  const cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix, full }), ttl: 600_000 });
  const payload = payloadOf(body);
  const { app, router } = await base(version);
  const handler = (ctx) => {
    ctx.body = payload(ctx.params.id);
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
  if (!oneRoute) {
    // expireGroups sits on the write route only, so the read rows measure the hit path alone.
    router.put('/users/:id', expireGroups({ cache }), (ctx) => {
      ctx.state.expireGroups = [`user_group_${ctx.params.id}`];
      ctx.body = user(ctx.params.id);
    });
    router.get('/__stats', (ctx) => {
      ctx.body = cache.stats();
    });
  }
  return finish(app, router, { cache, oneRoute });
}

export const builders = {
  async limit({ version, oneRoute }) {
    const precomputed = bodies();
    const { app, router } = await base(version);
    router.get('/users/:id', (ctx) => {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = precomputed.get(ctx.params.id);
    });
    return finish(app, router, { oneRoute });
  },
  // The limit row plus the headers a group-cache hit adds (etag, age, x-cache; Koa sets content-length), set as a
  // Koa handler would: the physical limit of a hit, which the hit rows are judged against.
  async limitHeaders({ version, oneRoute, pass }) {
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
    return finish(app, router, { oneRoute });
  },
  // limit-headers behind a route middleware that only calls next(): what any route middleware costs @koa/router and
  // Koa before it does anything, the floor under a hit answered from the route (`limitHeaders` is the handler alone).
  async limitHeadersMiddleware(options) {
    return builders.limitHeaders({ ...options, pass: (_ctx, next) => next() });
  },
  // The route the miss rows are paired with: the group-cache rows' handler, no cache.
  async json({ version, oneRoute, body }) {
    const payload = payloadOf(body);
    const { app, router } = await base(version);
    router.get('/users/:id', (ctx) => {
      ctx.body = payload(ctx.params.id);
    });
    return finish(app, router, { oneRoute });
  },
  async slow({ version, oneRoute }) {
    const { app, router } = await base(version);
    router.get('/users/:id', async (ctx) => {
      await sleep(5);
      ctx.body = user(ctx.params.id);
    });
    return finish(app, router, { oneRoute });
  },
  ...groupCacheBuilders(groupCacheApp),
  async gcMemoryEarly(options) {
    return groupCacheApp('memory', options, { early: true });
  },
  async koaCash({ version, oneRoute, body, full = false }) {
    const koaCash = (await import('koa-cash')).default;
    const payload = payloadOf(body);
    const { app, router } = await base(version);
    const entries = new Map();
    // `full`: koa-cash keeps whatever its get/set keep, so the miss rows bound its Map to FULL_ENTRIES like the
    // group-cache memory store. A ring of keys drops the oldest in O(1) (a Map's first key is not O(1) to reach after
    // many deletions); with a unique key per request the oldest is also the least recently used.
    const ring = full ? new Array(FULL_ENTRIES) : undefined;
    let next = 0;
    app.use(
      koaCash({
        maxAge: 600_000,
        get: (key) => entries.get(key),
        set: (key, value) => {
          if (ring !== undefined && !entries.has(key)) {
            if (ring[next] !== undefined) entries.delete(ring[next]);
            ring[next] = key;
            next = (next + 1) % FULL_ENTRIES;
          }
          entries.set(key, value);
        },
      }),
    );
    router.get('/users/:id', async (ctx) => {
      if (await ctx.cashed()) return;
      ctx.body = payload(ctx.params.id);
    });
    return finish(app, router, { oneRoute });
  },
};

export async function build(kind, options) {
  if (!Object.hasOwn(builders, kind)) throw new Error(`no Koa row of kind ${kind}`);
  const { app, cache } = await builders[kind](options);
  return { handler: app.callback(), cache };
}
