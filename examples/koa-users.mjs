// A small users API on Koa with group-cache on the embedded in-memory store (the Express demo, on Koa).
// Run: npm run start:koa   (PORT=3001 by default; listens on 127.0.0.1 unless HOST is set, see listen.mjs)
import Router from '@koa/router';
import { createCache } from 'group-cache';
import { expireGroups, groupCache, inspector } from 'group-cache/koa';
import Koa from 'koa';
import { listen } from './listen.mjs';

const cache = createCache({ ttl: 60_000 });
cache.on('error', (error) => console.error(`[group-cache] ${error.code}: ${error.message}`));

const users = new Map([
  ['1', { id: '1', name: 'Ada', email: 'ada@example.com' }],
  ['2', { id: '2', name: 'Grace', email: 'grace@example.com' }],
]);
let nextId = 3;
const slowRead = () => new Promise((resolve) => setTimeout(resolve, 50)); // pretend the database is slow

// Koa has no body parser built in; a tiny JSON one keeps the demo dependency-free.
async function jsonBody(ctx, next) {
  if (ctx.is('application/json')) {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    try {
      ctx.request.body = text ? JSON.parse(text) : {};
    } catch {
      ctx.throw(400, 'invalid JSON');
    }
  }
  await next();
}

const app = new Koa();
const router = new Router();
app.use(expireGroups({ cache })); // expires ctx.state.expireGroups after a successful write, before the reply
app.use(jsonBody);
// The inspector page under /_cache (Koa has no mount path: the prefix says where). Open for the demo only: a real
// app puts its own authentication in front, e.g. a middleware that checks ctx.path.startsWith('/_cache').
app.use(inspector({ cache, prefix: '/_cache' }));

router.get(
  '/users',
  groupCache(() => ({ key: 'users_list', groups: ['users'] }), { cache }),
  async (ctx) => {
    await slowRead();
    ctx.body = [...users.values()];
  },
);

router.get(
  '/users/:id',
  groupCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: [`user_group_${ctx.params.id}`, 'users'] }), { cache }),
  async (ctx) => {
    await slowRead();
    const user = users.get(ctx.params.id);
    if (!user) {
      ctx.status = 404; // 404s are not stored
      ctx.body = { error: 'not found' };
      return;
    }
    ctx.body = user;
  },
);

router.put('/users/:id', (ctx) => {
  const user = users.get(ctx.params.id);
  if (!user) {
    ctx.status = 404; // no expiry on a failed write
    ctx.body = { error: 'not found' };
    return;
  }
  Object.assign(user, ctx.request.body ?? {}, { id: user.id });
  ctx.state.expireGroups = [`user_group_${user.id}`, 'users'];
  ctx.body = user;
});

router.post('/users', (ctx) => {
  const user = { ...(ctx.request.body ?? {}), id: String(nextId++) };
  users.set(user.id, user);
  ctx.state.expireGroups = 'users';
  ctx.status = 201;
  ctx.body = user;
});

router.delete('/users/:id', (ctx) => {
  if (!users.delete(ctx.params.id)) {
    ctx.status = 404;
    ctx.body = { error: 'not found' };
    return;
  }
  ctx.state.expireGroups = [`user_group_${ctx.params.id}`, 'users'];
  ctx.status = 204;
});

router.get('/stats', (ctx) => {
  ctx.body = cache.stats();
});

app.use(router.routes());
app.use(router.allowedMethods());

listen(app.callback(), 3001, (url) => {
  console.log(`group-cache Koa demo on ${url} (in-memory store)

  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (handler ran)
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: HIT  (served from the cache)
  curl -si -X PUT -H 'content-type: application/json' -d '{"name":"Ada L."}' ${url}/users/1
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (user_group_1 was expired by the PUT)
  curl -s  ${url}/stats                             # hits, misses, stores, bytes, ...
  open ${url}/_cache/                               # the inspector page
`);
});
