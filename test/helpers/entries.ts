import type { CachedEntry } from 'group-cache';

/** A stored entry for tests that talk to a store or the engine directly: 1,000 bytes of text, fresh for a minute. */
export function testEntry(fields: Partial<CachedEntry> = {}): CachedEntry {
  return {
    status: 200,
    headers: [['content-type', 'text/plain']],
    body: Buffer.alloc(1000, 1),
    etag: '"e"',
    vary: [],
    tags: [],
    startedAt: 0,
    storedAt: 0,
    freshUntil: 60_000,
    staleUntil: 60_000,
    ...fields,
  };
}

/** An entry stored now, fresh for `ttl` ms: for stores that judge freshness by the wall clock (Redis, the tier). */
export function entryStoredNow(startedAt: number, tags: string[], body = 'body', ttl = 60_000): CachedEntry {
  const now = Date.now();
  return testEntry({ body: Buffer.from(body), startedAt, tags, storedAt: now, freshUntil: now + ttl, staleUntil: now + ttl });
}
