/*
 * Type tests for group-cache/koa with @koa/router, compiled by test/package/types.test.ts with TypeScript 5 and 7.
 * @types/koa covers Koa 2 and 3 alike. Nothing here runs.
 */
import Router from '@koa/router';
import { expectTypeOf } from 'expect-type';
import { addExpireGroups, expireGroups, groupCache } from 'group-cache/koa';
import Koa, { type Context } from 'koa';

const app = new Koa();
const router = new Router();
app.use(expireGroups());

router.get(
  '/users/:id',
  groupCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: [`user_group_${ctx.params.id}`, 'users'] })),
  async (ctx) => {
    expectTypeOf(ctx.params).toEqualTypeOf<Record<string, string>>(); // @koa/router's own, as without the cache
    ctx.body = { id: ctx.params.id };
  },
);
router.put('/users/:id', async (ctx) => {
  ctx.state.expireGroups = [`user_group_${ctx.params.id}`];
  addExpireGroups(ctx, 'users');
  ctx.body = { ok: true };
});
app.use(groupCache((ctx) => (ctx.method === 'GET' ? ctx.originalUrl : null)));
app.use(router.routes());

groupCache((ctx) => {
  expectTypeOf(ctx).toEqualTypeOf<Context>();
  return undefined;
});
// @ts-expect-error a key function returns a key, a spec, a [key, groups] pair or a falsy value
groupCache(() => 42);
