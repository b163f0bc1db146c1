// Fastify rows (5 and 4). Each builder returns `{ app, cache? }`; build() hands server.mjs a request listener.
import { bodies, user, userKey } from './payload.mjs';

async function base(version) {
  const fastify = (await import(version === 4 ? 'fastify4' : 'fastify')).default;
  return fastify();
}

async function groupCacheApp(version, store) {
  const { createCache } = await import('group-cache');
  const { groupCache, expireGroups } = await import('group-cache/fastify');
  const cache = createCache({ store: await store(), ttl: 600_000 });
  const app = await base(version);
  await app.register(expireGroups({ cache }));
  app.get('/users/:id', { onRequest: groupCache((req) => userKey(req.params.id), { cache }) }, async (req) =>
    user(req.params.id),
  );
  app.put('/users/:id', async (req, reply) => {
    reply.expireGroups = [`user_group_${req.params.id}`];
    return user(req.params.id);
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
  async limitHeaders({ version }) {
    const precomputed = bodies();
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
  async gcMemory({ version }) {
    const { memoryStore } = await import('group-cache');
    return groupCacheApp(version, () => memoryStore({ maxBytes: 256 * 2 ** 20 }));
  },
  async gcRedis({ version, redisUrl, prefix }) {
    const { redisStore } = await import('group-cache/redis');
    const { Redis } = await import('ioredis');
    return groupCacheApp(version, () => redisStore({ client: new Redis(redisUrl, { maxRetriesPerRequest: 1 }), prefix }));
  },
};

export async function build(kind, options) {
  const { app, cache } = await builders[kind](options);
  await app.ready();
  return { handler: (req, res) => app.routing(req, res), cache };
}
