import type { Fill } from './cache.js';
import type { HeaderMap, StoragePolicy } from './storage-policy.js';
/**
 * Takes a response apart as the framework sends it, for one fill: the head once it is final, then the body
 * chunks, then the end. Stores only a response that finished, passed the storage policy and stayed under
 * `maxEntryBytes`; anything else cancels the fill so that waiters run their own handler.
 */
export declare class ResponseCapture {
    #private;
    constructor(fill: Fill, policy: StoragePolicy, requestHeaders: HeaderMap, ttl: number, now: () => number, ownHeader?: string);
    /** True while the body is being collected. */
    get capturing(): boolean;
    /** The status and headers are final (call just before they are sent). Returns whether the body is collected. */
    head(status: number, headers: HeaderMap): boolean;
    /** A body chunk as written: a string (with its encoding), a Buffer or a Uint8Array. */
    write(chunk: string | Uint8Array, encoding?: BufferEncoding): void;
    /** The response finished: store it. Resolves with whether the store took it. */
    end(): Promise<boolean>;
    /** Nothing is stored: the response errored, was aborted, or was refused. Safe to call more than once. */
    abort(reason: string): void;
}
//# sourceMappingURL=response-capture.d.ts.map