import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import type { GroupCache } from '../lib/engine/cache.js';
import type { RouteOptions } from '../lib/http/cached-route.js';
import { FetchRoute } from '../lib/http/fetch-route.js';
import { LazyRequestInfo, type RequestDescriber } from '../lib/http/request-info.js';
import { enteredAt, markExpiryPath, onExpiryPath } from '../lib/http/request-mark.js';
import { expireBeforeResponse } from '../lib/http/web-expiry.js';
import { pathAndQuery, webHeaderMap } from '../lib/http/web-response.js';
import { appendExpireGroups, type ExpireOptions, notOnPath, writeExpiry } from '../lib/http/write-expiry.js';

export type { ExpireOptions, KeyFunction, RouteOptions };

/** A fetch-style handler: a Web `Request` in, a `Response` out (Deno, Bun, workers, `@hono/node-server`'s `fetch`). */
export type FetchHandler<Args extends unknown[] = []> = (request: Request, ...args: Args) => Response | Promise<Response>;

/** What a handler tells the cache about its request, in {@link requestLocals}: `res.locals` for fetch handlers. */
export interface RequestLocals extends Record<string, unknown> {
  /** Groups to expire once this write succeeds, read by {@link expireGroups} before the response goes out. */
  expireGroups?: GroupNames;
  /** More groups for this response's cache entry (a string, a number or a list). */
  cacheGroups?: GroupNames;
  /** This response's cache entry TTL in ms (at most MAX_TTL). */
  cacheTtl?: number;
  /** `true`: serve this response but do not store it (X-Cache: BYPASS). */
  cacheSkip?: boolean;
}

const locals = new WeakMap<Request, RequestLocals>();

/** The request's own record of what its handler tells the cache (`expireGroups`, `cacheGroups`, ...), made on first use. */
export function requestLocals(request: Request): RequestLocals {
  let held = locals.get(request);
  if (held === undefined) {
    held = {};
    locals.set(request, held);
  }
  return held;
}

const DESCRIBER: RequestDescriber<Request> = {
  where: (request) => `${request.method} ${pathAndQuery(request.url).split('?', 1)[0]}`,
  url: (request) => pathAndQuery(request.url),
};

/**
 * Caches a fetch handler's whole response under the key its key function returns, tagged with its groups:
 *
 * ```ts
 * const getUser = groupCache((request) => ({ key: new URL(request.url).pathname, groups: ['users'] }), handler);
 * ```
 * A hit answers with a new `Response` replayed from the entry and does not call `handler`; a miss calls it and stores
 * its response as its body is read (once, on its way to the client).
 * @param keyFn gets the `Request`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a falsy value
 *   to bypass the cache for this request. May be async.
 * @param handler the handler whose responses are cached; it gets the request and whatever else the server passes.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 */
export function groupCache<Args extends unknown[] = []>(
  keyFn: KeyFunction<Request>,
  handler: FetchHandler<Args>,
  options?: RouteOptions<GroupCache, Request>,
): FetchHandler<Args> {
  if (typeof handler !== 'function') throw new TypeError('argument handler must be a function');
  const route = new FetchRoute<Request>(keyFn, options);
  return function groupCacheHandler(request: Request, ...args: Args): Response | Promise<Response> {
    const info = new LazyRequestInfo(request, DESCRIBER, request.method, webHeaderMap(request.headers), enteredAt(request));
    return route.respond(request, {
      info,
      signal: () => request.signal,
      locals: () => locals.get(request),
      run: async () => handler(request, ...args),
    });
  };
}

/**
 * Wraps a handler that writes: the groups it names (`requestLocals(request).expireGroups`, or
 * {@link addExpireGroups}) are expired once it answered with a success (2xx or 3xx by default), before its response
 * is returned, so the client's next read never sees pre-write data. With `onError: 'fail'` (the default) a write
 * whose expiry could not be recorded is answered 503 instead.
 */
export function expireGroups<Args extends unknown[] = []>(
  handler: FetchHandler<Args>,
  options?: ExpireOptions,
): FetchHandler<Args> {
  if (typeof handler !== 'function') throw new TypeError('argument handler must be a function');
  const settings = writeExpiry(options);
  return async function expireGroupsHandler(request: Request, ...args: Args): Promise<Response> {
    markExpiryPath(request);
    const response = await handler(request, ...args);
    return expireBeforeResponse(settings, locals.get(request)?.expireGroups, response, request, new URL(request.url).pathname);
  };
}

/** Adds groups for {@link expireGroups} to expire once this write succeeds (appends to its `expireGroups`). */
export function addExpireGroups(request: Request, groups: GroupNames): void {
  if (!onExpiryPath(request)) throw notOnPath('requestLocals(request).expireGroups', 'expireGroups(handler)');
  appendExpireGroups(requestLocals(request), groups);
}
