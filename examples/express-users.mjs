// A small users API on Express with group-cache on the embedded in-memory store.
// Run: npm start   (PORT=3000 by default; listens on 127.0.0.1 unless HOST is set, see listen.mjs)
import compression from 'compression';
import express from 'express';
import { createCache } from 'group-cache';
import { expireGroups, groupCache, inspector } from 'group-cache/express';
import { listen } from './listen.mjs';

const cache = createCache({ ttl: 60_000 });
cache.on('error', (error) => console.error(`[group-cache] ${error.code}: ${error.message}`));

const users = new Map([
  ['1', { id: '1', name: 'Ada', email: 'ada@example.com' }],
  ['2', { id: '2', name: 'Grace', email: 'grace@example.com' }],
]);
let nextId = 3;
const slowRead = () => new Promise((resolve) => setTimeout(resolve, 50)); // pretend the database is slow

const app = express();
// Outside the cache (README, Compression): the cache keeps one identity entry, compression encodes every hit.
app.use(compression());
app.use(express.json());
app.use(expireGroups({ cache })); // expires res.locals.expireGroups after a successful write, before the reply

// A page for browsers (test/package/browser-demo.test.ts drives Chromium against it). Browsers keep their own copy, so
// tell them to revalidate every time: the ETag then turns a repeat visit into a 304, and a group expiry is seen.
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
app.get(
  '/',
  groupCache(() => ({ key: 'home', groups: ['users'] }), { cache, cacheControl: 'public, max-age=0, must-revalidate' }),
  async (_req, res) => {
    await slowRead();
    const rows = [...users.values()]
      .map((u) => `<tr><td>${escapeHtml(u.id)}</td><td>${escapeHtml(u.name)}</td><td>${escapeHtml(u.email)}</td></tr>`)
      .join('\n');
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>group-cache demo: users</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1>Users</h1>
<table><thead><tr><th>id</th><th>name</th><th>email</th></tr></thead><tbody>
${rows}
</tbody></table>
<p>This page is cached by <code>group-cache</code> under the key <code>home</code>, in the group <code>users</code>.
Reload it: the response header <code>X-Cache</code> says <code>HIT</code>, and your browser revalidates its own copy
with the <code>ETag</code> (a <code>304</code>). A write (<code>PUT /users/1</code>) expires the group
<code>users</code> before it answers, so the next load shows the new data.</p>
<p>The cache holds one identity copy; <code>compression()</code>, mounted before it, encodes each response for the
browser that asked (gzip or br).</p>
</body></html>`);
  },
);

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

listen(app, 3000, (url) => {
  console.log(`group-cache Express demo on ${url} (in-memory store; open ${url}/ in a browser)

  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (handler ran)
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: HIT  (served from the cache)
  curl -si -X PUT -H 'content-type: application/json' -d '{"name":"Ada L."}' ${url}/users/1
  curl -si ${url}/users/1 | grep -i x-cache        # X-Cache: MISS (user_group_1 was expired by the PUT)
  curl -s  ${url}/stats                             # hits, misses, stores, bytes, ...
  open ${url}/_cache/                               # the inspector page
`);
});
