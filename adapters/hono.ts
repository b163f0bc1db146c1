import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Env, MiddlewareHandler, Next } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import type { GroupCache } from '../lib/engine/cache.js';
import type { RouteOptions } from '../lib/http/cached-route.js';
import { type FetchExchange, FetchRoute } from '../lib/http/fetch-route.js';
import { Inspector, type InspectorOptions, readWebBody } from '../lib/http/inspector.js';
import { checkMountOrder, type MountedLayer } from '../lib/http/mount-order.js';
import { LazyRequestInfo, type RequestDescriber, type RequestInfo } from '../lib/http/request-info.js';
import { enteredAt, markExpiryPath, onExpiryPath } from '../lib/http/request-mark.js';
import { expireBeforeResponse } from '../lib/http/web-expiry.js';
import { pathAndQuery, webHeaderMap } from '../lib/http/web-response.js';
import { appendExpireGroups, type ExpireOptions, notOnPath, writeExpiry } from '../lib/http/write-expiry.js';

export type { ExpireOptions, InspectorOptions, KeyFunction, RouteOptions };

/**
 * What a Hono handler tells group-cache through `c.set()`: the groups a write expires, and what it decides about its
 * own cache entry. Every Hono app has them typed (group-cache/hono adds them to Hono's `ContextVariableMap`).
 */
export interface GroupCacheVariables {
  /** Groups to expire once this write succeeds, read by `expireGroups()` before the response goes out. */
  expireGroups?: GroupNames;
  /** More groups for this response's cache entry (a string, a number or a list). */
  cacheGroups?: GroupNames;
  /** This response's cache entry TTL in ms (at most MAX_TTL). */
  cacheTtl?: number;
  /** `true`: serve this response but do not store it (X-Cache: BYPASS). */
  cacheSkip?: boolean;
}

declare module 'hono' {
  interface ContextVariableMap extends GroupCacheVariables {}
}

/*
 * Under @hono/node-server, `c.env.incoming` is Node's request: its header map is the one the cache reads, and reading
 * it builds nothing (a `Request`'s `headers` there builds a whole native Request). Elsewhere, the Web headers.
 */
function requestHeaders(c: Context): IncomingHttpHeaders {
  const env: unknown = c.env;
  const incoming: unknown = typeof env === 'object' && env !== null ? (env as { incoming?: unknown }).incoming : undefined;
  const headers: unknown =
    typeof incoming === 'object' && incoming !== null ? (incoming as { headers?: unknown }).headers : undefined;
  return typeof headers === 'object' && headers !== null ? (headers as IncomingHttpHeaders) : webHeaderMap(c.req.raw.headers);
}

const DESCRIBER: RequestDescriber<Context> = {
  where: (c) => `${c.req.method} ${routePath(c) || c.req.path}`,
  url: (c) => pathAndQuery(c.req.url),
};

/*
 * The handler's `cacheGroups`, `cacheTtl` and `cacheSkip`, read through `c.get()` only when the capture reads them
 * (inside its guard: a value that cannot be read is reported, never the response's end).
 */
function handlerValues(c: Context): GroupCacheVariables {
  return {
    get cacheGroups() {
      return c.get('cacheGroups');
    },
    get cacheTtl() {
      return c.get('cacheTtl');
    },
    get cacheSkip() {
      return c.get('cacheSkip');
    },
  };
}

type Handler = ((...args: never[]) => unknown) & { __COMPOSED_HANDLER?: unknown };

/*
 * The handlers this request matched, in the order they were registered: an app-wide `app.use(expireGroups())` after a
 * route never runs for it (the route answers first). A sub-app's handlers (`app.route()`) are wrapped; the wrapper
 * keeps the original under Hono's `__COMPOSED_HANDLER`.
 */
function matchedLayers(c: Context): MountedLayer[] {
  return matchedRoutes(c).map(({ method, handler }) => {
    const own = (handler as Handler).__COMPOSED_HANDLER;
    const named = typeof own === 'function' ? own : handler;
    return { name: named.name, answersRoutes: method !== 'ALL' };
  });
}

/*
 * One request as the route cache sees it. A class, not an object literal: a literal with a getter takes V8's slow
 * path on every request, and a hit pays for every allocation here.
 */
class HonoExchange implements FetchExchange {
  readonly info: RequestInfo;
  ran = false;
  readonly #c: Context;
  readonly #next: Next;

  constructor(c: Context, next: Next, info: RequestInfo) {
    this.#c = c;
    this.#next = next;
    this.info = info;
  }

  signal(): AbortSignal {
    return this.#c.req.raw.signal;
  }

