/*
 * What browsers and CDNs are told about freshness, and what the handler's own freshness headers mean to the
 * cache. The cache's TTL is the server's business: it is never advertised as client freshness. A
 * route's `cacheControl` replaces the handler's `Cache-Control` on the responses the cache serves, and `ttl:
 * 'headers'` reads the entry's TTL off the handler's `s-maxage` / `max-age` / `Expires`.
 */
import { MAX_TTL } from '../core/options.js';
import { type HeaderMap, headerValue } from './headers.js';

/** What a `cacheControl` function is told about the response it gives a `Cache-Control` to. */
export interface CacheControlInfo {
  /** True for a response replayed from the cache (a hit, or a stale copy); false for a miss the handler answered. */
  hit: boolean;
  /** The entry's age in whole seconds, as `Age` would say it before any clamping; 0 on a miss. */
  age: number;
  /** How long the entry stays fresh in the cache, in ms (0 once stale). On a miss, the TTL the entry is given. */
  ttlLeft: number;
  /** The key function's groups. */
  groups: readonly string[];
}

/**
 * The `Cache-Control` clients get from a cached route: a fixed value (`'public, max-age=0, must-revalidate'`) or a
 * function of the response (return `undefined` to keep the handler's).
 */
export type CacheControlOption = string | ((info: CacheControlInfo) => string | undefined);

/** A `Cache-Control` value to send, with the Age limit it sets. */
export interface SentCacheControl {
  value: string;
  /** The largest `Age` (s) it allows: the smaller of its `max-age` and `s-maxage`, or undefined without either. */
  maxAge: number | undefined;
}

function directiveText(value: HeaderMap[string]): string {
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join(',') : String(value);
}

/**
 * The delta-seconds of a directive (`max-age=60`, `s-maxage="60"`), or undefined when absent or not a
 * non-negative integer. RFC 9111 §1.2.2: delta-seconds is 1*DIGIT; §5.2: the quoted form is accepted too.
 */
export function directiveSeconds(value: HeaderMap[string], name: string): number | undefined {
  for (const part of directiveText(value).split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1 || part.slice(0, equals).trim().toLowerCase() !== name) continue;
    const argument = part
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (/^\d+$/.test(argument)) return Number(argument);
  }
  return undefined;
}

/** A `Cache-Control` value to send and the Age limit it sets (see {@link SentCacheControl}). */
export function sentCacheControl(value: string): SentCacheControl {
  const maxAge = directiveSeconds(value, 'max-age');
  const sMaxAge = directiveSeconds(value, 's-maxage');
  const limits = [maxAge, sMaxAge].filter((limit): limit is number => limit !== undefined);
  return { value, maxAge: limits.length === 0 ? undefined : Math.min(...limits) };
}

/**
 * The first `s-maxage` or `max-age` directive of a `Cache-Control` that a cache cannot read as a freshness lifetime
 * (`max-age=-1`, `max-age=1.5`, `max-age=abc`, a bare `max-age`, or two that disagree), as written; undefined when
 * each is absent or valid. RFC 9111 §1.2.2: delta-seconds is 1*DIGIT (the quoted form accepted, §5.2); §4.2.1: a
 * directive given twice is either read once or the response is stale, and invalid freshness information is stale.
 */
export function invalidFreshness(value: HeaderMap[string]): string | undefined {
  const seen = new Map<string, string>();
  for (const part of directiveText(value).split(',')) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (name !== 's-maxage' && name !== 'max-age') continue;
    const argument =
      equals === -1
        ? ''
        : part
            .slice(equals + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!/^\d+$/.test(argument)) return part.trim();
    const before = seen.get(name);
    // Two that say the same are one; two that disagree leave no lifetime to trust.
    if (before !== undefined && Number(before) !== Number(argument)) return part.trim();
    seen.set(name, argument);
  }
  return undefined;
}

/**
 * The freshness lifetime the handler's response gives itself, in ms (RFC 9111 §4.2.1, as a shared cache reads
 * it): `s-maxage`, else `max-age`, else `Expires` minus `Date` (minus now without a `Date`). An unparseable
 * `Expires` means already expired (§5.3), as does `no-cache` (§5.2.2.4: never reused without revalidating, which
 * this cache does not do), and an `s-maxage` or `max-age` that is not a lifetime ({@link invalidFreshness}: a
 * handler that wrote `max-age=-1` meant "do not cache"): 0. Undefined when the response says nothing; at most
 * MAX_TTL.
 */
export function headerTtl(headers: HeaderMap, now: number): number | undefined {
  const cacheControl = headerValue(headers, 'cache-control');
  if (/(^|,)\s*no-cache\s*(=|,|$)/i.test(directiveText(cacheControl))) return 0;
  if (invalidFreshness(cacheControl) !== undefined) return 0;
  const seconds = directiveSeconds(cacheControl, 's-maxage') ?? directiveSeconds(cacheControl, 'max-age');
  if (seconds !== undefined) return Math.min(seconds * 1000, MAX_TTL);
  const expires = headerValue(headers, 'expires');
  if (expires === undefined) return undefined;
  const at = Date.parse(directiveText(expires));
  if (Number.isNaN(at)) return 0;
  const date = headerValue(headers, 'date');
  const dated = date === undefined ? Number.NaN : Date.parse(directiveText(date));
  return Math.min(Math.max(0, at - (Number.isNaN(dated) ? now : dated)), MAX_TTL);
}

/** Reads a route's `cacheControl` option, throwing a `TypeError` that names it for anything else. */
export function cacheControlOption(value: unknown): CacheControlOption | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as CacheControlOption;
  if (typeof value === 'string' && value.trim() !== '' && !/[\r\n]/.test(value)) return value;
  throw new TypeError('option cacheControl must be a non-empty Cache-Control string or a function returning one');
}
