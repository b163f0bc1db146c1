import type { IncomingHttpHeaders } from 'node:http';
import { GroupCacheError } from '../core/errors.js';
import { collectExpiryGroups, type GroupNames } from '../core/expiry-groups.js';
import { checkOptionNames } from '../core/options.js';
import type { GroupCache } from '../engine/cache.js';
import { checkExpiryTarget, defaultCache, noteExpiryMiddleware } from '../engine/default-cache.js';

/** Options of the `expireGroups()` middleware. */
export interface ExpireOptions<Cache = GroupCache> {
  /** The cache whose groups are expired. Default: the process-wide default cache. */
  cache?: Cache;
  /**
   * Which response statuses count as a successful write. Default: 2xx and 3xx (a redirect after a form POST is
   * a write that succeeded).
   */
  succeeded?: (status: number) => boolean;
  /**
   * What to do when the expiry cannot be recorded now (the store is down: it is queued and retried either way;
   * or a value was not a group name): `'fail'` turns the write's response into a 503 when its head was not sent,
   * so that no client is told a write is visible everywhere while another instance may still serve the old data;
   * `'continue'` sends the write's response as it is. Default `'fail'`.
   */
  onError?: 'continue' | 'fail';
}

const EXPIRE_OPTION_NAMES = Object.keys({ cache: true, succeeded: true, onError: true } satisfies Record<
  keyof ExpireOptions,
  true
>);

const isSuccess = (status: number): boolean => status >= 200 && status < 400;

/** The resolved settings of one `expireGroups()` middleware. */
export interface WriteExpiry {
  cache: GroupCache;
  succeeded: (status: number) => boolean;
  failWrite: boolean;
}

export function writeExpiry(options: ExpireOptions = {}): WriteExpiry {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, EXPIRE_OPTION_NAMES, 'expireGroups()');
  if (options.succeeded !== undefined && typeof options.succeeded !== 'function') {
    throw new TypeError('option succeeded must be a function');
  }
  if (options.onError !== undefined && options.onError !== 'continue' && options.onError !== 'fail') {
    throw new TypeError("option onError must be 'continue' or 'fail'");
  }
  const cache = options.cache ?? defaultCache();
  noteExpiryMiddleware();
  return { cache, succeeded: options.succeeded ?? isSuccess, failWrite: options.onError !== 'continue' };
}

/** A write request as an adapter names it, for its expiry's trigger (read only when the write expires groups). */
export interface WriteRequest {
  method: string;
  /** The matched route's pattern, else the path. */
  route: string;
  /** See {@link requestIdOf}. */
  requestId: string | undefined;
}

function firstValue(value: unknown): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/**
 * A request's id for an expiry trigger: its `X-Request-Id` header, else the response's (set by a request-id
 * middleware), else `fallback` (Fastify's `request.id`). The cache cuts it to a bound: a client chooses it.
 */
export function requestIdOf(requestHeaders: IncomingHttpHeaders, responseHeader: unknown, fallback?: string): string | undefined {
  return firstValue(requestHeaders['x-request-id']) ?? firstValue(responseHeader) ?? firstValue(fallback);
}

/**
 * Runs the expiry a write asked for, if it succeeded, naming the write (`request`) as its trigger. Resolves true
 * when the response may go out as it is, false when `onError: 'fail'` wants it failed. Never rejects: the cache
 * has already reported store failures and values that are not group names (and applied every valid group).
 */
export async function runWriteExpiry(
  settings: WriteExpiry,
  requested: unknown,
  status: number,
  request: () => WriteRequest,
): Promise<boolean> {
  if (requested === undefined || requested === null || !settings.succeeded(status)) return true;
  checkExpiryTarget(settings.cache);
  const { method, route, requestId } = request();
  const trigger = requestId === undefined ? { method, route, status } : { method, route, status, requestId };
  try {
    await settings.cache.expireGroups(requested as GroupNames, { trigger });
    return true;
  } catch (error) {
    if (!(error instanceof GroupCacheError)) settings.cache.report(error);
    return !settings.failWrite;
  }
}

/** Appends groups for a write to expire (`res.locals` / `ctx.state`), keeping what was there. */
export function appendExpireGroups(holder: Record<string, unknown>, groups: GroupNames): void {
  const { groups: added, rejected } = collectExpiryGroups(groups);
  if (rejected.length > 0) {
    throw new TypeError(`argument groups must hold non-empty strings or finite numbers, got ${rejected.join('; ')}`);
  }
  const current = holder.expireGroups;
  const list = current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
  holder.expireGroups = [...list, ...added];
}

/** The error of a write that names groups on a request no `expireGroups()` middleware sees. */
export function notOnPath(holder: string, mount: string): GroupCacheError {
  return new GroupCacheError(
    'EMISUSE',
    `addExpireGroups() on a request that no expireGroups() middleware sees: ${holder} would never be expired. ` +
      `Mount ${mount} before the routes that write (or in the route, before its handler).`,
  );
}
