/*
 * A refresh replaces an entry the tier holds: while the new copy is on its way to Redis, a lookup must not be
 * answered from the tier with the copy it replaces (the adapter table's `refresh` row caught this on Fastify).
 * The tier lets go of its copy before the write is sent, so the lookup goes to Redis, behind the write on the
 * same connection.
 */
import { expect } from 'chai';
import type { CachedEntry } from 'group-cache';
import { redisStore, tieredStore } from 'group-cache/redis';
import { entryStoredNow } from '../../helpers/entries.js';
import { useRedis } from '../../helpers/redis-fixtures.js';
import { uniquePrefix } from '../../helpers/redis-server.js';

function entry(startedAt: number, body: string): CachedEntry {
  return { ...entryStoredNow(startedAt, ['k:page'], body), etag: `"${body}"` };
}

describe('tieredStore: a write replacing an entry the tier holds', () => {
  const fixture = useRedis();

  it('a lookup made while the new copy is being written never answers the old one', async () => {
    const redis = redisStore({ client: fixture.client, prefix: uniquePrefix('tiered-refresh') });
    await redis.get('k:warm-up'); // the epoch, as in a running deployment
    const store = tieredStore({ redis });
    try {
      const deadline = Date.now() + 5_000;
      while (!store.tierStats().serving) {
        if (Date.now() > deadline) throw new Error('the reader never followed the stream');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const first = await store.get('k:page');
      expect(await store.set('k:page', entry(first.stamp, 'old'))).to.equal(true);
      const tierHit = store.get('k:page');
      expect(tierHit).to.not.be.instanceOf(Promise); // the tier holds the old copy
      const second = await store.get('k:page');
      const writing = store.set('k:page', entry(second.stamp + 1, 'new'));
      const during = await store.get('k:page'); // sent while the write is in flight
      expect(await writing).to.equal(true);
      expect(during.entry?.body.toString()).to.equal('new');
    } finally {
      await store.clear();
      await store.close();
    }
  });
});
