"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.groupCache = groupCache;
exports.expireGroups = expireGroups;
exports.addExpireGroups = addExpireGroups;
const on_headers_1 = __importDefault(require("on-headers"));
const cached_route_js_1 = require("../lib/cached-route.js");
const write_expiry_js_1 = require("../lib/write-expiry.js");
function where(req) {
    const path = req.route?.path;
    return `${req.method} ${req.baseUrl}${typeof path === 'string' ? path : req.path}`;
}
function sendReplay(res, replay) {
    res.statusCode = replay.status;
    for (const [name, value] of replay.headers)
        res.setHeader(name, value);
    res.end(replay.body);
}
function captureChunk(capture, chunk, encoding) {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
        capture.write(chunk, typeof encoding === 'string' ? encoding : undefined);
    }
}
/*
 * Wraps res.write and res.end the way expressjs/compression does: the originals run first with the caller's
 * arguments untouched (return values, back-pressure and callbacks are theirs), then the chunk is copied. The
 * original call is what sends the head, so the copy is taken after the header-time decision.
 */
function captureResponse(res, capture, header) {
    if (header !== undefined)
        res.setHeader(header[0], header[1]);
    (0, on_headers_1.default)(res, function onResponseHeaders() {
        capture.head(this.statusCode, this.getHeaders());
    });
    const write = res.write;
    const end = res.end;
    res.write = function writeAndCapture(...args) {
        const result = write.apply(this, args);
        captureChunk(capture, args[0], args[1]);
        return result;
    };
    res.end = function endAndCapture(...args) {
        const result = end.apply(this, args);
        if (typeof args[0] !== 'function')
            captureChunk(capture, args[0], args[1]);
        return result;
    };
    res.once('finish', () => void capture.end());
    // After 'finish' this is a no-op; before it, the client went away or the response errored: store nothing.
    res.once('close', () => capture.abort('connection closed before the response finished'));
}
function apply(outcome, res, next) {
    if (outcome.type === 'hit')
        return sendReplay(res, outcome.replay);
    if (outcome.type === 'miss')
        captureResponse(res, outcome.capture, outcome.header);
    else if (outcome.header !== undefined)
        res.setHeader(outcome.header[0], outcome.header[1]);
    next();
}
/**
 * Caches a route's whole response under the key its key function returns, tagged with its groups.
 *
 * ```js
 * app.get('/users/:id', groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] })), handler);
 * ```
 * @param keyFn gets `req`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a falsy value to
 *   bypass the cache for this request. May be async. If it throws, the request is served uncached and the cache
 *   emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 */
function groupCache(keyFn, options) {
    const route = new cached_route_js_1.CachedRoute(keyFn, options);
    return function groupCacheMiddleware(req, res, next) {
        const outcome = route.begin(req, { method: req.method, headers: req.headers, where: where(req) });
        if (outcome instanceof Promise)
            outcome.then((value) => apply(value, res, next), next);
        else
            apply(outcome, res, next);
    };
}
/**
 * Expires the groups a write route names in `res.locals.expireGroups` (a string or an array), once the route
 * answered with a success (2xx by default), and before the response reaches the client: `res.end` is held
 * until the store has recorded the expiry, so the client's next read never sees pre-write data.
 */
function expireGroups(options) {
    const settings = (0, write_expiry_js_1.writeExpiry)(options);
    return function expireGroupsMiddleware(_req, res, next) {
        const end = res.end;
        res.end = function endAfterExpiry(...args) {
            const requested = res.locals.expireGroups;
            if (requested === undefined || requested === null)
                return end.apply(this, args);
            res.end = end;
            void (0, write_expiry_js_1.runWriteExpiry)(settings, requested, res.statusCode).then((ok) => {
                if (ok || res.headersSent)
                    return end.apply(this, args);
                const callback = args.find((arg) => typeof arg === 'function');
                res.statusCode = 503;
                for (const name of res.getHeaderNames())
                    if (name.startsWith('content-') || name === 'etag')
                        res.removeHeader(name);
                res.setHeader('content-type', 'text/plain; charset=utf-8');
                return end.call(this, 'Service Unavailable: the write was applied but its cache invalidation could not be recorded', 'utf8', callback);
            });
            return this;
        };
        next();
    };
}
/** Adds groups for `expireGroups()` to expire once this write succeeds (appends to `res.locals.expireGroups`). */
function addExpireGroups(res, groups) {
    (0, write_expiry_js_1.appendExpireGroups)(res.locals, groups);
}
//# sourceMappingURL=express.js.map