import Router from '@koa/router';
import { expireGroups, groupCache } from 'group-cache/koa';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import type { AdapterDriver, RequestView, RouteResponse } from '../helpers/adapter-conformance.js';

type RouterContext = Context & { params: Record<string, string> };

const view = (ctx: RouterContext): RequestView => ({ params: ctx.params, method: ctx.method, headers: ctx.headers });

function send(ctx: Context, answer: RouteResponse): void {
  if (answer.expireGroups !== undefined) ctx.state.expireGroups = answer.expireGroups;
  if (answer.locals !== undefined) Object.defineProperties(ctx.state, Object.getOwnPropertyDescriptors(answer.locals));
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
  // Koa sends an object as JSON, a string or Buffer as is; with no body the status alone.
  if (answer.body !== undefined) ctx.body = answer.body;
}

/** The Koa driver with @koa/router, for any Koa module with the v2/v3 API (`koa` and `koa2`). */
export function koaDriver(name: string, KoaApp: typeof Koa): AdapterDriver {
  return {
    name,
    build({ cache, routes, expire }) {
      const app = new KoaApp();
      app.silent = true; // the tests provoke errors on purpose
      const router = new Router();
      for (const route of routes) {
        const handlers: Middleware[] = [];
        if (route.cached) {
          const { keyFn, options } = route.cached;
          handlers.push(groupCache<RouterContext>((ctx) => keyFn(view(ctx)), { ...options, cache }));
        }
        handlers.push(async (ctx) => send(ctx, await route.handle(view(ctx as RouterContext))));
        router[route.method](route.path, ...handlers);
      }
      app.use(expireGroups({ ...expire, cache }));
      app.use(router.routes());
      app.use(router.allowedMethods());
      return app.callback();
    },
  };
}
