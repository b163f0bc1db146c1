/*
 * Type tests for group-cache/fastify, compiled by test/package/types.test.ts with TypeScript 5 and 7 against Fastify 5
 * (tsconfig.json) and 4 (tsconfig.v4.json maps `fastify` to fastify4). Nothing here runs.
 */

import { expectTypeOf } from 'expect-type';
import Fastify, { type FastifyRequest } from 'fastify';
import { addExpireGroups, expireGroups, type GroupCacheHook, groupCache } from 'group-cache/fastify';

const app = Fastify();
await app.register(expireGroups());

// The key function's request is inferred from the route it is a hook of (issue 27, 11b): no type argument.
app.get<{ Params: { id: string } }>(
  '/users/:id',
  {
    onRequest: groupCache((req) => {
      expectTypeOf(req.params).toEqualTypeOf<{ id: string }>();
      return { key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] };
    }),
  },
  async (req) => ({ id: req.params.id }),
);
app.get<{ Params: { id: string }; Querystring: { page?: string } }>(
  '/users/:id/posts',
  {
    preHandler: [
      async () => {},
      groupCache((req) => {
        expectTypeOf(req.query).toEqualTypeOf<{ page?: string }>();
        return `posts_${req.params.id}_${req.query.page ?? '1'}`;
      }),
    ],
  },
  async () => [],
);
app.route<{ Params: { slug: string } }>({
  method: 'GET',
  url: '/articles/:slug',
  onRequest: groupCache((req) => `article_${req.params.slug}`),
  handler: async (req) => req.params.slug,
});

// A route with no generic: params are unknown, as in any of its hooks.
app.get(
  '/untyped',
  {
    onRequest: groupCache((req) => {
      expectTypeOf(req.params).toBeUnknown();
      return 'untyped';
    }),
  },
  async () => 'ok',
);
app.get(
  '/untyped/:id',
  {
    onRequest: groupCache((req) => {
      // @ts-expect-error a route with no generic says nothing of its params
      return req.params.id;
    }),
  },
  async () => 'ok',
);

// Declared apart from the route, the request type is named once and the hook fits the route.
type UserRequest = FastifyRequest<{ Params: { id: string } }>;
const byId = groupCache<UserRequest>((req) => `user_${req.params.id}`, { ttl: 5_000 });
expectTypeOf(byId).toEqualTypeOf<GroupCacheHook<UserRequest>>();
app.get<{ Params: { id: string } }>('/people/:id', { onRequest: byId }, async (req) => req.params.id);
app.get<{ Params: { slug: string } }>(
  '/pages/:slug',
  // @ts-expect-error a hook keyed on params this route does not have
  { onRequest: byId },
  async () => 'ok',
);
// An untyped hook fits every route.
const everything = groupCache(() => 'k');
app.get<{ Params: { id: string } }>('/things/:id', { onRequest: everything }, async () => 'ok');

app.put<{ Params: { id: string } }>('/users/:id', async (req, reply) => {
  reply.expireGroups = [`user_group_${req.params.id}`];
  addExpireGroups(reply, 'users');
  reply.cacheTtl = 1_000;
  // @ts-expect-error group names are strings (or numbers, for ids)
  reply.expireGroups = [{}];
  return { ok: true };
});

// @ts-expect-error a key function returns a key, a spec, a [key, groups] pair or a falsy value
groupCache(() => 42);
