/*
 * Type tests for group-cache/hono and group-cache/fetch, compiled by test/package/types.test.ts with TypeScript 5 and
 * 7. Nothing here runs.
 */
import { expectTypeOf } from 'expect-type';
import type { GroupNames } from 'group-cache';
import { groupCache as cacheFetch, expireGroups as expireFetch, type FetchHandler, requestLocals } from 'group-cache/fetch';
import { addExpireGroups, expireGroups, type GroupCacheVariables, groupCache, inspector } from 'group-cache/hono';
import { type Context, type Env, Hono } from 'hono';

const app = new Hono();
app.use(expireGroups());
app.use('/_cache/*', inspector({ prefix: '/_cache' }));

// A key function sees the params as Hono types them in a middleware that does not know its path...
app.get(
  '/posts/:id',
  groupCache((c) => {
    expectTypeOf(c.req.param('id')).toEqualTypeOf<string | undefined>();
    return `post_${c.req.param('id')}`;
  }),
  (c) => c.text('post'),
);
// ...and as the route's own once it is named.
app.get(
  '/users/:id',
  groupCache<Env, '/users/:id'>((c) => {
    expectTypeOf(c.req.param('id')).toEqualTypeOf<string>();
    return { key: `user_${c.req.param('id')}`, groups: ['users'] };
  }),
  (c) => {
    // The route's own types, as without the cache.
    expectTypeOf(c.req.param('id')).toEqualTypeOf<string>();
    c.set('cacheGroups', ['people']);
    c.set('cacheTtl', 5_000);
    c.set('cacheSkip', false);
    return c.json({ id: c.req.param('id') });
  },
);
app.put('/users/:id', (c) => {
  c.set('expireGroups', [`user_group_${c.req.param('id')}`]);
  addExpireGroups(c, 'users');
  expectTypeOf(c.get('expireGroups')).toEqualTypeOf<GroupNames | undefined>();
  // @ts-expect-error a TTL is a number of milliseconds
  c.set('cacheTtl', '5s');
  // @ts-expect-error groups are names (strings or numbers)
  c.set('expireGroups', { users: true });
  return c.json({ ok: true });
});

// An app with Variables of its own keeps them beside the cache's.
type AppEnv = { Variables: { user: { id: string } } & GroupCacheVariables };
const typed = new Hono<AppEnv>();
typed.get(
  '/me',
  groupCache<AppEnv>((c) => {
    expectTypeOf(c).toEqualTypeOf<Context<AppEnv, string>>();
    return `me_${c.get('user').id}`;
  }),
  (c) => c.text(c.get('user').id),
);

// @ts-expect-error a key function returns a key, a spec, a [key, groups] pair or a falsy value
groupCache(() => 42);
// @ts-expect-error the Hono inspector needs the prefix it is mounted under
inspector({});

// group-cache/fetch: a Request in, a Response out; extra arguments pass through.
const read: FetchHandler<[env: { region: string }]> = cacheFetch(
  (request) => new URL(request.url).pathname,
  (request, env) => {
    requestLocals(request).cacheGroups = ['users'];
    return new Response(`${request.method} ${env.region}`);
  },
);
const handler = expireFetch(async (request: Request, env: { region: string }) => {
  if (request.method === 'GET') return read(request, env);
  requestLocals(request).expireGroups = ['users'];
  return new Response(null, { status: 204 });
});
expectTypeOf(handler).parameters.toEqualTypeOf<[Request, { region: string }]>();
// @ts-expect-error cacheTtl is a number of milliseconds
requestLocals(new Request('http://x/')).cacheTtl = '5s';
