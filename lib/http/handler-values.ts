/*
 * What a handler decides about its own entry once it has loaded its data: `cacheGroups` (more groups, e.g. every
 * user a list page shows), `cacheTtl` (the entry's TTL, ms) and `cacheSkip` (store nothing), read off
 * `res.locals` / `ctx.state` by the adapter and judged here, the same way for every framework.
 */

import { describeValue } from '../core/describe-value.js';
import { GroupCacheError } from '../core/errors.js';
import { collectExpiryGroups } from '../core/expiry-groups.js';
import { MAX_TTL } from '../core/options.js';

/** The handler's decisions, valid ones only. */
export interface HandlerValues {
  /** Groups added to the key function's (those it did not give already), as names (numbers as decimal strings). */
  groups: string[];
  /** The entry's TTL in ms, at most MAX_TTL, or undefined for the route's. */
  ttl: number | undefined;
  skip: boolean;
}

const NONE: HandlerValues = { groups: [], ttl: undefined, skip: false };

/**
 * Reads `cacheGroups`, `cacheTtl` and `cacheSkip` off a handler's locals. Returns the error to report instead
 * when one holds junk: the entry is then not stored (a group the handler meant but the cache could not read
 * would leave the entry unexpirable by it). `keyGroups` are the key function's groups.
 */
export function readHandlerValues(
  locals: unknown,
  keyGroups: readonly string[],
  maxGroups: number,
  where: string,
): HandlerValues | GroupCacheError {
  if (typeof locals !== 'object' || locals === null) return NONE;
  const bag = locals as Record<string, unknown>;
  // Read one by one: a getter that throws (or a Proxy) is the handler's bug, reported, never the response's end.
  let reading = 'cacheGroups';
  try {
    const cacheGroups = bag.cacheGroups;
    reading = 'cacheTtl';
    const cacheTtl = bag.cacheTtl;
    reading = 'cacheSkip';
    const cacheSkip = bag.cacheSkip;
    reading = 'cacheGroups';
    return judge(cacheGroups, cacheTtl, cacheSkip, keyGroups, maxGroups, where);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return new GroupCacheError('ERESPONSE', `reading ${reading} of ${where} threw: ${message}; not stored`, {
      cause: error,
      details: { where },
    });
  }
}

function judge(
  cacheGroups: unknown,
  cacheTtl: unknown,
  cacheSkip: unknown,
  keyGroups: readonly string[],
  maxGroups: number,
  where: string,
): HandlerValues | GroupCacheError {
  if (cacheGroups === undefined && cacheTtl === undefined && cacheSkip === undefined) return NONE;
  const details = { where };
  if (cacheSkip !== undefined && typeof cacheSkip !== 'boolean') {
    return new GroupCacheError(
      'ERESPONSE',
      `cacheSkip of ${where} must be a boolean, got ${describeValue(cacheSkip)}; not stored`,
      {
        details,
      },
    );
  }
  let ttl: number | undefined;
  if (cacheTtl !== undefined) {
    if (typeof cacheTtl !== 'number' || !(cacheTtl > 0) || Number.isNaN(cacheTtl)) {
      return new GroupCacheError(
        'ERESPONSE',
        `cacheTtl of ${where} must be a positive number of milliseconds, got ${describeValue(cacheTtl)}; not stored`,
        { details },
      );
    }
    // The cache's longest lifetime bounds a handler's too, as it bounds every ttl option.
    ttl = Math.min(cacheTtl, MAX_TTL);
  }
  const { groups: named, rejected } = collectExpiryGroups(cacheGroups);
  const groups = named.filter((group) => !keyGroups.includes(group));
  if (rejected.length > 0) {
    return new GroupCacheError(
      'EINVALIDGROUP',
      `cacheGroups of ${where} holds value(s) that are not group names: ${rejected.slice(0, 5).join('; ')}` +
        ' (group names are non-empty strings or finite numbers); not stored',
      { details: { where, rejected } },
    );
  }
  if (keyGroups.length + groups.length > maxGroups) {
    return new GroupCacheError(
      'EINVALIDGROUP',
      `cacheGroups of ${where} brings the entry to ${keyGroups.length + groups.length} groups, more than maxGroups ${maxGroups}; not stored`,
      { details: { where, groups } },
    );
  }
  return { groups, ttl, skip: cacheSkip === true };
}
