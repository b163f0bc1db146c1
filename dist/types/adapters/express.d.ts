import type { Request, RequestHandler, Response } from 'express';
import { type RouteOptions } from '../lib/cached-route.js';
import type { KeyFunction } from '../lib/key-function.js';
import { type ExpireOptions } from '../lib/write-expiry.js';
export type { ExpireOptions, KeyFunction, RouteOptions };
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
export declare function groupCache<Req extends Request = Request>(keyFn: KeyFunction<Req>, options?: RouteOptions): RequestHandler;
/**
 * Expires the groups a write route names in `res.locals.expireGroups` (a string or an array), once the route
 * answered with a success (2xx by default), and before the response reaches the client: `res.end` is held
 * until the store has recorded the expiry, so the client's next read never sees pre-write data.
 */
export declare function expireGroups(options?: ExpireOptions): RequestHandler;
/** Adds groups for `expireGroups()` to expire once this write succeeds (appends to `res.locals.expireGroups`). */
export declare function addExpireGroups(res: Response, groups: string | readonly string[]): void;
//# sourceMappingURL=express.d.ts.map