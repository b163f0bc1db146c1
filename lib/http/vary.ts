import { keyId } from '../core/keys.js';
import type { Selection } from '../engine/selection.js';
import { acceptedCodings, preferredCoding } from './accept-encoding.js';
import { type HeaderMap, headerTokens, headerValue } from './headers.js';

/*
 * What a response varies on: its `Vary` request header values, held with the entry and matched on each hit (the
 * request's values handed to the engine as data), and a route's `vary` option, mixed into the key.
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

// At most this many names a route's responses are seen to vary on: a response's Vary header is the app's, not
// the client's, but a route must not grow without bound whatever its handler sends.
const MAX_SEEN = 16;

const UNKNOWN_VARY: Selection = { reuse: true, values: undefined, complete: false };

/**
 * The names a route's stored responses vary on (their `Vary` lists), learned from the entries the engine finds:
 * each request of the route works out its own values of these, as data the engine matches entries against
 * (engine/selection.ts). A route whose responses do not vary does no work per request.
 */
export class SeenVary {
  #names: string[] = [];

  /** Adds names an entry varies on (the engine's `vary` answer). */
  learn(names: readonly string[]): void {
    for (const name of names) {
      if (this.#names.length < MAX_SEEN && !this.#names.includes(name)) this.#names = [...this.#names, name];
    }
  }

  /**
   * What a request takes of the entries of `key`: their `Vary` values matched; when they vary on Accept-Encoding,
   * a coding the request accepts (a compressor that chose oddly must never make a client get gzip or br it did
   * not ask for), and each coding class its own entry beside the first (under `key` and its class). `complete` once the request
   * was answered `vary`: names past the bound then read as a mismatch.
   */
  selection(headers: HeaderMap, key: string, maxKeyLength: number, refresh: boolean, complete: boolean): Selection {
    const names = this.#names;
    if (names.length === 0 && !refresh && !complete) return UNKNOWN_VARY;
    const values = new Map<string, string>();
    for (const name of names) values.set(name, varyValue(headers, name));
    const coding = values.get('accept-encoding');
    if (coding === undefined) return { reuse: !refresh, values, complete };
    return {
      reuse: !refresh,
      values,
      complete,
      header: { name: 'content-encoding', oneOf: acceptedCodings(headers), whenVaryOn: 'accept-encoding' },
      alternate: { name: 'accept-encoding', id: keyId(`${key}\naccept-encoding:${coding}`, maxKeyLength) },
    };
  }
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
