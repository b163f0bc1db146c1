// Koa rows (3 and 2), for the servers (bench/server.mjs) and in-process runs (bench/inproc.mjs). Each builder takes
// `{ version, lib?, redisUrl?, prefix?, oneRoute? }` and returns `{ app, cache? }`: `lib` is another build's modules
// (bench/servers/library.mjs; by default the package's), `oneRoute` leaves out the write and stats routes (below).
// The miss rows add `body` ('1k' or '64k', the JSON the route answers) and `full` (a store that is already full), the
// big-body hit rows `body` ('64k', '1m') and `maxEntryBytes` (of the cache and its memory store), the write rows
// `groups` (how many the write expires).
import { FULL_ENTRIES, groupCacheBuilders, part, store } from './library.mjs';
import { bodies, payloadOf, sleep, user, userIdOf, userKey, userUpdates, writeGroups } from './payload.mjs';

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
  { version, lib, redisUrl, prefix, oneRoute = false, body, full, maxEntryBytes },
  { early = false } = {},
) {
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'koa');
  const cache = createCache({
    store: await store(storeKind, { lib, redisUrl, prefix, full, maxEntryBytes }),
    ttl: 600_000,
    ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }),
  });
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

/** The JSON body of a request, read whole (Koa parses none itself; the write rows need no body-parser package). */
async function jsonBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/*
 * The write rows: `PUT /users/:id` reads its JSON body, updates the user and answers it. With a store, the route
 * carries expireGroups() and names `groups` groups in ctx.state.expireGroups, as the README shows, and the read route
 * is cached (the run checks a write turns its next read into a miss); without, neither. The three routes of the other
 * Koa rows, in every write row.
 */
async function writeApp(storeKind, { version, lib, redisUrl, prefix, groups = 1 }) {
  const users = userUpdates();
  const { app, router } = await base(version);
  const read = (ctx) => {
    ctx.body = users.read(ctx.params.id);
  };
  let cache;
  if (storeKind === undefined) {
    router.get('/users/:id', read);
    router.put('/users/:id', async (ctx) => {
      ctx.body = users.update(ctx.params.id, await jsonBody(ctx));
    });
  } else {
    const { createCache } = await part(lib, 'core');
    const { groupCache, expireGroups } = await part(lib, 'koa');
    cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix }), ttl: 600_000 });
    router.get(
      '/users/:id',
      groupCache((ctx) => userKey(ctx.params.id), { cache }),
      read,
    );
    router.put('/users/:id', expireGroups({ cache }), async (ctx) => {
      const changes = await jsonBody(ctx);
      ctx.state.expireGroups = writeGroups(ctx.params.id, groups);
      ctx.body = users.update(ctx.params.id, changes);
    });
  }
  router.get('/__stats', (ctx) => {
    ctx.body = cache?.stats() ?? {};
  });
  app.use(router.routes());
  return { app, cache };
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
  async limitHeaders({ version, oneRoute, pass, body }) {
    const precomputed = bodies(body);
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
  write: (options) => writeApp(undefined, options),
  gcMemoryWrite: (options) => writeApp('memory', options),
  gcRedisWrite: (options) => writeApp('redis', options),
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
