/*
 * What the tiered store's tests (on one Redis and on a Cluster) judge lookups by, and the race they both run.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import type { CachedEntry, StoreLookup } from 'group-cache';
import type { TieredStore } from 'group-cache/redis';
import { entryStoredNow } from './entries.js';

/** True when the lookup's entry was expired after its fill started. */
export function invalidated(lookup: StoreLookup): boolean {
  return lookup.entry !== undefined && lookup.expiredAt >= lookup.entry.startedAt;
}

/** A lookup the tier answered: synchronous, with an entry. */
export function fromTier(lookup: StoreLookup | Promise<StoreLookup>): lookup is StoreLookup {
  return !(lookup instanceof Promise) && lookup.entry !== undefined;
}

/** Waits until `check` holds, polling, for at most `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what = 'the condition', ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Stores an entry for `id` tagged with `tags` and its id, as a fill started at the lookup before it; answers it. */
export async function fill(store: TieredStore, id: string, tags: string[], body = 'body'): Promise<CachedEntry> {
  const { stamp } = await store.get(id);
  const value = entryStoredNow(stamp, [...tags, id], body);
  expect(await store.set(id, value)).to.equal(true);
  return value;
}

/**
 * `rounds` times: B fills an entry, then A reads it from Redis while B expires its group (`groupOf` the entry's id).
 * Both are sent at once: A's read may run before or after B's expiry in Redis, and its reply may be handled before or
 * after the message. Once A applied the message, its tier must not serve the entry.
 */
export async function raceReadsAgainstExpiry(
  a: TieredStore,
  b: TieredStore,
  rounds: number,
  groupOf: (id: string) => string,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const id = `k:race-${i}`;
    const group = groupOf(id);
    await fill(b, id, [group]);
    const messages = a.tierStats().messages;
    const [read] = await Promise.all([a.get(id), b.expire([group])]);
    await until(() => a.tierStats().messages > messages, 'A to apply the message');
    const later = a.get(id);
    if (fromTier(later))
      throw new Error(`round ${i}: the tier served an entry expired after its fill (read first: ${!invalidated(read)})`);
    expect(invalidated(await later)).to.equal(true);
  }
}
