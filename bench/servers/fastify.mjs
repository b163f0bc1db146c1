// Fastify rows (5 and 4), for the servers (bench/server.mjs) and in-process runs (bench/inproc.mjs). Each builder
// takes `{ version, lib?, redisUrl?, prefix?, oneRoute? }` and returns `{ app, cache? }`; build() hands the caller a
// request listener once the app is ready. `lib` is another build's modules (bench/servers/library.mjs; by default the
// package's), `oneRoute` leaves the group-cache rows' write and stats routes out. The miss rows add `body` ('1k' or
// '64k', the JSON the route answers) and `full` (a store that is already full), the big-body hit rows `body` ('64k',
// '1m') and `maxEntryBytes` (of the cache and its memory store), the write rows `groups` (how many the write expires).
import { groupCacheBuilders, part, store } from './library.mjs';
import { bodies, payloadOf, user, userKey, userUpdates, writeGroups } from './payload.mjs';

async function base(version) {
  const fastify = (await import(version === 4 ? 'fastify4' : 'fastify')).default;
  return fastify();
}

async function groupCacheApp(storeKind, { version, lib, redisUrl, prefix, oneRoute = false, body, full, maxEntryBytes }) {
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'fastify');
  const cache = createCache({
    store: await store(storeKind, { lib, redisUrl, prefix, full, maxEntryBytes }),
    ttl: 600_000,
    ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }),
  });
  const payload = payloadOf(body);
  const app = await base(version);
  await app.register(expireGroups({ cache }));
  app.get('/users/:id', { onRequest: groupCache((req) => userKey(req.params.id), { cache }) }, async (req) =>
    payload(req.params.id),
  );
  if (!oneRoute) {
    app.put('/users/:id', async (req, reply) => {
      reply.expireGroups = [`user_group_${req.params.id}`];
      return user(req.params.id);
    });
    app.get('/__stats', async () => cache.stats());
  }
  return { app, cache };
}

/*
 * The write rows: `PUT /users/:id` (Fastify parses its JSON body) updates the user and answers it. With a store, the
 * app registers the expireGroups() plugin, as a Fastify user must, the route names `groups` groups in
 * reply.expireGroups, and the read route is cached (the run checks a write turns its next read into a miss); without,
 * none of them, so the plugin's hooks count in the write's cost.
 */
async function writeApp(storeKind, { version, lib, redisUrl, prefix, groups = 1 }) {
  const users = userUpdates();
  const app = await base(version);
  const read = async (req) => users.read(req.params.id);
  if (storeKind === undefined) {
    app.get('/users/:id', read);
    app.put('/users/:id', async (req) => users.update(req.params.id, req.body));
    return { app };
  }
  const { createCache } = await part(lib, 'core');
  const { groupCache, expireGroups } = await part(lib, 'fastify');
  const cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix }), ttl: 600_000 });
  await app.register(expireGroups({ cache }));
  app.get('/users/:id', { onRequest: groupCache((req) => userKey(req.params.id), { cache }) }, read);
  app.put('/users/:id', async (req, reply) => {
    reply.expireGroups = writeGroups(req.params.id, groups);
    return users.update(req.params.id, req.body);
  });
  app.get('/__stats', async () => cache.stats());
  return { app, cache };
}

export const builders = {
  async limit({ version }) {
    const precomputed = bodies();
    const app = await base(version);
    app.get('/users/:id', (req, reply) => {
      reply.type('application/json; charset=utf-8').send(precomputed.get(req.params.id));
    });
    return { app };
  },
  // The limit row plus the headers a group-cache hit adds (etag, age, x-cache; Fastify sets content-length).
  async limitHeaders({ version, body }) {
    const precomputed = bodies(body);
    const etags = new Map([...precomputed].map(([id, body]) => [id, `W/"${body.length.toString(16)}-${id}"`]));
    const app = await base(version);
    app.get('/users/:id', (req, reply) => {
      reply
        .type('application/json; charset=utf-8')
        .header('etag', etags.get(req.params.id))
        .header('age', '0')
        .header('x-cache', 'HIT')
        .send(precomputed.get(req.params.id));
    });
    return { app };
  },
  // The route the miss rows are paired with: the same handler as the group-cache rows', no cache, no plugin.
  async json({ version, body }) {
    const payload = payloadOf(body);
    const app = await base(version);
    app.get('/users/:id', async (req) => payload(req.params.id));
    return { app };
  },
  ...groupCacheBuilders(groupCacheApp),
  write: (options) => writeApp(undefined, options),
  gcMemoryWrite: (options) => writeApp('memory', options),
  gcRedisWrite: (options) => writeApp('redis', options),
};

export async function build(kind, options) {
  if (!Object.hasOwn(builders, kind)) throw new Error(`no Fastify row of kind ${kind}`);
  const { app, cache } = await builders[kind](options);
  await app.ready();
  return { handler: (req, res) => app.routing(req, res), cache };
}
