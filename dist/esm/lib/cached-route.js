import { statusSet } from './cache.js';
import { defaultCache } from './default-cache.js';
import { GroupCacheError } from './errors.js';
import { varyKeySuffix, varyMatches } from './headers.js';
import { normalizeKeyResult } from './key-function.js';
import { groupTag, keyId } from './keys.js';
import { replayEntry } from './replay.js';
import { ResponseCapture } from './response-capture.js';
import { requestBypassReason } from './storage-policy.js';
import { isPromiseLike } from './timeout.js';
function flag(options, name) {
    const value = options[name];
    if (value === undefined)
        return false;
    if (typeof value !== 'boolean')
        throw new TypeError(`option ${name} must be a boolean`);
    return value;
}
function positiveOption(options, name, fallback) {
    const value = options[name];
    if (value === undefined)
        return fallback;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
        throw new TypeError(`option ${name} must be a positive number, got ${String(value)}`);
    }
    return value;
}
/**
 * One cached route, framework-free: runs the storage policy and the key function, looks the key up, and tells
 * the adapter to replay a hit, capture a miss or pass the request through. Adapters only translate.
 */
export class CachedRoute {
    cache;
    #keyFn;
    #policy;
    #ttl;
    #vary;
    #hit;
    #miss;
    #bypass;
    constructor(keyFn, options = {}) {
        if (typeof keyFn !== 'function')
            throw new TypeError('argument keyFn must be a function');
        if (typeof options !== 'object' || options === null)
            throw new TypeError('argument options must be an object');
        const raw = options;
        const cache = options.cache ?? defaultCache();
        if (typeof cache !== 'object' || typeof cache._acquire !== 'function') {
            throw new TypeError('option cache must be a cache made by createCache()');
        }
        this.cache = cache;
        this.#keyFn = keyFn;
        this.#ttl = positiveOption(raw, 'ttl', cache.ttl);
        this.#policy = {
            statuses: options.statuses === undefined ? cache.statuses : statusSet(options.statuses, 'statuses'),
            allowAuthorization: flag(raw, 'allowAuthorization'),
            allowSetCookie: flag(raw, 'allowSetCookie'),
            allowPrivate: flag(raw, 'allowPrivate'),
            maxEntryBytes: positiveOption(raw, 'maxEntryBytes', cache.maxEntryBytes),
        };
        const vary = options.vary ?? [];
        if (!Array.isArray(vary) || vary.some((name) => typeof name !== 'string' || name === '')) {
            throw new TypeError('option vary must be an array of request header names');
        }
        this.#vary = vary.map((name) => name.toLowerCase());
        const header = cache.header;
        this.#hit = header === undefined ? undefined : [header, 'HIT'];
        this.#miss = header === undefined ? undefined : [header, 'MISS'];
        this.#bypass = header === undefined ? undefined : [header, 'BYPASS'];
    }
    /** Decides what to do with a request. Never rejects: every failure becomes a pass, reported as an event. */
    begin(req, info) {
        const reason = requestBypassReason(info.method, info.headers, this.#policy);
        if (reason !== undefined)
            return this.#pass(reason, info);
        let result;
        try {
            result = this.#keyFn(req);
        }
        catch (error) {
            return this.#keyError(error, info, 'threw');
        }
        if (isPromiseLike(result)) {
            return result.then((value) => this.#withKey(value, info), (error) => this.#keyError(error, info, 'rejected'));
        }
        return this.#withKey(result, info);
    }
    #pass(reason, info, key) {
        this.cache._bypass(reason, info.where, key);
        return { type: 'pass', header: this.#bypass };
    }
    #keyError(error, info, how) {
        const failure = error instanceof GroupCacheError
            ? new GroupCacheError('EKEYFUNCTION', `key function of ${info.where} ${error.message.replace(/^key function /, '')}`, {
                cause: error.cause,
                details: { ...error.details, where: info.where },
            })
            : new GroupCacheError('EKEYFUNCTION', `key function of ${info.where} ${how}: ${error?.message ?? String(error)}`, {
                cause: error,
                details: { where: info.where },
            });
        this.cache._report(failure);
        return this.#pass('key function error', info);
    }
    #withKey(result, info) {
        let spec;
        try {
            spec = normalizeKeyResult(result, this.cache.maxGroups);
        }
        catch (error) {
            return this.#keyError(error, info, 'returned junk');
        }
        if (spec === undefined)
            return this.#pass('no key', info);
        const cache = this.cache;
        const key = this.#vary.length === 0 ? spec.key : spec.key + varyKeySuffix(this.#vary, info.headers);
        const id = keyId(key, cache.maxKeyLength);
        const tags = spec.groups.map((group) => groupTag(group, cache.maxKeyLength));
        tags.push(id);
        const request = {
            key: spec.key,
            id,
            tags,
            where: info.where,
            canFill: info.method === 'GET',
            accepts: (entry) => entry.vary.length === 0 || varyMatches(entry.vary, info.headers),
        };
        const ttl = spec.ttl ?? this.#ttl;
        const acquired = cache._acquire(request);
        if (isPromiseLike(acquired))
            return acquired.then((value) => this.#outcome(value, info, ttl));
        return this.#outcome(acquired, info, ttl);
    }
    #outcome(acquired, info, ttl) {
        const cache = this.cache;
        switch (acquired.type) {
            case 'hit':
                return { type: 'hit', replay: replayEntry(acquired.entry, info.method, info.headers, cache.now(), this.#hit) };
            case 'fill':
                return {
                    type: 'miss',
                    capture: new ResponseCapture(acquired.fill, this.#policy, info.headers, ttl, cache.now, cache.header),
                    header: this.#miss,
                };
            default:
                return { type: 'pass', header: acquired.reason === 'HEAD miss' ? this.#miss : this.#bypass };
        }
    }
}
//# sourceMappingURL=cached-route.js.map