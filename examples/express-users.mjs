// A small users API on Express with group-cache on the embedded in-memory store.
// Run: npm start   (PORT=3000 by default)
import express from 'express';
import { createCache } from 'group-cache';
import { expireGroups, groupCache, inspector } from 'group-cache/express';

const cache = createCache({ ttl: 60_000 });
cache.on('error', (error) => console.error(`[group-cache] ${error.code}: ${error.message}`));

const users = new Map([
  ['1', { id: '1', name: 'Ada', email: 'ada@example.com' }],
  ['2', { id: '2', name: 'Grace', email: 'grace@example.com' }],
]);
let nextId = 3;
const slowRead = () => new Promise((resolve) => setTimeout(resolve, 50)); // pretend the database is slow

const app = express();
app.use(express.json());
app.use(expireGroups({ cache })); // expires res.locals.expireGroups after a successful write, before the reply

app.get(
  '/users',
  groupCache(() => ({ key: 'users_list', groups: ['users'] }), { cache }),
  async (_req, res) => {
    await slowRead();
    res.json([...users.values()]);
  },
);

app.get(
  '/users/:id',
  groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), { cache }),
  async (req, res) => {
    await slowRead();
    const user = users.get(req.params.id);
    if (!user) return res.status(404).json({ error: 'not found' }); // 404s are not stored
    res.json(user);
  },
);

app.put('/users/:id', (req, res) => {
  const user = users.get(req.params.id);
  if (!user) return res.status(404).json({ error: 'not found' }); // no expiry on a failed write
  Object.assign(user, req.body ?? {}, { id: user.id });
  res.locals.expireGroups = [`user_group_${user.id}`, 'users'];
  res.json(user);
});

app.post('/users', (req, res) => {
  const user = { ...(req.body ?? {}), id: String(nextId++) };
  users.set(user.id, user);
  res.locals.expireGroups = 'users';
  res.status(201).json(user);
});

app.delete('/users/:id', (req, res) => {
  if (!users.delete(req.params.id)) return res.status(404).json({ error: 'not found' });
  res.locals.expireGroups = [`user_group_${req.params.id}`, 'users'];
  res.status(204).end();
});

app.get('/stats', (_req, res) => res.json(cache.stats()));

// The inspector page: counters, hit ratio, recent decisions, key lookup, expire a group. Open for the demo only:
// a real app mounts it behind its own authentication, e.g. app.use('/_cache', requireAdmin, inspector({ cache })).
app.use('/_cache', inspector({ cache }));

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, () => {
  const url = `http://localhost:${server.address().port}`;
  console.log(`group-cache Express demo on ${url} (in-memory store)

  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (handler ran)
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: HIT  (served from the cache)
  curl -si -X PUT -H 'content-type: application/json' -d '{"name":"Ada L."}' ${url}/users/1
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (user_group_1 was expired by the PUT)
  curl -s  ${url}/stats                             # hits, misses, stores, bytes, ...
  open ${url}/_cache/                               # the inspector page
`);
});
