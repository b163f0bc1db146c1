// Express rows (5 and 4), for the servers (bench/server.mjs, each row alone in its process) and in-process runs
// (bench/inproc.mjs). Each builder takes `{ version, lib?, redisUrl?, prefix?, oneRoute? }` and returns
// `{ app, cache? }`: `lib` is another build's modules (bench/servers/library.mjs; by default the package's),
// `oneRoute` leaves the group-cache rows' write and stats routes out (the other rows have the measured route alone).
// The miss rows add `body` ('1k' or '64k', the JSON the route answers) and `full` (a store that is already full), the
// big-body hit rows `body` ('64k', '1m') and `maxEntryBytes` (of the cache and its memory store), the write rows
// `groups` (how many the write expires).
import { groupCacheBuilders, part, store, telemetry as telemetryOf } from './library.mjs';
import { bodies, payloadOf, sleep, user, userIdOf, userKey, userUpdates, writeGroups } from './payload.mjs';

async function loadExpress(version) {
  return version === 4 ? (await import('express4')).default : (await import('express')).default;
}

/*
 * `early`: the cache mounted app-wide ahead of the routes (`app.use(groupCache(...))`, its key function reading the
 * path, a GET only), so a hit never reaches route matching; otherwise on the route, as the README shows.
 */
async function groupCacheApp(
  storeKind,
  { version, lib, redisUrl, prefix, oneRoute = false, body, full, telemetry, maxEntryBytes },
  { early = false } = {},
) {
  const express = await loadExpress(version);
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'express');
  const traced = await telemetryOf(telemetry, lib);
  const cache = createCache({
    store: await store(storeKind, { lib, redisUrl, prefix, full, maxEntryBytes }),
    ttl: 600_000,
    ...(traced === undefined ? {} : { telemetry: traced }),
    ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }),
  });
  const payload = payloadOf(body);
  const app = express();
  if (early) {
    const key = (req) => {
      const id = req.method === 'GET' ? userIdOf(req.path) : undefined;
      return id === undefined ? null : userKey(id);
    };
    app.use(groupCache(key, { cache }));
    app.get('/users/:id', (req, res) => res.json(payload(req.params.id)));
  } else {
    app.get(
      '/users/:id',
      groupCache((req) => userKey(req.params.id), { cache }),
      (req, res) => res.json(payload(req.params.id)),
    );
  }
  if (!oneRoute) {
    // expireGroups sits on the write route only, so the read rows measure the hit path alone.
    app.put('/users/:id', expireGroups({ cache }), (req, res) => {
      res.locals.expireGroups = [`user_group_${req.params.id}`];
      res.json(user(req.params.id));
    });
    app.get('/__stats', (_req, res) => res.json(cache.stats()));
  }
  return { app, cache };
}

/*
 * The write rows: `PUT /users/:id` (its JSON body parsed by express.json()) updates the user and answers it. With a
 * store, the route carries expireGroups() and names `groups` groups in res.locals.expireGroups, as the README shows,
 * and the read route is cached (the run checks a write turns its next read into a miss); without, neither.
 */
async function writeApp(storeKind, { version, lib, redisUrl, prefix, groups = 1 }) {
  const express = await loadExpress(version);
  const users = userUpdates();
  const app = express();
  const read = (req, res) => res.json(users.read(req.params.id));
  if (storeKind === undefined) {
    app.get('/users/:id', read);
    app.put('/users/:id', express.json(), (req, res) => res.json(users.update(req.params.id, req.body)));
    return { app };
  }
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'express');
  const cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix }), ttl: 600_000 });
  app.get(
    '/users/:id',
    groupCache((req) => userKey(req.params.id), { cache }),
    read,
  );
  app.put('/users/:id', express.json(), expireGroups({ cache }), (req, res) => {
    res.locals.expireGroups = writeGroups(req.params.id, groups);
    res.json(users.update(req.params.id, req.body));
  });
  app.get('/__stats', (_req, res) => res.json(cache.stats()));
  return { app, cache };
}

export const builders = {
  async limit({ version }) {
    const express = await loadExpress(version);
    const precomputed = bodies();
    const app = express();
    app.get('/users/:id', (req, res) => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(precomputed.get(req.params.id));
    });
    return { app };
  },
  // The limit row plus the headers a group-cache hit adds (etag, age, content-length, x-cache): what the hit
  // costs beyond the framework once its extra header bytes are accounted for.
  async limitHeaders({ version, pass, body }) {
    const express = await loadExpress(version);
    const precomputed = bodies(body);
    const etags = new Map([...precomputed].map(([id, body]) => [id, `W/"${body.length.toString(16)}-${id}"`]));
    const app = express();
    const handler = (req, res) => {
      const body = precomputed.get(req.params.id);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('etag', etags.get(req.params.id));
      res.setHeader('age', '0');
      res.setHeader('content-length', String(body.length));
      res.setHeader('X-Cache', 'HIT');
      res.end(body);
    };
    if (pass === undefined) app.get('/users/:id', handler);
    else app.get('/users/:id', pass, handler);
    return { app };
  },
  // limit-headers behind a route middleware that only calls next(): what any route middleware costs the framework
  // before it does anything, the floor under a hit answered from the route (`limitHeaders` is the handler alone).
  async limitHeadersMiddleware(options) {
    const { app } = await builders.limitHeaders({ ...options, pass: (_req, _res, next) => next() });
    return { app };
  },
  async json({ version, body }) {
    const express = await loadExpress(version);
    const payload = payloadOf(body);
    const app = express();
    app.get('/users/:id', (req, res) => res.json(payload(req.params.id)));
    return { app };
  },
  async slow({ version }) {
    const express = await loadExpress(version);
    const app = express();
    app.get('/users/:id', async (req, res) => {
      await sleep(5);
      res.json(user(req.params.id));
    });
    return { app };
  },
  ...groupCacheBuilders(groupCacheApp),
  write: (options) => writeApp(undefined, options),
  gcMemoryWrite: (options) => writeApp('memory', options),
  gcRedisWrite: (options) => writeApp('redis', options),
  async gcMemoryEarly(options) {
    return groupCacheApp('memory', options, { early: true });
  },
  /*
   * `full`: apicache has no bound on its entries, each leaves by its own timer, so the miss rows give it a 1 second
   * lifetime: it then holds about a second of misses (a few thousand, as many as the others' full stores give or
   * take) and each miss both stores an entry and, a second later, deletes one. At 10 minutes it would grow by every
   * miss for the whole run (gigabytes of 64 KB bodies).
   */
  async apicache({ version, body, full = false }) {
    const express = await loadExpress(version);
    const apicache = (await import('apicache')).default;
    const payload = payloadOf(body);
    const app = express();
    app.get('/users/:id', apicache.middleware(full ? '1 second' : '10 minutes'), (req, res) => res.json(payload(req.params.id)));
    return { app };
  },
  async routeCache({ version }) {
    const express = await loadExpress(version);
    const routeCache = (await import('route-cache')).default;
    const app = express();
    app.get('/users/:id', routeCache.cacheSeconds(600), (req, res) => res.json(user(req.params.id)));
    return { app };
  },
};

export async function build(kind, options) {
  if (!Object.hasOwn(builders, kind)) throw new Error(`no Express row of kind ${kind}`);
  const { app, cache } = await builders[kind](options);
  return { handler: app, cache };
}
