// A small users API on Hono (under Node, with @hono/node-server) and group-cache on the embedded in-memory store:
// the Express demo, on Hono. Run: npm run start:hono   (PORT=3003 by default; listens on 127.0.0.1 unless HOST is
// set, see listen.mjs)
import { getRequestListener } from '@hono/node-server';
import { createCache } from 'group-cache';
import { expireGroups, groupCache, inspector } from 'group-cache/hono';
import { Hono } from 'hono';
import { listen } from './listen.mjs';

const cache = createCache({ ttl: 60_000 });
cache.on('error', (error) => console.error(`[group-cache] ${error.code}: ${error.message}`));

const users = new Map([
  ['1', { id: '1', name: 'Ada', email: 'ada@example.com' }],
  ['2', { id: '2', name: 'Grace', email: 'grace@example.com' }],
]);
let nextId = 3;
const slowRead = () => new Promise((resolve) => setTimeout(resolve, 50)); // pretend the database is slow

const app = new Hono();
app.use(expireGroups({ cache })); // expires c.get('expireGroups') after a successful write, before the response
// The inspector page under /_cache. Open for the demo only: a real app puts its own authentication in front of it,
// e.g. app.use('/_cache/*', basicAuth({ ... }), page).
const page = inspector({ cache, prefix: '/_cache' });
app.use('/_cache', page);
app.use('/_cache/*', page);

app.get(
  '/users',
  groupCache(() => ({ key: 'users_list', groups: ['users'] }), { cache }),
  async (c) => {
    await slowRead();
    return c.json([...users.values()]);
  },
);

app.get(
  '/users/:id',
  groupCache((c) => ({ key: `user_${c.req.param('id')}`, groups: [`user_group_${c.req.param('id')}`, 'users'] }), {
    cache,
  }),
  async (c) => {
    await slowRead();
    const user = users.get(c.req.param('id'));
    if (!user) return c.json({ error: 'not found' }, 404); // 404s are not stored
    return c.json(user);
  },
);

app.put('/users/:id', async (c) => {
  const user = users.get(c.req.param('id'));
  if (!user) return c.json({ error: 'not found' }, 404); // no expiry on a failed write
  Object.assign(user, await c.req.json().catch(() => ({})), { id: user.id });
  c.set('expireGroups', [`user_group_${user.id}`, 'users']);
  return c.json(user);
});

app.post('/users', async (c) => {
  const user = { ...(await c.req.json().catch(() => ({}))), id: String(nextId++) };
  users.set(user.id, user);
  c.set('expireGroups', 'users');
  return c.json(user, 201);
});

app.delete('/users/:id', (c) => {
  if (!users.delete(c.req.param('id'))) return c.json({ error: 'not found' }, 404);
  c.set('expireGroups', [`user_group_${c.req.param('id')}`, 'users']);
  return c.body(null, 204);
});

app.get('/stats', (c) => c.json(cache.stats()));

listen(getRequestListener(app.fetch), 3003, (url) => {
  console.log(`group-cache Hono demo on ${url} (in-memory store)

  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (handler ran)
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: HIT  (served from the cache)
  curl -si -X PUT -H 'content-type: application/json' -d '{"name":"Ada L."}' ${url}/users/1
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (user_group_1 was expired by the PUT)
  curl -s  ${url}/stats                             # hits, misses, stores, bytes, ...
  open ${url}/_cache/                               # the inspector page
`);
});
