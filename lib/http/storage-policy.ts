import type { BypassDetail } from './cache-status.js';

/*
 * What may be stored, as pure functions of the request and the response head (DESIGN invariant 5).
 * Each returns the reason a request or response is refused, or undefined when it may be cached.
 */

/** A header map as Node gives it (`req.headers`, `res.getHeaders()`): lower-case names. */
export type HeaderMap = Readonly<Record<string, number | string | readonly string[] | undefined>>;

export interface StoragePolicy {
  /** Statuses that may be stored. Default: 200 only. */
  statuses: ReadonlySet<number>;
  /** Cache requests that carry `Authorization`. Default false: they bypass. */
  allowAuthorization: boolean;
  /** Store responses that set cookies (the cookie is replayed to everyone). Default false. */
  allowSetCookie: boolean;
  /** Store responses marked `Cache-Control: private`. Default false. */
  allowPrivate: boolean;
  /** Largest body stored, in bytes; larger responses are passed through. */
  maxEntryBytes: number;
}

/**
 * `headers[name]`, own properties only. Node's `req.headers` is a plain object, so a header name taken from a
 * `Vary` list or a route's `vary` option (`__proto__`, `constructor`, `toString`) would otherwise read
 * `Object.prototype` and its methods. Every header lookup by a name not written in this code goes through here.
 */
export function headerValue(headers: HeaderMap, name: string): HeaderMap[string] {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

function headerText(value: HeaderMap[string]): string {
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join(',') : String(value);
}

/** The lower-cased tokens of a comma-separated header, directive arguments dropped (`private="x"` → `private`). */
export function headerTokens(value: HeaderMap[string]): string[] {
  const tokens: string[] = [];
  for (const part of headerText(value).split(',')) {
    const token = part.split('=', 1)[0]?.trim().toLowerCase();
    if (token) tokens.push(token);
  }
  return tokens;
}

/** A refusal: the reason for logs and events, and the short detail `Cache-Status` gives (cache-status.ts). */
export interface Refusal {
  reason: string;
  detail: BypassDetail;
}

/** Why this request must not use the cache at all, or undefined. */
export function requestRefusal(method: string, headers: HeaderMap, policy: StoragePolicy): Refusal | undefined {
  if (method !== 'GET' && method !== 'HEAD') return { reason: `${method} request`, detail: 'method' };
  if (headerValue(headers, 'authorization') !== undefined && !policy.allowAuthorization) {
    return { reason: 'Authorization header', detail: 'authorization' };
  }
  return undefined;
}

/** Why this request must not use the cache at all, or undefined. */
export function requestBypassReason(method: string, headers: HeaderMap, policy: StoragePolicy): string | undefined {
  return requestRefusal(method, headers, policy)?.reason;
}

/** Why this response must not be stored, or undefined. `headers` are the response's, lower-case names. */
export function responseRefusal(status: number, headers: HeaderMap, policy: StoragePolicy): Refusal | undefined {
  if (!policy.statuses.has(status)) return { reason: `status ${status}`, detail: 'status' };
  if (headerValue(headers, 'set-cookie') !== undefined && !policy.allowSetCookie) {
    return { reason: 'Set-Cookie header', detail: 'set-cookie' };
  }
  const cacheControl = headerTokens(headerValue(headers, 'cache-control'));
  if (cacheControl.includes('no-store')) return { reason: 'Cache-Control: no-store', detail: 'no-store' };
  if (cacheControl.includes('private') && !policy.allowPrivate) return { reason: 'Cache-Control: private', detail: 'private' };
  if (headerTokens(headerValue(headers, 'vary')).includes('*')) return { reason: 'Vary: *', detail: 'vary-star' };
  const length = Number(headerText(headerValue(headers, 'content-length')) || Number.NaN);
  if (length > policy.maxEntryBytes) {
    return { reason: `Content-Length ${length} over maxEntryBytes ${policy.maxEntryBytes}`, detail: 'too-large' };
  }
  return undefined;
}

/** Why this response must not be stored, or undefined. `headers` are the response's, lower-case names. */
export function responseRejectReason(status: number, headers: HeaderMap, policy: StoragePolicy): string | undefined {
  return responseRefusal(status, headers, policy)?.reason;
}
