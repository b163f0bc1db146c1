import type { GroupCache } from './cache.js';
/** Options of the `expireGroups()` middleware. */
export interface ExpireOptions<Cache = GroupCache> {
    /** The cache whose groups are expired. Default: the process-wide default cache. */
    cache?: Cache;
    /** Which response statuses count as a successful write. Default: 2xx. */
    succeeded?: (status: number) => boolean;
    /**
     * What to do when the store cannot record the expiry now (it is queued and retried either way):
     * `'continue'` sends the write's response as it is; `'fail'` turns it into a 503 when its head was not sent.
     * Default `'continue'`.
     */
    onError?: 'continue' | 'fail';
}
/** The resolved settings of one `expireGroups()` middleware. */
export interface WriteExpiry {
    cache: GroupCache;
    succeeded: (status: number) => boolean;
    failWrite: boolean;
}
export declare function writeExpiry(options?: ExpireOptions): WriteExpiry;
/**
 * Runs the expiry a write asked for, if it succeeded. Resolves true when the response may go out as it is,
 * false when `onError: 'fail'` wants it failed. Never rejects: junk in the groups value and store failures are
 * reported as `error` events.
 */
export declare function runWriteExpiry(settings: WriteExpiry, requested: unknown, status: number): Promise<boolean>;
/** Appends groups to a write's list (`res.locals` / `ctx.state`), keeping what was there. */
export declare function appendExpireGroups(holder: Record<string, unknown>, groups: string | readonly string[]): void;
//# sourceMappingURL=write-expiry.d.ts.map