/*
 * Type tests for group-cache/express, compiled by test/package/types.test.ts with TypeScript 5 and 7 against
 * @types/express 5 (tsconfig.json) and 4 (tsconfig.v4.json maps `express` to @types/express4). Nothing here runs:
 * a type that drifts fails the compile, an error that stops being one fails its @ts-expect-error.
 */

import { expectTypeOf } from 'expect-type';
import express, { type Request, type RequestHandler } from 'express';
import { addExpireGroups, expireGroups, type GroupCacheMiddleware, groupCache } from 'group-cache/express';

const app = express();
app.use(expireGroups());

// The route's params come from its path, with or without the cache in front (issue 27, 11a: a plain
// RequestHandler in front made them ParamsDictionary, `string | string[]` under @types/express 5).
app.get('/users/:id', (req, res) => {
  expectTypeOf(req.params).toEqualTypeOf<{ id: string }>();
  res.json({ id: req.params.id });
});
app.get(
  '/users/:id',
  groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] })),
  (req, res) => {
    expectTypeOf(req.params).toEqualTypeOf<{ id: string }>();
    const id: string = req.params.id;
    // @ts-expect-error not a parameter of this path: the path still types the handler's params
    req.params.name;
    res.json({ id });
  },
);

// Several middlewares, the cache and the per-route expiry among them, and a second handler after the first. (A
// middleware declared as a plain `RequestHandler` would widen the params itself: Express infers them from it.)
app.get(
  '/teams/:team/members/:member',
  (_req, _res, next) => next(),
  groupCache(() => 'k'),
  (req, _res, next) => {
    expectTypeOf(req.params).toEqualTypeOf<{ team: string } & { member: string }>();
    next();
  },
  (req, res) => {
    res.json({ team: req.params.team, member: req.params.member });
  },
);
app.put('/users/:id', expireGroups(), (req, res) => {
  expectTypeOf(req.params.id).toEqualTypeOf<string>();
  addExpireGroups(res, [`user_group_${req.params.id}`]);
  res.locals.expireGroups = 'users';
  res.json({ ok: true });
});

// Explicit generics (body, response body, query) reach the handler through the cache too.
app.post<{ id: string }, { ok: boolean }, { name: string }>('/users/:id/rename', expireGroups(), (req, res) => {
  expectTypeOf(req.body).toEqualTypeOf<{ name: string }>();
  res.json({ ok: true });
  // @ts-expect-error the response body type is { ok: boolean }
  res.json({ ok: 'yes' });
});

// On a Router, and mounted app-wide ahead of the routes.
const router = express.Router();
router.get(
  '/articles/:slug',
  groupCache((req) => `article_${req.params.slug}`),
  (req, res) => {
    expectTypeOf(req.params).toEqualTypeOf<{ slug: string }>();
    res.end();
  },
);
app.use(groupCache((req) => (req.method === 'GET' ? req.originalUrl : null)));
app.use('/api', router);

// The key function's request: Express's own by default, or the one named, whose params then type the key.
groupCache((req) => {
  expectTypeOf(req).toEqualTypeOf<Request>();
  return undefined;
});
groupCache<Request<{ id: string }>>((req) => {
  expectTypeOf(req.params.id).toEqualTypeOf<string>();
  return { key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`], ttl: 5_000 };
});
groupCache(async (req) => [`search_${String(req.query.q)}`, ['search']] as const);
// @ts-expect-error a key function returns a key, a spec, a [key, groups] pair or a falsy value
groupCache(() => 42);
// @ts-expect-error groups are strings
groupCache(() => ({ key: 'k', groups: [1] }));
// @ts-expect-error ttl is a number of ms
groupCache(() => 'k', { ttl: '5s' });

// The middleware is still a RequestHandler wherever one is asked for.
const asHandler: RequestHandler = groupCache(() => 'k');
const named: GroupCacheMiddleware = groupCache(() => 'k', { ttl: 5_000, staleWhileRevalidate: 1_000 });
void asHandler;
void named;
