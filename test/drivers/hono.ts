import type { IncomingHttpHeaders } from 'node:http';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import type { GroupNames } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/hono';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { AdapterDriver, RequestView, RouteResponse, RouteSpec } from '../helpers/adapter-conformance.js';

type HonoContext = Context<{ Bindings: HttpBindings }>;

const view = (c: HonoContext): RequestView => ({
  params: c.req.param() as Record<string, string>,
  method: c.req.method,
  headers: c.env.incoming.headers as IncomingHttpHeaders,
});

/*
 * What the handler decides goes through c.set(). A value the suite gives as a getter (one that throws, say) is read
 * where a Hono handler's values are read, through c.get(): the context's get answers that name with the getter.
 */
function setLocals(c: HonoContext, locals: Readonly<Record<string, unknown>>): void {
  const getters = new Map<string, () => unknown>();
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(locals))) {
    if (descriptor.get) getters.set(name, descriptor.get.bind(locals));
    else c.set(name as 'cacheGroups', descriptor.value as GroupNames);
  }
  if (getters.size === 0) return;
  const get = c.get;
  c.get = ((name: string) => (getters.has(name) ? getters.get(name)?.() : get(name as 'cacheGroups'))) as typeof c.get;
}

function send(c: HonoContext, answer: RouteResponse): Response {
  if (answer.expireGroups !== undefined) c.set('expireGroups', answer.expireGroups as GroupNames);
  if (answer.locals !== undefined) setLocals(c, answer.locals);
  const headers = { ...answer.headers };
  const body = answer.body;
  const status = answer.status as StatusCode;
  // Hono sends a string or Uint8Array as is (c.body), an object as JSON (c.json), nothing as an empty body.
  if (body === undefined) return c.body(null, status, headers);
  if (typeof body === 'string' || Buffer.isBuffer(body))
    return c.body(body as string | Uint8Array<ArrayBuffer>, status as ContentfulStatusCode, headers);
  return c.json(body, status as ContentfulStatusCode, headers);
}

/** The route's answer; an error carrying an HTTP status is thrown the Hono way, as an HTTPException. */
async function answer(route: RouteSpec, c: HonoContext): Promise<RouteResponse> {
  try {
    return await route.handle(view(c));
  } catch (error) {
    const status: unknown = (error as { status?: unknown }).status;
    if (typeof status !== 'number') throw error;
    throw new HTTPException(status as ContentfulStatusCode, { message: (error as Error).message, cause: error });
  }
}

/** The Hono driver: a Hono 4 app served by @hono/node-server's request listener. */
export function honoDriver(name: string): AdapterDriver {
  return {
    name,
    build({ cache, routes, expire }) {
      const app = new Hono<{ Bindings: HttpBindings }>();
      app.use(expireGroups({ ...expire, cache }));
      for (const route of routes) {
        const handle = async (c: HonoContext) => send(c, await answer(route, c));
        if (route.cached) {
          const { keyFn, options = {} } = route.cached;
          // The suite's predicates read the request view, as its key functions do.
          const refresh = options.refresh;
          const viewed = { ...options, cache, refresh: refresh && ((c: HonoContext) => refresh(view(c))) };
          app[route.method](
            route.path,
            groupCache<{ Bindings: HttpBindings }>((c) => keyFn(view(c)), viewed),
            handle,
          );
        } else app[route.method](route.path, handle);
      }
      return getRequestListener(app.fetch);
    },
  };
}