  locals(): GroupCacheVariables {
    return handlerValues(this.#c);
  }

  run(): Promise<Response> {
    this.ran = true;
    return this.#next().then(() => this.#c.res);
  }

  sent(): Response {
    return this.#c.res;
  }
}

const MOUNTED_LATE =
  'app.use(expireGroups()) is registered after the routes: Hono runs handlers in the order they were registered, so ' +
  "the writes those routes answer never reach it and c.set('expireGroups', ...) is never expired. Register it first.";

/**
 * Caches a route's whole response under the key its key function returns, tagged with its groups. Hono middleware:
 *
 * ```ts
 * app.get('/users/:id', groupCache((c) => ({ key: `user_${c.req.param('id')}`, groups: ['users'] })), handler);
 * ```
 * A hit answers with a new `Response` replayed from the entry and does not run the handler. A miss runs it and
 * stores its response as the body goes to the client (read once). Its `c.set('cacheGroups' | 'cacheTtl' |
 * 'cacheSkip', ...)` are read when the response is judged.
 * @param keyFn gets the Hono `Context`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a falsy
 *   value to bypass the cache for this request. May be async. If it throws, the request is served uncached and the
 *   cache emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 */
export function groupCache<E extends Env = Env, P extends string = string>(
  keyFn: KeyFunction<Context<E, P>>,
  options?: RouteOptions<GroupCache, Context<E, P>>,
): MiddlewareHandler<E, P> {
  const route = new FetchRoute<Context<E, P>>(keyFn, options);
  let checked = false;
  // Not async: a hit the store answers synchronously costs one resolved promise, no turn of an async function.
  return function groupCacheMiddleware(c: Context<E, P>, next: Next): Promise<Response | undefined> {
    if (!checked) {
      checked = true;
      checkMountOrder(route, route.cache, () => matchedLayers(c), MOUNTED_LATE);
    }
    const raw = c.req.raw;
    const info = new LazyRequestInfo<Context>(c, DESCRIBER, c.req.method, requestHeaders(c), enteredAt(raw));
    const exchange = new HonoExchange(c, next, info);
    // A hit is returned, for Hono to set as a handler's response; after the handler, c.res is replaced (emptied
    // first: Hono's setter would merge the handler's headers, a stale copy's Content-Length among them, into ours).
    const settle = (response: Response): Response | undefined => {
      if (!exchange.ran) return response;
      c.res = undefined;
      c.res = response;
      return undefined;
    };
    const answer = route.respond(c, exchange);
    return answer instanceof Promise ? answer.then(settle) : Promise.resolve(settle(answer));
  };
}

/**
 * Expires the groups a write route names with `c.set('expireGroups', ...)` (a string or an array; or with
 * {@link addExpireGroups}), once the route answered with a success (2xx or 3xx by default), and before the response
 * leaves the app: it awaits the store after `next()`, so the client's next read never sees pre-write data. With
 * `onError: 'fail'` (the default) a write whose expiry could not be recorded is answered 503 instead. Register it
 * before the routes: `app.use(expireGroups())`.
 */
export function expireGroups<E extends Env = Env>(options?: ExpireOptions): MiddlewareHandler<E> {
  const settings = writeExpiry(options);
  const expire = async (c: Context<E>, requested: unknown): Promise<void> => {
    const response = await expireBeforeResponse(settings, requested, c.res, c.req.raw, routePath(c, -1) || c.req.path);
    if (response === c.res) return;
    c.res = undefined;
    c.res = response;
  };
  // Not async: a request that names no groups (every read) costs no turn of an async function.
  return function expireGroupsMiddleware(c: Context<E>, next: Next): Promise<void> {
    markExpiryPath(c.req.raw);
    return next().then(() => {
      const requested: unknown = c.get('expireGroups');
      return requested === undefined || requested === null ? undefined : expire(c, requested);
    });
  };
}

/** Adds groups for `expireGroups()` to expire once this write succeeds (appends to `c.get('expireGroups')`). */
export function addExpireGroups(c: Context, groups: GroupNames): void {
  if (!onExpiryPath(c.req.raw)) throw notOnPath("c.get('expireGroups')", 'app.use(expireGroups())');
  const holder: Record<string, unknown> = { expireGroups: c.get('expireGroups') };
  appendExpireGroups(holder, groups);
  c.set('expireGroups', holder.expireGroups as GroupNames);
}

/** Options of the Hono `inspector()`: those of every adapter, plus where it answers. */
export interface HonoInspectorOptions extends InspectorOptions {
  /** The path the inspector answers under (`'/_cache'`), as it is mounted: `app.use('/_cache/*', inspector(...))`. */
  prefix: string;
}

/**
 * The inspector page (live counters, hit ratio, recent decisions, key lookup, group expiry) and its JSON API, under
 * `prefix`; every other request goes to `next()`. Put your own authentication in front of it:
 *
 * ```ts
 * app.use('/_cache/*', requireAdmin, inspector({ cache, prefix: '/_cache' }));
 * ```
 * `close()` stops recording decisions.
 */
export function inspector<E extends Env = Env>(options: HonoInspectorOptions): MiddlewareHandler<E> & { close(): void } {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { prefix: given, ...rest } = options;
  if (typeof given !== 'string' || !given.startsWith('/')) {
    throw new TypeError("option prefix must be a path starting with '/', e.g. '/_cache'");
  }
  const prefix = given.replace(/\/+$/, '');
  const core = new Inspector(rest);
  const middleware = async function groupCacheInspector(c: Context<E>, next: Next): Promise<Response | undefined> {
    const full = c.req.path;
    let path: string;
    if (full === prefix) path = '';
    else if (full.startsWith(`${prefix}/`)) path = full.slice(prefix.length);
    else return next().then(() => undefined);
    const url = pathAndQuery(c.req.url);
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    const answer = await core.handle({
      method: c.req.method,
      path,
      fullPath: full,
      query,
      headers: requestHeaders(c),
      // A body the app's own middleware already read (c.req.json()) is kept by Hono: read from there.
      readBody: (limit) => (c.req.raw.bodyUsed ? c.req.arrayBuffer().then(Buffer.from) : readWebBody(c.req.raw, limit)),
    });
    if (answer === undefined) return next().then(() => undefined);
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
  return Object.assign(middleware, { close: () => core.close() });
}
