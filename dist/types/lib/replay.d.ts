import type { HeaderMap } from './storage-policy.js';
import type { CachedEntry, HeaderList } from './types.js';
/** What an adapter writes for a hit. `body` is undefined when none is sent (HEAD, 304). */
export interface Replay {
    status: number;
    headers: HeaderList;
    body: Buffer | undefined;
}
/**
 * Builds the response for a hit: the stored status, headers and body, plus `ETag`, `Age` (RFC 9111 §5.1,
 * whole seconds since the response was stored) and the cache's status header; a `304 Not Modified` when the
 * request's validators match (RFC 9110 §13.1); no body for HEAD.
 */
export declare function replayEntry(entry: CachedEntry, method: string, requestHeaders: HeaderMap, now: number, statusHeader: readonly [string, string] | undefined): Replay;
//# sourceMappingURL=replay.d.ts.map