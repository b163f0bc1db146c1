import type { GroupCache } from './cache.js';
import { type KeyFunction } from './key-function.js';
import { type Replay } from './replay.js';
import { ResponseCapture } from './response-capture.js';
import type { HeaderMap } from './storage-policy.js';
/** Options of a cached route (`groupCache(keyFn, options)`). Unset ones fall back to the cache's. */
export interface RouteOptions<Cache = GroupCache> {
    /** The cache to use. Default: the process-wide default cache shared with `expireGroups()`. */
    cache?: Cache;
    /** Lifetime of this route's entries, in ms. A key function's `ttl` overrides it. */
    ttl?: number;
    /** Statuses that may be stored. Default: the cache's (200 only). */
    statuses?: readonly number[];
    /** Largest body stored, in bytes. Default: the cache's (1 MiB). */
    maxEntryBytes?: number;
    /** Cache requests that carry `Authorization` (the response must not depend on who asks). Default false. */
    allowAuthorization?: boolean;
    /** Store responses that set cookies; every client then gets the cookie. Default false. */
    allowSetCookie?: boolean;
    /** Store responses marked `Cache-Control: private`. Default false. */
    allowPrivate?: boolean;
    /** Request headers whose values are mixed into the key (one entry per combination). Default none. */
    vary?: readonly string[];
}
/** The request facts the core needs, as an adapter reads them off its framework. */
export interface RequestInfo {
    method: string;
    headers: HeaderMap;
    /** Where the request is handled, for messages: `GET /users/:id`. */
    where: string;
}
/** A header an adapter sets on a miss or bypass: `[name, value]`. */
export type StatusHeader = readonly [name: string, value: string];
/** What an adapter does with a request. */
export type Outcome = 
/** Write `replay` and do not run the handler. */
{
    type: 'hit';
    replay: Replay;
}
/** Run the handler; feed its response to `capture`. */
 | {
    type: 'miss';
    capture: ResponseCapture;
    header: StatusHeader | undefined;
}
/** Run the handler; store nothing. */
 | {
    type: 'pass';
    header: StatusHeader | undefined;
};
/**
 * One cached route, framework-free: runs the storage policy and the key function, looks the key up, and tells
 * the adapter to replay a hit, capture a miss or pass the request through. Adapters only translate.
 */
export declare class CachedRoute<Req> {
    #private;
    readonly cache: GroupCache;
    constructor(keyFn: KeyFunction<Req>, options?: RouteOptions);
    /** Decides what to do with a request. Never rejects: every failure becomes a pass, reported as an event. */
    begin(req: Req, info: RequestInfo): Outcome | Promise<Outcome>;
}
//# sourceMappingURL=cached-route.d.ts.map