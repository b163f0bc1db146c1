/*
 * Short, fixed reason keys for stats and metrics. The HTTP layer and the data cache give free-text reasons (for
 * logs and events); counting them as given would let a message with a status or a size in it grow a map without
 * bound, so each is mapped here to one key of a fixed set, unknown ones to `other`.
 */

/** Why a request was served past the cache (`stats().bypassReasons`). */
export const BYPASS_REASONS = ['method', 'authorization', 'key-function', 'no-key', 'store-unavailable', 'other'] as const;
export type BypassReason = (typeof BYPASS_REASONS)[number];

/** Why a filled response or value was not stored (`stats().notStoredReasons`). */
export const NOT_STORED_REASONS = [
  'status',
  'set-cookie',
  'no-store',
  'private',
  'vary-star',
  'too-large',
  'length-mismatch',
  'aborted',
  'handler-threw',
  'served-stale',
  'cache-skip',
  'no-ttl',
  'invalid-value',
  'loader-threw',
  'undefined-value',
  'not-json',
  'not-serializable',
  'refused-by-store',
  'store-unavailable',
  'other',
] as const;
export type NotStoredReason = (typeof NOT_STORED_REASONS)[number];

// First match wins; tested against the reason as given (with any " (as sent)" suffix).
const NOT_STORED_PATTERNS: ReadonlyArray<readonly [RegExp, NotStoredReason]> = [
  [/^status \d+/, 'status'],
  [/^Set-Cookie/i, 'set-cookie'],
  [/no-store/i, 'no-store'],
  [/private/i, 'private'],
  [/^Vary: \*/i, 'vary-star'],
  [/over maxEntryBytes/, 'too-large'],
  [/^body of \d+ bytes, Content-Length/, 'length-mismatch'],
  [/closed|aborted|not sent in full|finished without a head|respond = false|outside Koa|replaced after/i, 'aborted'],
  [/stale copy was served/, 'served-stale'],
  [/handler threw|stream body errored|handler failed|handler timed out/i, 'handler-threw'],
  [/cacheSkip/, 'cache-skip'],
  [/no freshness lifetime/, 'no-ttl'],
  [/cacheGroups|cacheTtl|invalid|must be/i, 'invalid-value'],
  [/^the loader failed/, 'loader-threw'],
  [/returned undefined/, 'undefined-value'],
  [/JSON/, 'not-json'],
];

const BYPASS_PATTERNS: ReadonlyArray<readonly [RegExp, BypassReason]> = [
  [/^[A-Z]+ request$/, 'method'],
  [/^Authorization/i, 'authorization'],
  [/^key function/, 'key-function'],
  [/^no key$/, 'no-key'],
  [/^store unavailable$/, 'store-unavailable'],
];

/** True when `name` is one of the `notStoredReasons` keys (a refusal's detail often is). */
export function isNotStoredReason(name: string | undefined): name is NotStoredReason {
  return name !== undefined && (NOT_STORED_REASONS as readonly string[]).includes(name);
}

/** The short key of why a fill was not stored (`Fill.cancel`'s reason). */
export function notStoredReason(reason: string): NotStoredReason {
  for (const [pattern, key] of NOT_STORED_PATTERNS) if (pattern.test(reason)) return key;
  return 'other';
}

/** The short key of why a request bypassed the cache (`recordBypass`'s reason). */
export function bypassReason(reason: string): BypassReason {
  for (const [pattern, key] of BYPASS_PATTERNS) if (pattern.test(reason)) return key;
  return 'other';
}

/** A counter per key, every key present (at 0), so the maps have a fixed shape. */
export function reasonCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const counts = {} as Record<K, number>;
  for (const key of keys) counts[key] = 0;
  return counts;
}
