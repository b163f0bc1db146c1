"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.GroupCacheError = void 0;
/** A run-time failure, with a `code` to branch on and the original error as `cause`. */
class GroupCacheError extends Error {
    code;
    /** Extra facts for the report: key, route, the value the key function returned, groups... */
    details;
    constructor(code, message, options = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'GroupCacheError';
        this.code = code;
        this.details = options.details ?? {};
    }
}
exports.GroupCacheError = GroupCacheError;
//# sourceMappingURL=errors.js.map