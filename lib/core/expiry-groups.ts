import { describeValue } from './describe-value.js';

/** What a write or `cache.expireGroups()` may name: a group, a list of them, or an id straight from a database. */
export type GroupName = string | number | bigint;
export type GroupNames = GroupName | Iterable<GroupName>;

/** The groups an expiry will apply, and the values it had to reject. */
export interface ExpiryGroups {
  groups: string[];
  rejected: string[];
}

function accept(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  // An id from a database is the common case: 42 and '42' name the same group.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * Splits what a write asked to expire into the valid group names (de-duplicated, in order) and a description
 * of each rejected value. Never throws: one bad value must not cost the write the groups that are valid.
 */
export function collectExpiryGroups(value: unknown): ExpiryGroups {
  const groups = new Set<string>();
  const rejected: string[] = [];
  if (value === undefined || value === null) return { groups: [], rejected };
  const list: unknown = typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' ? [value] : value;
  if (Array.isArray(list) || list instanceof Set) {
    for (const item of list as Iterable<unknown>) {
      const group = accept(item);
      if (group === undefined) rejected.push(describeValue(item));
      else groups.add(group);
    }
  } else {
    rejected.push(describeValue(value));
  }
  return { groups: [...groups], rejected };
}
