import type { HeaderMap } from './storage-policy.js';
import type { HeaderList } from './types.js';
/** The end-to-end headers of a response, as stored. `ownHeader` (lower case) is the cache's status header. */
export declare function storableHeaders(headers: HeaderMap, ownHeader: string | undefined): HeaderList;
/** The request header values a response varies on (its `Vary` list), `''` for absent ones. */
export declare function varyValues(varyHeader: HeaderMap[string], requestHeaders: HeaderMap): Array<[string, string]>;
/** True when the request carries the same values as the ones an entry was filled with. */
export declare function varyMatches(vary: ReadonlyArray<readonly [string, string]>, requestHeaders: HeaderMap): boolean;
/** The values of the route's `vary` request headers, to be mixed into the key (only when the route asks). */
export declare function varyKeySuffix(names: readonly string[], requestHeaders: HeaderMap): string;
//# sourceMappingURL=headers.d.ts.map