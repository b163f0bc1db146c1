import type { HeaderList, HeaderValue } from '../stores/contract.js';

/** A header map as Node gives it (`req.headers`, `res.getHeaders()`): lower-case names. */
export type HeaderMap = Readonly<Record<string, number | string | readonly string[] | undefined>>;

/**
 * `headers[name]`, own properties only. Node's `req.headers` is a plain object, so a header name taken from a
 * `Vary` list or a route's `vary` option (`__proto__`, `constructor`, `toString`) would otherwise read
 * `Object.prototype` and its methods. Every header lookup by a name not written in this code goes through here.
 */
export function headerValue(headers: HeaderMap, name: string): HeaderMap[string] {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

export function headerText(value: HeaderMap[string]): string {
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join(',') : String(value);
}

// An absent header's tokens: most responses send no Vary, Connection or Cache-Control, and each miss asks for them.
const NO_TOKENS: readonly string[] = Object.freeze([]);

/** The lower-cased tokens of a comma-separated header, directive arguments dropped (`private="x"` → `private`). */
export function headerTokens(value: HeaderMap[string]): readonly string[] {
  if (value === undefined) return NO_TOKENS;
  const tokens: string[] = [];
  for (const part of headerText(value).split(',')) {
    const token = part.split('=', 1)[0]?.trim().toLowerCase();
    if (token) tokens.push(token);
  }
  return tokens;
}

/*
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the representation, and are never
 * stored. `Age` and `Date` are regenerated on every hit, `Content-Length` is recomputed from the stored body,
 * and the ETag is kept in the entry's own field.
 */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'age',
  'date',
  'content-length',
  'etag',
]);

function toValue(value: number | string | readonly string[]): HeaderValue {
  return typeof value === 'object' ? [...value] : String(value);
}

/** The end-to-end headers of a response, as stored. `ownHeader` (lower case) is the cache's status header. */
export function storableHeaders(headers: HeaderMap, ownHeader: string | undefined, rawNames: readonly string[] = []): HeaderList {
  const named = headerTokens(headerValue(headers, 'connection'));
  // A hit replays names in the case the handler set them (`res.getRawHeaderNames()`), as the miss sent them.
  const raw = new Map<string, string>();
  for (const name of rawNames) raw.set(name.toLowerCase(), name);
  const list: HeaderList = [];
  for (const name of Object.keys(headers)) {
    const value = headerValue(headers, name);
    const lower = name.toLowerCase();
    if (value === undefined || NOT_STORED.has(lower) || lower === ownHeader || named.includes(lower)) continue;
    list.push([raw.get(lower) ?? lower, toValue(value)]);
  }
  return list;
}

/** The names of a Node response's headers in the case they were set (`getRawHeaderNames`, untyped in @types/node 20). */
export function rawHeaderNames(res: object): readonly string[] {
  const read = (res as { getRawHeaderNames?: () => string[] }).getRawHeaderNames;
  return typeof read === 'function' ? read.call(res) : [];
}
