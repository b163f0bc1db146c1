/** Machine-readable codes of the errors the cache reports at run time. */
export type GroupCacheErrorCode =
  /** The key function threw or returned something that is not a valid key result. */
  | 'EKEYFUNCTION'
  /** A store call failed. */
  | 'ESTORE'
  /** A store call took longer than `storeTimeout`. */
  | 'ETIMEOUT'
  /** A group expiry could not be applied now; it is queued and retried. */
  | 'EEXPIRE'
  /** A queued group expiry was dropped (queue full or cache closed) and never applied. */
  | 'EEXPIREDROPPED'
  /** A value named for expiry is not a group name (an object, `''`, `NaN`...): it was not applied, the rest were. */
  | 'EINVALIDGROUP'
  /** The library is used in a way that cannot work (an expiry no `expireGroups()` middleware will ever run). */
  | 'EMISUSE'
  /** The response could not be captured or replayed. */
  | 'ERESPONSE'
  /** A data value (`getOrSet`) cannot be stored as JSON, or its stored JSON cannot be read back. */
  | 'EVALUE'
  /** A background refresh of a data value (`staleWhileRevalidate`) failed; the stale value stays. */
  | 'ELOADER'
  /** An edge cache (`edge.purgers`) could not be purged now; the tags are retried in the background. */
  | 'EPURGE';

// Marks the errors of every copy of this class: a process may load both builds (ESM and CommonJS), and each must
// take the other's errors for its own (`instanceof`), or their codes would be lost where they are reported.
const BRAND = Symbol.for('group-cache.GroupCacheError');

/** A run-time failure, with a `code` to branch on and the original error as `cause`. */
export class GroupCacheError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: a subclass keeps the ordinary prototype check
    if (this !== GroupCacheError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly code: GroupCacheErrorCode;
  /** Extra facts for the report: key, route, the value the key function returned, groups... */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: GroupCacheErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GroupCacheError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

Object.defineProperty(GroupCacheError.prototype, BRAND, { value: true });
