"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.replayEntry = replayEntry;
const fresh_1 = __importDefault(require("fresh"));
/* RFC 9110 §15.4.5: a 304 carries the validators and caching headers of the 200 it stands for, nothing else. */
const KEPT_ON_304 = new Set(['cache-control', 'content-location', 'expires', 'vary', 'last-modified']);
/**
 * Builds the response for a hit: the stored status, headers and body, plus `ETag`, `Age` (RFC 9111 §5.1,
 * whole seconds since the response was stored) and the cache's status header; a `304 Not Modified` when the
 * request's validators match (RFC 9110 §13.1); no body for HEAD.
 */
function replayEntry(entry, method, requestHeaders, now, statusHeader) {
    const age = String(Math.max(0, Math.floor((now - entry.storedAt) / 1000)));
    const lastModified = entry.headers.find(([name]) => name === 'last-modified')?.[1];
    const conditional = requestHeaders['if-none-match'] !== undefined || requestHeaders['if-modified-since'] !== undefined;
    if (conditional &&
        (0, fresh_1.default)(requestHeaders, {
            etag: entry.etag,
            'last-modified': typeof lastModified === 'string' ? lastModified : undefined,
        })) {
        const headers = entry.headers.filter(([name]) => KEPT_ON_304.has(name));
        headers.push(['etag', entry.etag], ['age', age]);
        if (statusHeader)
            headers.push([statusHeader[0], statusHeader[1]]);
        return { status: 304, headers, body: undefined };
    }
    const headers = entry.headers.slice();
    headers.push(['etag', entry.etag], ['age', age]);
    // RFC 9110 §8.6: no Content-Length on a 204 (a route may allow 204 through `statuses`).
    const bodyless = entry.status === 204;
    if (!bodyless)
        headers.push(['content-length', String(entry.body.length)]);
    if (statusHeader)
        headers.push([statusHeader[0], statusHeader[1]]);
    return { status: entry.status, headers, body: method === 'HEAD' || bodyless ? undefined : entry.body };
}
//# sourceMappingURL=replay.js.map