"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.writeExpiry = writeExpiry;
exports.runWriteExpiry = runWriteExpiry;
exports.appendExpireGroups = appendExpireGroups;
const default_cache_js_1 = require("./default-cache.js");
const errors_js_1 = require("./errors.js");
const key_function_js_1 = require("./key-function.js");
const is2xx = (status) => status >= 200 && status < 300;
function writeExpiry(options = {}) {
    if (typeof options !== 'object' || options === null)
        throw new TypeError('argument options must be an object');
    if (options.succeeded !== undefined && typeof options.succeeded !== 'function') {
        throw new TypeError('option succeeded must be a function');
    }
    if (options.onError !== undefined && options.onError !== 'continue' && options.onError !== 'fail') {
        throw new TypeError("option onError must be 'continue' or 'fail'");
    }
    return {
        cache: options.cache ?? (0, default_cache_js_1.defaultCache)(),
        succeeded: options.succeeded ?? is2xx,
        failWrite: options.onError === 'fail',
    };
}
/**
 * Runs the expiry a write asked for, if it succeeded. Resolves true when the response may go out as it is,
 * false when `onError: 'fail'` wants it failed. Never rejects: junk in the groups value and store failures are
 * reported as `error` events.
 */
async function runWriteExpiry(settings, requested, status) {
    if (requested === undefined || requested === null || !settings.succeeded(status))
        return true;
    let groups;
    try {
        groups = (0, key_function_js_1.normalizeGroups)(requested, 'expireGroups', Number.MAX_SAFE_INTEGER);
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
        if (!(error instanceof errors_js_1.GroupCacheError))
            settings.cache._report(error);
        return !settings.failWrite;
    }
}
/** Appends groups to a write's list (`res.locals` / `ctx.state`), keeping what was there. */
function appendExpireGroups(holder, groups) {
    const added = (0, key_function_js_1.normalizeGroups)(groups, 'argument groups', Number.MAX_SAFE_INTEGER);
    const current = holder.expireGroups;
    const list = current === undefined || current === null ? [] : typeof current === 'string' ? [current] : current;
    if (!Array.isArray(list))
        throw new TypeError('expireGroups already holds something that is not a list of groups');
    holder.expireGroups = [...list, ...added];
}
//# sourceMappingURL=write-expiry.js.map