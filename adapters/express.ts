import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import type { RequiresTypes } from '../lib/core/peer-types.js';
import type { GroupCache } from '../lib/engine/cache.js';
import { CachedRoute, type Outcome, type RouteOptions } from '../lib/http/cached-route.js';
import { Inspector, type InspectorOptions, type InspectorResponse, readNodeBody, splitUrl } from '../lib/http/inspector.js';
import { checkMountOrder, type MountedLayer } from '../lib/http/mount-order.js';
import { prepareNodeResponse, sendNodeReplay } from '../lib/http/node-capture.js';
import { holdEndForExpiry } from '../lib/http/node-expiry.js';
import { LazyRequestInfo, type RequestDescriber } from '../lib/http/request-info.js';
import { enteredAt, markExpiryPath, onExpiryPath } from '../lib/http/request-mark.js';
import {
  appendExpireGroups,
  type ExpireOptions,
  notOnPath,
  requestIdOf,
  type WriteRequest,
  writeExpiry,
} from '../lib/http/write-expiry.js';

export type { ExpireOptions, InspectorOptions, KeyFunction, RouteOptions };

type ExpressTypes<Param> = RequiresTypes<
  Request,
  'group-cache/express types its routes with Express: npm install --save-dev @types/express',
  Param
>;

/**
 * The middleware `groupCache()` and `expireGroups()` return. It is generic in Express's route types so that, mounted
 * before a typed handler, it leaves the route's types to the path and the handlers: given a plain `RequestHandler`
 * (`ParamsDictionary`), Express infers the route's `req.params` from it, and under @types/express 5 `req.params.id`
 * of `'/users/:id'` becomes `string | string[]` in the handlers after it.
 */
// biome-ignore lint/suspicious/noExplicitAny: Express's own bound on its locals type (an interface has no index signature to meet `unknown`)
export type GroupCacheMiddleware = <P, ResBody, ReqBody, ReqQuery, Locals extends Record<string, any>>(
  req: Request<P, ResBody, ReqBody, ReqQuery, Locals>,
  res: Response<ResBody, Locals>,
  next: NextFunction,
) => void;

/** The matched route's pattern (mount path included), else the path. */
function routeOf(req: Request): string {
  const path: unknown = req.route?.path;
  return `${req.baseUrl}${typeof path === 'string' ? path : req.path}`;
}

const DESCRIBER: RequestDescriber<Request> = {
  where: (req) => `${req.method} ${routeOf(req)}`,
  url: (req) => req.originalUrl,
};

interface Layer {
  name?: string;
  route?: unknown;
}

/*
 * The app's middleware list, from its router stack (Express 5: `app.router`; Express 4 keeps it in `app._router`,
 * and its `app.router` getter throws). A route's layer, and a mounted router, answer routes.
 */
function mountedLayers(app: object): MountedLayer[] | undefined {
  let stack: unknown;
  try {
    const holder = app as { _router?: { stack?: unknown }; router?: { stack?: unknown } };
    stack = (holder._router ?? holder.router)?.stack;
  } catch {
    return undefined;
  }
  if (!Array.isArray(stack)) return undefined;
  return (stack as Layer[]).map((layer) => ({
    name: layer.name,
    answersRoutes: layer.route !== undefined || layer.name === 'router',
  }));
}

const MOUNTED_LATE =
  'app.use(expireGroups()) is mounted after the routes: writes handled by them never reach it, so ' +
  'res.locals.expireGroups is never expired. Mount it before the routes.';

function checkApp(req: Request, cache: GroupCache): void {
  const app: unknown = req.app;
  if (typeof app === 'function') checkMountOrder(app, cache, () => mountedLayers(app), MOUNTED_LATE);
}

function apply(outcome: Outcome, req: Request, res: Response, next: NextFunction, cache: GroupCache): void {
  if (outcome.type === 'hit') {
    sendNodeReplay(res, outcome.replay);
    return;
  }
  checkApp(req, cache);
  prepareNodeResponse(outcome, res, () => res.locals);
  next();
}

