/** What a key function may return: a spec, a `[key, groups]` pair, a bare key, or a falsy value to bypass. */
export type KeyResult = string | KeySpec | readonly [key: string, groups?: string | readonly string[]] | null | undefined | false;
/** The full form of a key function's result. */
export interface KeySpec {
    /** The cache key. Any non-empty string; long keys are hashed. */
    key: string;
    /** Group names this response belongs to (a single name or a list). */
    groups?: string | readonly string[];
    /** Lifetime of this entry in ms, overriding the route's and the cache's `ttl`. */
    ttl?: number;
}
/** A key function: gets the framework's request object (Express `req`, Koa `ctx`), may be async. */
export type KeyFunction<Req> = (req: Req) => KeyResult | Promise<KeyResult>;
/** A validated key function result. */
export interface NormalizedKey {
    key: string;
    groups: string[];
    ttl: number | undefined;
}
/** Describes an unexpected value for an error message, without dumping a huge object. */
export declare function describeValue(value: unknown): string;
/**
 * Normalises a list of group names: a single string or an array of non-empty strings, de-duplicated.
 * Throws a `TypeError` naming `what` for anything else.
 */
export declare function normalizeGroups(value: unknown, what: string, maxGroups: number): string[];
/**
 * Validates what a key function returned. Returns `undefined` for a bypass (falsy result) and throws a
 * `GroupCacheError` (`EKEYFUNCTION`) that says what was wrong for anything else that is not a valid result.
 */
export declare function normalizeKeyResult(value: unknown, maxGroups: number): NormalizedKey | undefined;
//# sourceMappingURL=key-function.d.ts.map