// Per-user responses on Express: a profile and an article feed with `favorited` flags, cached per user.
// The user is in the key (and in a group), so one user's page is never served to another.
// Run: node examples/per-user.mjs   (PORT=3002 by default; listens on 127.0.0.1 unless HOST is set)
import { pathToFileURL } from 'node:url';
import express from 'express';
import { createCache } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { listen } from './listen.mjs';

// Stand-ins for a session store or a token check, and for the database.
const TOKENS = new Map([
  ['token-ada', 'ada'],
  ['token-grace', 'grace'],
]);
const ARTICLES = [
  { id: '1', title: 'Group keys' },
  { id: '2', title: 'Read your writes' },
];

// Authentication runs before groupCache(), so the key function can read req.user.
function authenticate(req, res, next) {
  const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
  const user = token === undefined ? undefined : TOKENS.get(token);
  if (user === undefined) return res.status(401).json({ error: 'unauthorized' });
  req.user = user;
  next();
}

/** Builds the app. `cache` defaults to a new in-memory cache (tests pass their own). */
export function createApp({ cache = createCache() } = {}) {
  const favorites = new Map([...TOKENS.values()].map((user) => [user, new Set()]));
  const calls = { me: 0, feed: 0 };
  // The user is in the key, and in a group that the user's own writes expire. The requests carry
  // Authorization, so the route must opt in with allowAuthorization: true (otherwise they bypass the cache).
  const perUser = (page) =>
    groupCache((req) => ({ key: `${page}:${req.user}`, groups: [`user:${req.user}`] }), { cache, allowAuthorization: true });

  const app = express();
  app.use(expireGroups({ cache })); // first: it also dates every fill from when the request entered the app
  app.use(authenticate);

  app.get('/me', perUser('me'), (req, res) => {
    calls.me++;
    res.json({ user: req.user, favorites: favorites.get(req.user).size });
  });

  app.get('/feed', perUser('feed'), (req, res) => {
    calls.feed++;
    const mine = favorites.get(req.user);
    res.json(ARTICLES.map((article) => ({ ...article, favorited: mine.has(article.id) })));
  });

  app.put('/articles/:id/favorite', (req, res) => {
    favorites.get(req.user).add(req.params.id);
    res.locals.expireGroups = `user:${req.user}`; // this user's pages only; the others stay cached
    res.json({ ok: true });
  });

  app.locals.calls = calls;
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  listen(createApp(), 3002, (url) => {
    console.log(`group-cache per-user demo on ${url}

  curl -si -H 'Authorization: Bearer token-ada' ${url}/feed       # X-Cache: MISS, then HIT for Ada
  curl -si -H 'Authorization: Bearer token-grace' ${url}/feed     # X-Cache: MISS: Grace gets her own page
  curl -si -X PUT -H 'Authorization: Bearer token-ada' ${url}/articles/1/favorite
  curl -si -H 'Authorization: Bearer token-ada' ${url}/feed       # MISS, article 1 favorited; Grace's is still a HIT
`);
  });
}
