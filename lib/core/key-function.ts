import { describeValue } from './describe-value.js';
import { GroupCacheError } from './errors.js';
import { MAX_TTL } from './options.js';

/** What a key function may return: a spec, a `[key, groups]` pair, a bare key, or a falsy value to bypass. */
export type KeyResult = string | KeySpec | readonly [key: string, groups?: string | readonly string[]] | null | undefined | false;

/** The full form of a key function's result. */
export interface KeySpec {
  /**
   * The cache key. Any non-empty string; long keys are hashed. Omitted (with `groups` given): the request's
   * method and URL, query parameters sorted (`GET /search?a=1&b=2`), so that no query string is ignored.
   */
  key?: string;
  /** Group names this response belongs to (a single name or a list). */
  groups?: string | readonly string[];
  /** Lifetime of this entry in ms, overriding the route's and the cache's `ttl`. */
  ttl?: number;
}

/** A key function: gets the framework's request object (Express `req`, Koa `ctx`), may be async. */
export type KeyFunction<Req> = (req: Req) => KeyResult | Promise<KeyResult>;

/** A validated key function result. */
export interface NormalizedKey {
  key: string;
  groups: string[];
  ttl: number | undefined;
}

function invalid(message: string, value: unknown): GroupCacheError {
  return new GroupCacheError('EKEYFUNCTION', `returned ${describeValue(value)}: ${message}`, {
    details: { returned: value },
  });
}

/**
 * Normalises a list of group names: a single string or an array of non-empty strings, de-duplicated.
 * Throws a `TypeError` naming `what` for anything else.
 */
export function normalizeGroups(value: unknown, what: string, maxGroups: number): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    if (value === '') throw new TypeError(`${what} must contain non-empty strings only, got ${describeValue(value)}`);
    return [value];
  }
  const list: unknown = value;
  if (!Array.isArray(list)) throw new TypeError(`${what} must be a string or an array of strings, got ${describeValue(value)}`);
  // The common case, run on every request: a few distinct names, checked in place without building a Set.
  if (list.length <= 8) {
    let plain = true;
    for (let i = 0; i < list.length && plain; i++) {
      const group: unknown = list[i];
      if (typeof group !== 'string' || group === '') plain = false;
      for (let j = 0; j < i && plain; j++) if (list[j] === group) plain = false;
    }
    if (plain && list.length <= maxGroups) return list.slice() as string[];
  }
  const groups = new Set<string>();
  for (const group of list) {
    if (typeof group !== 'string' || group === '') {
      throw new TypeError(`${what} must contain non-empty strings only, got ${describeValue(group)}`);
    }
    groups.add(group);
  }
  if (groups.size > maxGroups) throw new TypeError(`${what} has ${groups.size} groups, more than the limit of ${maxGroups}`);
  return [...groups];
}

/**
 * Validates what a key function returned. Returns `undefined` for a bypass (falsy result) and throws a
 * `GroupCacheError` (`EKEYFUNCTION`) that says what was wrong for anything else that is not a valid result.
 */
export function normalizeKeyResult(value: unknown, maxGroups: number, defaultKey: () => string): NormalizedKey | undefined {
  if (value === null || value === undefined || value === false) return undefined;
  let key: unknown;
  let groups: unknown;
  let ttl: unknown;
  if (typeof value === 'string') {
    key = value;
  } else if (Array.isArray(value)) {
    if (value.length < 1 || value.length > 2) throw invalid('a [key, groups] pair has one or two items', value);
    [key, groups] = value;
  } else if (typeof value === 'object') {
    ({ key, groups, ttl } = value as Record<string, unknown>);
    if (key === undefined && groups !== undefined) key = defaultKey();
  } else {
    throw invalid('expected a key string, [key, groups], { key, groups, ttl } or a falsy value to bypass', value);
  }
  if (typeof key !== 'string' || key === '') {
    throw invalid('the key must be a non-empty string (or leave it out and give groups: the URL is the key)', value);
  }
  if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl > 0) || !(ttl <= MAX_TTL))) {
    throw invalid(`ttl must be a positive number of milliseconds, at most ${MAX_TTL} (one year)`, value);
  }
  try {
    return { key, groups: normalizeGroups(groups, 'groups', maxGroups), ttl };
  } catch (error) {
    throw invalid((error as Error).message, value);
  }
}
