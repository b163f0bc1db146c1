import type { GroupCache } from './cache.js';
import { defaultCache } from './default-cache.js';
import { GroupCacheError } from './errors.js';
import { normalizeGroups } from './key-function.js';

/** Options of the `expireGroups()` middleware. */
export interface ExpireOptions<Cache = GroupCache> {
  /** The cache whose groups are expired. Default: the process-wide default cache. */
  cache?: Cache;
  /** Which response statuses count as a successful write. Default: 2xx. */
  succeeded?: (status: number) => boolean;
  /**
   * What to do when the store cannot record the expiry now (it is queued and retried either way):
   * `'continue'` sends the write's response as it is; `'fail'` turns it into a 503 when its head was not sent.
   * Default `'continue'`.
   */
  onError?: 'continue' | 'fail';
}

const is2xx = (status: number): boolean => status >= 200 && status < 300;

/** The resolved settings of one `expireGroups()` middleware. */
export interface WriteExpiry {
  cache: GroupCache;
  succeeded: (status: number) => boolean;
  failWrite: boolean;
}

export function writeExpiry(options: ExpireOptions = {}): WriteExpiry {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  if (options.succeeded !== undefined && typeof options.succeeded !== 'function') {
    throw new TypeError('option succeeded must be a function');
  }
  if (options.onError !== undefined && options.onError !== 'continue' && options.onError !== 'fail') {
    throw new TypeError("option onError must be 'continue' or 'fail'");
  }
  return {
    cache: options.cache ?? defaultCache(),
    succeeded: options.succeeded ?? is2xx,
    failWrite: options.onError === 'fail',
  };
}

/**
 * Runs the expiry a write asked for, if it succeeded. Resolves true when the response may go out as it is,
 * false when `onError: 'fail'` wants it failed. Never rejects: junk in the groups value and store failures are
 * reported as `error` events.
 */
export async function runWriteExpiry(settings: WriteExpiry, requested: unknown, status: number): Promise<boolean> {
  if (requested === undefined || requested === null || !settings.succeeded(status)) return true;
  let groups: string[];
  try {
    groups = normalizeGroups(requested, 'expireGroups', Number.MAX_SAFE_INTEGER);
  } catch (error) {
    settings.cache._report(error);
    return !settings.failWrite;
  }
  try {
    await settings.cache.expireGroups(groups);
    return true;
  } catch (error) {
    // A store failure was already reported and queued for retry by the cache; anything else is reported here.
    if (!(error instanceof GroupCacheError)) settings.cache._report(error);
    return !settings.failWrite;
  }
}

/** Appends groups to a write's list (`res.locals` / `ctx.state`), keeping what was there. */
export function appendExpireGroups(holder: Record<string, unknown>, groups: string | readonly string[]): void {
  const added = normalizeGroups(groups, 'argument groups', Number.MAX_SAFE_INTEGER);
  const current = holder.expireGroups;
  const list = current === undefined || current === null ? [] : typeof current === 'string' ? [current] : current;
  if (!Array.isArray(list)) throw new TypeError('expireGroups already holds something that is not a list of groups');
  holder.expireGroups = [...list, ...added];
}
