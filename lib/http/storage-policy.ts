import type { BypassDetail } from './cache-status.js';
import { type HeaderMap, headerText, headerTokens, headerValue } from './headers.js';

/*
 * What may be stored, as pure functions of the request and the response head (DESIGN invariant 5).
 * Each returns the reason a request or response is refused, or undefined when it may be cached.
 */

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
