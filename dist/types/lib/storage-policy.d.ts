/** A header map as Node gives it (`req.headers`, `res.getHeaders()`): lower-case names. */
export type HeaderMap = Readonly<Record<string, number | string | readonly string[] | undefined>>;
export interface StoragePolicy {
    /** Statuses that may be stored. Default: 200 only. */
    statuses: ReadonlySet<number>;
    /** Cache requests that carry `Authorization`. Default false: they bypass. */
    allowAuthorization: boolean;
    /** Store responses that set cookies (the cookie is replayed to everyone). Default false. */
    allowSetCookie: boolean;
    /** Store responses marked `Cache-Control: private`. Default false. */
    allowPrivate: boolean;
    /** Largest body stored, in bytes; larger responses are passed through. */
    maxEntryBytes: number;
}
/** The lower-cased tokens of a comma-separated header, directive arguments dropped (`private="x"` → `private`). */
export declare function headerTokens(value: HeaderMap[string]): string[];
/** Why this request must not use the cache at all, or undefined. */
export declare function requestBypassReason(method: string, headers: HeaderMap, policy: StoragePolicy): string | undefined;
/** Why this response must not be stored, or undefined. `headers` are the response's, lower-case names. */
export declare function responseRejectReason(status: number, headers: HeaderMap, policy: StoragePolicy): string | undefined;
//# sourceMappingURL=storage-policy.d.ts.map