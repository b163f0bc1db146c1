import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import type { StoreLookup } from 'group-cache';
import { redisStore, type TieredStore, tieredStore } from 'group-cache/redis';
import type { Cluster } from 'ioredis';
import { entryStoredNow } from '../../helpers/entries.js';
import { connectCluster, sharedCluster } from '../../helpers/redis-cluster.js';
import { uniquePrefix } from '../../helpers/redis-server.js';
import { storeConformance } from '../../helpers/store-conformance.js';
import { fill, fromTier, invalidated, raceReadsAgainstExpiry, until } from '../../helpers/tiered-store.js';

// One cluster (3 masters, 3 replicas) for the file: the store suite on a tiered store, then the fleet tests. Every
// node runs on this machine, on one clock, so the stores allow no clock skew (clockSkew: 0).
// The two blocks below share it; the last to finish stops it.
const shared = sharedCluster(2);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The bucket a tag or id lives in, as the store computes it (FNV-1a over it, 16 buckets).
function bucketOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 16;
}

/** A tag named `<base>-<i>` in a bucket none of `avoid` (tags or ids) lives in, or in `bucket` when given. */
function tagOutside(base: string, avoid: readonly string[], bucket?: number): string {
  const taken = new Set(avoid.map(bucketOf));
  for (let i = 0; ; i++) {
    const tag = `${base}-${i}`;
    const n = bucketOf(tag);
    if (bucket === undefined ? !taken.has(n) : n === bucket && !avoid.includes(tag)) return tag;
  }
}

/** Script calls (EVALSHA and EVAL) every master has run so far. */
async function scriptCalls(client: Cluster): Promise<number> {
  let calls = 0;
  for (const node of client.nodes('master')) {
    const stats = await node.info('commandstats');
    for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
  }
  return calls;
}

