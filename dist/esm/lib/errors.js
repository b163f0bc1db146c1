/** A run-time failure, with a `code` to branch on and the original error as `cause`. */
export class GroupCacheError extends Error {
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
//# sourceMappingURL=errors.js.map