/*
 * What may be stored, as pure functions of the request and the response head (DESIGN invariant 5).
 * Each returns the reason a request or response is refused, or undefined when it may be cached.
 */
function headerText(value) {
    if (value === undefined)
        return '';
    return typeof value === 'object' ? value.join(',') : String(value);
}
/** The lower-cased tokens of a comma-separated header, directive arguments dropped (`private="x"` → `private`). */
export function headerTokens(value) {
    const tokens = [];
    for (const part of headerText(value).split(',')) {
        const token = part.split('=', 1)[0]?.trim().toLowerCase();
        if (token)
            tokens.push(token);
    }
    return tokens;
}
/** Why this request must not use the cache at all, or undefined. */
export function requestBypassReason(method, headers, policy) {
    if (method !== 'GET' && method !== 'HEAD')
        return `${method} request`;
    if (headers.authorization !== undefined && !policy.allowAuthorization)
        return 'Authorization header';
    return undefined;
}
/** Why this response must not be stored, or undefined. `headers` are the response's, lower-case names. */
export function responseRejectReason(status, headers, policy) {
    if (!policy.statuses.has(status))
        return `status ${status}`;
    if (headers['set-cookie'] !== undefined && !policy.allowSetCookie)
        return 'Set-Cookie header';
    const cacheControl = headerTokens(headers['cache-control']);
    if (cacheControl.includes('no-store'))
        return 'Cache-Control: no-store';
    if (cacheControl.includes('private') && !policy.allowPrivate)
        return 'Cache-Control: private';
    if (headerTokens(headers.vary).includes('*'))
        return 'Vary: *';
    const length = Number(headerText(headers['content-length']) || Number.NaN);
    if (length > policy.maxEntryBytes)
        return `Content-Length ${length} over maxEntryBytes ${policy.maxEntryBytes}`;
    return undefined;
}
//# sourceMappingURL=storage-policy.js.map