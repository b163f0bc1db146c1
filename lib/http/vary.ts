import type { CachedEntry } from '../stores/contract.js';
import { acceptsCoding, preferredCoding } from './accept-encoding.js';
import { type HeaderMap, headerTokens, headerValue } from './headers.js';

/*
 * What a response varies on: its `Vary` request header values, held with the entry and matched on each hit, and a
 * route's `vary` option, mixed into the key.
 */

/**
 * The request header values a response varies on (its `Vary` list), `''` for absent ones. Accept-Encoding is held
 * as the coding the request would get (accept-encoding.ts), so every spelling of one wish shares one variant.
 */
export function varyValues(varyHeader: HeaderMap[string], requestHeaders: HeaderMap): Array<[string, string]> {
  const names = headerTokens(varyHeader);
  return names.map((name) => [name, varyValue(requestHeaders, name)]);
}

function requestValue(headers: HeaderMap, name: string): string {
  const value = headerValue(headers, name);
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join(', ') : String(value).trim();
}

function varyValue(headers: HeaderMap, name: string): string {
  return name === 'accept-encoding' ? preferredCoding(headers) : requestValue(headers, name);
}

/** True when the request carries the same values as the ones an entry was filled with. */
export function varyMatches(vary: ReadonlyArray<readonly [string, string]>, requestHeaders: HeaderMap): boolean {
  for (const [name, value] of vary) {
    if (varyValue(requestHeaders, name) !== value) return false;
  }
  return true;
}

function contentEncoding(entry: CachedEntry): string | undefined {
  for (const [name, value] of entry.headers) {
    if (name.length === 16 && name.toLowerCase() === 'content-encoding')
      return typeof value === 'string' ? value : value.join(',');
  }
  return undefined;
}

function variesOnCoding(entry: CachedEntry): boolean {
  for (const [name] of entry.vary) if (name === 'accept-encoding') return true;
  return false;
}

/**
 * Whether a stored entry may answer this request: its `Vary` values match, and when it varies on Accept-Encoding
 * its coding is one the request accepts (a compressor that chose oddly must never make a client get gzip or br it
 * did not ask for).
 */
export function entrySuits(entry: CachedEntry, requestHeaders: HeaderMap): boolean {
  if (entry.vary.length === 0) return true;
  if (!varyMatches(entry.vary, requestHeaders)) return false;
  return !variesOnCoding(entry) || acceptsCoding(requestHeaders, contentEncoding(entry));
}

/**
 * The key suffix of this request's own variant, when `entry` varies on Accept-Encoding and holds another coding
 * class's response: each class (br, gzip, identity, ...) then keeps its own entry beside the first one, instead of
 * the classes replacing each other's. Undefined when the entry is this request's class (a miss replaces it).
 */
export function codingVariant(entry: CachedEntry, requestHeaders: HeaderMap): string | undefined {
  for (const [name, value] of entry.vary) {
    if (name !== 'accept-encoding') continue;
    const coding = preferredCoding(requestHeaders);
    return coding === value ? undefined : `\naccept-encoding:${coding}`;
  }
  return undefined;
}

/** The values of the route's `vary` request headers, to be mixed into the key (only when the route asks). */
export function varyKeySuffix(names: readonly string[], requestHeaders: HeaderMap): string {
  let suffix = '';
  for (const name of names) {
    const value = name.startsWith(COOKIE_PREFIX)
      ? cookieValue(requestHeaders, name.slice(COOKIE_PREFIX.length))
      : varyValue(requestHeaders, name);
    suffix += `\n${name}:${value}`;
  }
  return suffix;
}

/** A `vary` entry naming one cookie (`cookie:sid`) rather than a whole header. */
export const COOKIE_PREFIX = 'cookie:';

/**
 * One cookie's value from the request's Cookie header (RFC 6265 §5.4: `name=value` pairs joined by `; `), or
 * `''` when absent. Only that cookie joins the key, so analytics cookies beside it do not split the cache.
 */
function cookieValue(headers: HeaderMap, name: string): string {
  const header = requestValue(headers, 'cookie');
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return '';
}
