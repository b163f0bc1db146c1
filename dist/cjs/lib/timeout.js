"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.isPromiseLike = isPromiseLike;
exports.callStore = callStore;
const errors_js_1 = require("./errors.js");
function isPromiseLike(value) {
    return typeof value?.then === 'function';
}
function storeError(error, what) {
    if (error instanceof errors_js_1.GroupCacheError)
        return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new errors_js_1.GroupCacheError('ESTORE', `${what} failed: ${reason}`, { cause: error });
}
/**
 * Calls a store method, turning a throw or a rejection into a `GroupCacheError` and bounding an async answer by
 * `ms`. A synchronous answer stays synchronous, so the memory store's hit path allocates no promise or timer.
 */
function callStore(what, ms, call) {
    let result;
    try {
        result = call();
    }
    catch (error) {
        return Promise.reject(storeError(error, what));
    }
    if (!isPromiseLike(result))
        return result;
    const pending = result;
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            reject(new errors_js_1.GroupCacheError('ETIMEOUT', `${what} took longer than storeTimeout (${ms} ms)`));
        }, ms);
        pending.then((value) => {
            clearTimeout(timer);
            resolve(value);
        }, (error) => {
            clearTimeout(timer);
            reject(storeError(error, what));
        });
    });
}
//# sourceMappingURL=timeout.js.map