/**
 * Caches a route's whole response under the key its key function returns, tagged with its groups.
 *
 * ```js
 * app.get('/users/:id', groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] })), handler);
 * ```
 * @param keyFn gets `req`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a falsy value to
 *   bypass the cache for this request. May be async. If it throws, the request is served uncached and the cache
 *   emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 */
export function groupCache<Req extends Request = Request>(
  keyFn: ExpressTypes<KeyFunction<Req>>,
  options?: RouteOptions<GroupCache, Req>,
): GroupCacheMiddleware;
// The implementation is a plain RequestHandler; the signature above is the one routes see (see GroupCacheMiddleware).
export function groupCache<Req extends Request = Request>(
  keyFn: ExpressTypes<KeyFunction<Req>>,
  options?: RouteOptions<GroupCache, Req>,
): RequestHandler {
  const route = new CachedRoute<Req>(keyFn, options);
  // The mount-order check reads req.app, slow on Express (see lib/http/request-info.ts): it runs on this
  // middleware's first request, then on misses only, never on a hit.
  let checked = false;
  return function groupCacheMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (!checked) {
      checked = true;
      checkApp(req, route.cache);
    }
    const info = new LazyRequestInfo(req, DESCRIBER, req.method, req.headers, enteredAt(req));
    const outcome = route.begin(req as Req, info);
    if (outcome instanceof Promise) outcome.then((value) => apply(value, req, res, next, route.cache), next);
    else apply(outcome, req, res, next, route.cache);
  };
}

/**
 * Expires the groups a write route names in `res.locals.expireGroups` (a string or an array), once the route
 * answered with a success (2xx or 3xx by default), and before the response reaches the client: `res.end` is held
 * until the store has recorded the expiry, so the client's next read never sees pre-write data.
 */
export function expireGroups(options?: ExpireOptions): GroupCacheMiddleware;
export function expireGroups(options?: ExpireOptions): RequestHandler {
  const settings = writeExpiry(options);
  return function expireGroupsMiddleware(req: Request, res: Response, next: NextFunction): void {
    markExpiryPath(req);
    const request = (): WriteRequest => ({
      method: req.method,
      route: routeOf(req),
      requestId: requestIdOf(req.headers, res.getHeader('x-request-id')),
    });
    holdEndForExpiry(res, settings, () => res.locals.expireGroups, next, request);
    next();
  };
}

/** Adds groups for `expireGroups()` to expire once this write succeeds (appends to `res.locals.expireGroups`). */
export function addExpireGroups(res: Response, groups: GroupNames): void {
  if (!onExpiryPath(res.req)) throw notOnPath('res.locals.expireGroups', 'app.use(expireGroups())');
  appendExpireGroups(res.locals, groups);
}

/**
 * The inspector page (hit ratio and why requests missed, per-minute history, routes, recent decisions, key lookup,
 * group expiry) and its JSON API.
 * Serves nothing until mounted; mount it behind your own authentication:
 *
 * ```js
 * app.use('/_cache', requireAdmin, inspector({ cache }));
 * ```
 * Paths under the mount point that are not the inspector's go to `next()`. `close()` stops recording decisions.
 */
export function inspector(options?: InspectorOptions): RequestHandler & { close(): void } {
  const core = new Inspector(options);
  function send(res: Response, answer: InspectorResponse): void {
    res.status(answer.status);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end(answer.body);
  }
  const middleware = function groupCacheInspector(req: Request, res: Response, next: NextFunction): void {
    const { fullPath, query } = splitUrl(req.originalUrl);
    // Express strips the mount point (`/_cache` and `/_cache/` both read as `/`): the original URL tells them apart.
    const path = req.path === '/' && !fullPath.endsWith('/') ? '' : req.path;
    const request = {
      method: req.method,
      path,
      fullPath,
      query,
      headers: req.headers,
      readBody: (limit: number) => readNodeBody(req, req.body, limit),
    };
    core.handle(request).then((answer) => (answer === undefined ? next() : send(res, answer)), next);
  };
  return Object.assign(middleware, { close: () => core.close() });
}