describe('tieredStore on Redis Cluster', function () {
  this.timeout(60_000);

  storeConformance('tieredStore on Redis Cluster (ioredis Cluster)', {
    async setup(context) {
      await shared.open(context);
    },
    async create(options) {
      const redis = redisStore({
        client: shared.client,
        prefix: uniquePrefix('tiered-cluster-conformance'),
        clockSkew: 0,
        ...options,
      });
      await redis.get('k:warm-up');
      const store = tieredStore({ redis });
      await until(() => store.tierStats().serving, 'the reader to follow every bucket');
      return {
        store,
        records: () => redis.records(),
        cleanup: async () => {
          await store.clear();
          await store.close();
        },
      };
    },
    teardown: shared.release,
  });

  describe('a fleet of tiered stores, each on its own cluster client', () => {
    let redis: Cluster;
    const clients: Cluster[] = [];
    const stores: TieredStore[] = [];
    let prefix = '';

    before(async function () {
      redis = await shared.open(this);
    });
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      for (const client of clients.splice(0)) client.disconnect();
    });
    after(shared.release);

    /** `count` tiered stores on one new prefix (or the last one), each with its own cluster client, all serving. */
    async function fleet(
      count: number,
      options: { strict?: boolean; maxLag?: number } = {},
      same = false,
    ): Promise<TieredStore[]> {
      if (!same) {
        prefix = uniquePrefix('tiered-cluster');
        // A first lookup makes every bucket's epoch, as in any running deployment.
        await redisStore({ client: redis, prefix, clockSkew: 0 }).get('k:warm-up');
      }
      const made: TieredStore[] = [];
      for (let i = 0; i < count; i++) {
        const client = await connectCluster(shared.cluster);
        clients.push(client);
        const store = tieredStore({ redis: redisStore({ client, prefix, clockSkew: 0 }), ...options });
        stores.push(store);
        made.push(store);
      }
      await until(() => made.every((store) => store.tierStats().serving), 'every reader to follow every bucket');
      return made;
    }

    const records = (n: number): string => `{${prefix}${n}}r`;

    /** Records an expiry in its bucket the way the store does, but publishes nothing (a message still on its way). */
    async function expireUnannounced(tag: string): Promise<void> {
      const [seconds, micros] = await redis.time();
      await redis.zadd(records(bucketOf(tag)), String(Number(seconds) * 1_000_000 + Number(micros)), tag);
    }

    it('tieredStore() takes a Redis store on a cluster client, and follows all 16 buckets', async () => {
      const [a] = (await fleet(1)) as [TieredStore];
      expect(a.tierStats().serving).to.equal(true);
      await a.expire(['g:one']);
      // Only the bucket of g:one has a stream message.
      const lengths = await Promise.all(Array.from({ length: 16 }, (_, n) => redis.xlen(`{${prefix}${n}}s`)));
      expect(lengths.filter((length) => length > 0)).to.deep.equal([1]);
      expect(lengths[bucketOf('g:one')]).to.equal(1);
    });

    it('a fill on A is a hit from the tier on A, and on B after one read from Redis; no Redis call for either', async () => {
      const [a, b] = (await fleet(2)) as [TieredStore, TieredStore];
      const id = 'k:1';
      const groups = [tagOutside('g:users', [id])];
      groups.push(tagOutside('g:team', [id, ...groups]));
      const stored = await fill(a, id, groups);
      expect(fromTier(a.get(id))).to.equal(true);
      expect((await b.get(id)).entry?.startedAt).to.equal(stored.startedAt);
      const readsA = a.tierStats().redisReads;
      const readsB = b.tierStats().redisReads;
      for (let i = 0; i < 20; i++) {
        const onA = a.get(id);
        const onB = b.get(id);
        expect(fromTier(onA) && fromTier(onB)).to.equal(true);
        expect((onB as StoreLookup).entry?.body.toString()).to.equal('body');
      }
      expect(a.tierStats().redisReads).to.equal(readsA);
      expect(b.tierStats().redisReads).to.equal(readsB);
      expect(a.tierStats().tierHits).to.be.at.least(20);
      expect(b.tierStats().tierHits).to.be.at.least(20);
    });

    it("an expiry on B reaches A's tier within maxLag, through the expiry's bucket stream", async () => {
      const [a, b] = (await fleet(2, { maxLag: 1_000 })) as [TieredStore, TieredStore];
      for (let round = 0; round < 3; round++) {
        const id = `k:remote-${round}`;
        const group = tagOutside(`g:remote-${round}`, [id]);
        await fill(a, id, [group]);
        expect(fromTier(a.get(id))).to.equal(true);
        await b.expire([group]);
        // The bound holds whatever happens: within maxLag A has applied it, or bypasses its tier.
        await until(() => !fromTier(a.get(id)), 'A to stop serving the old copy', 1_000);
        expect(invalidated(await a.get(id))).to.equal(true);
      }
    });

    it('read-your-writes: expire() has applied each bucket stamp to its own tier when it resolves', async () => {
      const [a] = (await fleet(1)) as [TieredStore];
      for (let round = 0; round < 5; round++) {
        const id = `k:own-${round}`;
        const home = tagOutside(`g:own-home-${round}`, [], bucketOf(id));
        const elsewhere = tagOutside(`g:own-${round}`, [id]);
        await fill(a, id, [home, elsewhere]);
        expect(fromTier(a.get(id))).to.equal(true);
        // One group in the entry's own bucket, one in another: either expiry alone must be applied at once.
        await a.expire([round % 2 === 0 ? elsewhere : home]);
        const after = a.get(id);
        expect(after, `round ${round}: answered from the tier after its own expiry`).to.be.instanceOf(Promise);
        expect(invalidated(await after)).to.equal(true);
      }
    });

    it('a read from Redis racing an expiry is judged by stamps: never kept valid, whatever arrives first', async () => {
      const [a, b] = (await fleet(2)) as [TieredStore, TieredStore];
      await raceReadsAgainstExpiry(a, b, 15, (id) => tagOutside('g:race', [id]));
    });

    it('a read Redis answered before an expiry, handled after its message: not kept in the tier', async () => {
      const [a, b] = (await fleet(2)) as [TieredStore, TieredStore];
      const id = 'k:late-read';
      // A group in the entry's own bucket: the lookup is one script, run before the expiry.
      const group = tagOutside('g:late-read', [], bucketOf(id));
      await fill(b, id, [group]);
      // A's lookup replies are held on the client side (a slow network) until the message has been applied.
      const methods = clients[0] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const name = 'groupCacheClusterGet2Buffer';
      const original = methods[name]!;
      let ran = (): void => {};
      const readRan = new Promise<void>((resolve) => {
        ran = resolve;
      });
      let release = (): void => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      methods[name] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
        const reply = await original.apply(this, args);
        ran();
        await released;
        return reply;
      };
      try {
        const read = a.get(id);
        await readRan;
        const messages = a.tierStats().messages;
        await b.expire([group]);
        await until(() => a.tierStats().messages > messages, 'A to apply the message');
        release();
        expect(invalidated(await read), 'Redis answered before the expiry').to.equal(false);
      } finally {
        release();
        methods[name] = original;
      }
      const later = a.get(id);
      expect(fromTier(later), 'kept in the tier although a message applied dooms it').to.equal(false);
      expect(invalidated(await later)).to.equal(true);
    });

    it('strict: every tier hit is confirmed on the buckets involved: an expiry not yet published is not served, nor one after its response', async () => {
      const [strict] = (await fleet(1, { strict: true })) as [TieredStore];
      const [plain, writer] = (await fleet(2, {}, true)) as [TieredStore, TieredStore];
      const id = 'k:strict';
      const home = tagOutside('g:strict-home', [], bucketOf(id));
      const elsewhere = tagOutside('g:strict', [id]);
      const stored = await fill(strict, id, [home, elsewhere]);
      await plain.get(id);
      expect((await strict.get(id)).entry?.startedAt).to.equal(stored.startedAt);
      expect(strict.tierStats().confirmed).to.equal(1);
      // Recorded in the other bucket without a message: the plain tier cannot know yet; the strict one asks.
      await expireUnannounced(elsewhere);
      expect(fromTier(plain.get(id))).to.equal(true);
      expect(invalidated(await strict.get(id))).to.equal(true);
      expect(strict.tierStats().confirmed).to.equal(1);
      // The same in the entry's own bucket.
      const again = 'k:strict-again';
      const local = tagOutside('g:strict-local', [], bucketOf(again));
      await fill(strict, again, [local]);
      expect((await strict.get(again)).entry).to.not.equal(undefined);
      await expireUnannounced(local);
      expect(invalidated(await strict.get(again))).to.equal(true);
      // And through a real write on another instance: never served once its response came back.
      for (let i = 0; i < 5; i++) {
        const key = `k:strict-${i}`;
        const group = tagOutside(`g:strict-write-${i}`, [key]);
        await fill(strict, key, [group]);
        expect(invalidated(await strict.get(key))).to.equal(false);
        await writer.expire([group]);
        expect(invalidated(await strict.get(key)), `write ${i}`).to.equal(true);
      }
    });

    it('a sequence number skipped in one bucket (a message lost) drops the tier, and nothing stale is served', async () => {
      const [a, b] = (await fleet(2)) as [TieredStore, TieredStore];
      const id = 'k:gap';
      const group = tagOutside('g:gap', [id]);
      const n = bucketOf(group);
      await fill(a, id, [group]);
      expect(fromTier(a.get(id))).to.equal(true);
      const flushes = a.tierStats().flushes;
      // A message published, then trimmed away before A read it: its record stays, its number is skipped.
      await expireUnannounced(group);
      await redis.incr(`{${prefix}${n}}q`);
      await b.expire([tagOutside('g:gap-next', [group], n)]);
      await until(() => a.tierStats().flushes > flushes, 'A to see the gap');
      const after = a.get(id);
      expect(fromTier(after)).to.equal(false);
      expect(invalidated(await after)).to.equal(true);
    });

    it("one bucket's stream and counter lost while the records stay: the tier is dropped", async () => {
      const [a] = (await fleet(1)) as [TieredStore];
      const id = 'k:lost-stream';
      const group = tagOutside('g:lost-stream', [id]);
      const n = bucketOf(group);
      await fill(a, id, [group]);
      await a.expire([tagOutside('g:lost-stream-first', [group], n)]);
      await until(() => a.tierStats().messages === 1, 'A to read its own message');
      expect(fromTier(a.get(id))).to.equal(true);
      const flushes = a.tierStats().flushes;
      await expireUnannounced(group);
      await redis.del(`{${prefix}${n}}q`, `{${prefix}${n}}s`);
      await until(() => a.tierStats().flushes > flushes, 'A to see the counter go back');
      const after = a.get(id);
      expect(fromTier(after)).to.equal(false);
      expect(invalidated(await after)).to.equal(true);
    });

    it("a bucket's epoch lost (its records deleted): entries tagged there read as invalidated from the tier too", async () => {
      const [a] = (await fleet(1)) as [TieredStore];
      const id = 'k:epoch';
      const group = tagOutside('g:epoch', [id]);
      await fill(a, id, [group]);
      expect(fromTier(a.get(id))).to.equal(true);
      const flushes = a.tierStats().flushes;
      await redis.del(records(bucketOf(group)));
      // No lookup of the entry yet: it would make the epoch again.
      await until(() => a.tierStats().flushes > flushes, 'A to see the epoch go');
      await until(() => a.tierStats().serving, 'A to follow again');
      // The lost epoch is made again by the next lookup that reaches its bucket; until then only the entries it
      // judges stay out of the tier: one with every tag elsewhere joins it.
      const other = tagOutside('k:epoch-other', [group]);
      await fill(a, other, [tagOutside('g:epoch-other', [group, other])]);
      expect(fromTier(a.get(other)), 'an entry the lost bucket does not judge').to.equal(true);
      const after = a.get(id);
      expect(fromTier(after)).to.equal(false);
      expect(invalidated(await after)).to.equal(true);
    });

    it("clear() on one instance reaches the other's tier", async () => {
      const [a, b] = (await fleet(2)) as [TieredStore, TieredStore];
      const id = 'k:clear';
      await fill(a, id, [tagOutside('g:clear', [id])]);
      await b.get(id);
      expect(fromTier(b.get(id))).to.equal(true);
      await a.clear();
      await until(() => !fromTier(b.get(id)), 'B to drop the entry from its tier');
      expect((await b.get(id)).entry).to.equal(undefined);
    });

    it('a node out of reach: no proof from its buckets, so the tier is bypassed within maxLag, and serves again after', async function () {
      this.timeout(30_000);
      const [a] = (await fleet(1, { maxLag: 300 })) as [TieredStore];
      const id = 'k:paused';
      await fill(a, id, [tagOutside('g:paused', [id])]);
      expect(fromTier(a.get(id))).to.equal(true);
      // A master that holds no bucket of the entry: the tier cannot vouch for the others' streams either.
      const slot = Number(await redis.cluster('KEYSLOT', `{${prefix}${bucketOf('g:unrelated')}}r`));
      const node = await shared.cluster.masterOf(slot);
      node.pause();
      try {
        await sleep(400);
        expect(a.tierStats().serving).to.equal(false);
        expect(fromTier(a.get(id))).to.equal(false);
      } finally {
        node.resume();
      }
      await until(() => a.tierStats().serving, 'the reader to catch up', 10_000);
      expect(fromTier(a.get(id))).to.equal(true);
    });

    it('an expiry runs one script per bucket it touches, not one on every bucket', async () => {
      // No tiered store runs now (their poll rounds would count too).
      const store = redisStore({ client: redis, prefix: uniquePrefix('tiered-cluster-calls'), clockSkew: 0 });
      const [x, y] = ['g:calls-x', tagOutside('g:calls-y', ['g:calls-x'])] as [string, string];
      // The first expiry of a process also sweeps the untouched buckets (see below).
      await store.expire([x]);
      const before = await scriptCalls(redis);
      await store.expire([x]);
      expect((await scriptCalls(redis)) - before, 'one bucket').to.equal(1);
      const again = await scriptCalls(redis);
      await store.expire([x, y]);
      expect((await scriptCalls(redis)) - again, 'two buckets').to.equal(2);
    });

    it('an expiry prunes the buckets it touches; an untouched bucket is swept at most once per longest ttl', async function () {
      this.timeout(20_000);
      const own = uniquePrefix('tiered-cluster-prune');
      const store = redisStore({ client: redis, prefix: own, clockSkew: 0 });
      const x = 'g:prune-x';
      const y = tagOutside('g:prune-y', [x]);
      const x2 = tagOutside('g:prune-x2', [x], bucketOf(x));
      const w = tagOutside('g:prune-w', [x, y]);
      const ttl = 1_000;
      // An entry kept 1 s with tags in both buckets: their records matter for 1 s, and this process sweeps once a second.
      const { stamp } = await store.get('k:prune');
      expect(await store.set('k:prune', entryStoredNow(stamp, [x, y, 'k:prune'], 'body', ttl))).to.equal(true);
      const start = performance.now();
      await store.expire([w]); // the first expiry: a sweep
      await sleep(500);
      await store.expire([x, y]); // no sweep: within the period
      const recorded = performance.now();
      await sleep(Math.max(0, start + ttl + 100 - performance.now()));
      await store.expire([w]); // a sweep (a period after the first): x and y, about 600 ms old, stay
      const swept = performance.now();
      const score = (tag: string): Promise<string | null> => redis.zscore(`{${own}${bucketOf(tag)}}r`, tag);
      expect(await score(x), 'too young for the sweep').to.not.equal(null);
      await sleep(Math.max(0, recorded + ttl + 100 - performance.now()));
      // x is over 1 s old now; the next sweep is not due for about 400 ms more.
      expect(performance.now() - swept, 'the test ran too slowly to tell').to.be.below(ttl);
      await store.expire([x2]);
      expect(await score(x), 'its bucket, touched, was pruned').to.equal(null);
      expect(await score(y), 'the untouched bucket was left alone').to.not.equal(null);
      await store.clear();
    });

    // Last: it kills a master for good.
    it('failover: the master of a bucket is killed; the tier is bypassed meanwhile, then follows the new master, serving nothing invalidated', async function () {
      this.timeout(60_000);
      const [a, b] = (await fleet(2, { maxLag: 1_000 })) as [TieredStore, TieredStore];
      const group = 'g:failover';
      const ids = Array.from({ length: 4 }, (_, i) => `k:failover-${i}`);
      for (const id of ids) await fill(a, id, [group]);
      for (const id of ids) expect(fromTier(a.get(id))).to.equal(true);
      const slot = Number(await redis.cluster('KEYSLOT', records(bucketOf(group))));
      const victim = await shared.cluster.masterOf(slot);
      await victim.kill();
      // No proof from the victim's buckets: within maxLag the tier is bypassed.
      await until(() => !a.tierStats().serving, 'the tier to be bypassed', 5_000);
      await shared.cluster.waitOk(30_000);
      // The clients find the new master; the expiry lands and is published there.
      await until(
        () =>
          b.expire([group]).then(
            () => true,
            () => false,
          ),
        'an expiry to land on the new master',
        20_000,
      );
      const landed = performance.now();
      // Within maxLag of the expiry, A has applied it, dropped its tier, or bypasses it.
      for (const id of ids) {
        await until(() => !fromTier(a.get(id)), `A to stop serving ${id}`, Math.max(0, landed + 1_000 - performance.now()));
        expect(invalidated(await a.get(id)), id).to.equal(true);
      }
      await until(() => a.tierStats().serving, 'A to follow the new master', 20_000);
      // The tier works across the new master: a fill is kept, and an expiry published there reaches it.
      const id = 'k:failover-after';
      await fill(a, id, [group]);
      // The new master dropped the epochs it was handed (another node wrote them): a bucket's new epoch reaches the
      // reader with its next poll, and only then may entries judged by it join the tier.
      await until(
        async () => {
          const lookup = a.get(id);
          if (fromTier(lookup)) return true;
          await lookup;
          return false;
        },
        'A to keep a fill made on the new master',
        5_000,
      );
      await b.expire([group]);
      await until(() => !fromTier(a.get(id)), 'A to apply an expiry published by the new master', 1_000);
      expect(invalidated(await a.get(id))).to.equal(true);
    });
  });
});
