"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.describeValue = describeValue;
exports.normalizeGroups = normalizeGroups;
exports.normalizeKeyResult = normalizeKeyResult;
const errors_js_1 = require("./errors.js");
/** Describes an unexpected value for an error message, without dumping a huge object. */
function describeValue(value) {
    if (value === null)
        return 'null';
    if (Array.isArray(value))
        return `an array of length ${value.length}`;
    if (typeof value === 'string')
        return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    if (typeof value === 'object')
        return `an object with keys [${Object.keys(value).slice(0, 8).join(', ')}]`;
    return `${typeof value} ${String(value)}`;
}
function invalid(message, value) {
    return new errors_js_1.GroupCacheError('EKEYFUNCTION', `key function returned ${describeValue(value)}: ${message}`, {
        details: { returned: value },
    });
}
/**
 * Normalises a list of group names: a single string or an array of non-empty strings, de-duplicated.
 * Throws a `TypeError` naming `what` for anything else.
 */
function normalizeGroups(value, what, maxGroups) {
    if (value === undefined || value === null)
        return [];
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list))
        throw new TypeError(`${what} must be a string or an array of strings, got ${describeValue(value)}`);
    const groups = new Set();
    for (const group of list) {
        if (typeof group !== 'string' || group === '') {
            throw new TypeError(`${what} must contain non-empty strings only, got ${describeValue(group)}`);
        }
        groups.add(group);
    }
    if (groups.size > maxGroups)
        throw new TypeError(`${what} has ${groups.size} groups, more than the limit of ${maxGroups}`);
    return [...groups];
}
/**
 * Validates what a key function returned. Returns `undefined` for a bypass (falsy result) and throws a
 * `GroupCacheError` (`EKEYFUNCTION`) that says what was wrong for anything else that is not a valid result.
 */
function normalizeKeyResult(value, maxGroups) {
    if (value === null || value === undefined || value === false)
        return undefined;
    let key;
    let groups;
    let ttl;
    if (typeof value === 'string') {
        key = value;
    }
    else if (Array.isArray(value)) {
        if (value.length < 1 || value.length > 2)
            throw invalid('a [key, groups] pair has one or two items', value);
        [key, groups] = value;
    }
    else if (typeof value === 'object') {
        ({ key, groups, ttl } = value);
    }
    else {
        throw invalid('expected a key string, [key, groups], { key, groups, ttl } or a falsy value to bypass', value);
    }
    if (typeof key !== 'string' || key === '')
        throw invalid('the key must be a non-empty string', value);
    if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl > 0) || !Number.isFinite(ttl))) {
        throw invalid('ttl must be a positive, finite number of milliseconds', value);
    }
    try {
        return { key, groups: normalizeGroups(groups, 'groups', maxGroups), ttl };
    }
    catch (error) {
        throw invalid(error.message, value);
    }
}
//# sourceMappingURL=key-function.js.map