import { defaultCache } from './default-cache.js';
import { GroupCacheError } from './errors.js';
import { normalizeGroups } from './key-function.js';
const is2xx = (status) => status >= 200 && status < 300;
export function writeExpiry(options = {}) {
    if (typeof options !== 'object' || options === null)
        throw new TypeError('argument options must be an object');
    if (options.succeeded !== undefined && typeof options.succeeded !== 'function') {
        throw new TypeError('option succeeded must be a function');
    }
    if (options.onError !== undefined && options.onError !== 'continue' && options.onError !== 'fail') {
        throw new TypeError("option onError must be 'continue' or 'fail'");
    }
    return {
        cache: options.cache ?? defaultCache(),
        succeeded: options.succeeded ?? is2xx,
        failWrite: options.onError === 'fail',
    };
}
/**
 * Runs the expiry a write asked for, if it succeeded. Resolves true when the response may go out as it is,
 * false when `onError: 'fail'` wants it failed. Never rejects: junk in the groups value and store failures are
 * reported as `error` events.
 */
export async function runWriteExpiry(settings, requested, status) {
    if (requested === undefined || requested === null || !settings.succeeded(status))
        return true;
    let groups;
    try {
        groups = normalizeGroups(requested, 'expireGroups', Number.MAX_SAFE_INTEGER);
    }
    catch (error) {
        settings.cache._report(error);
        return !settings.failWrite;
    }
    try {
        await settings.cache.expireGroups(groups);
        return true;
    }
    catch (error) {
        // A store failure was already reported and queued for retry by the cache; anything else is reported here.
        if (!(error instanceof GroupCacheError))
            settings.cache._report(error);
        return !settings.failWrite;
    }
}
/** Appends groups to a write's list (`res.locals` / `ctx.state`), keeping what was there. */
export function appendExpireGroups(holder, groups) {
    const added = normalizeGroups(groups, 'argument groups', Number.MAX_SAFE_INTEGER);
    const current = holder.expireGroups;
    const list = current === undefined || current === null ? [] : typeof current === 'string' ? [current] : current;
    if (!Array.isArray(list))
        throw new TypeError('expireGroups already holds something that is not a list of groups');
    holder.expireGroups = [...list, ...added];
}
//# sourceMappingURL=write-expiry.js.map