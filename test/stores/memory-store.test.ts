import { inspect } from 'node:util';
import { expect } from 'chai';
import { type CachedEntry, createCache, memoryStore, type StoreLookup } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { groupTag, keyId } from '../../lib/core/keys.js';
import { WIDE_TIMES_BYTES } from '../../lib/stores/entry-size.js';
import { testEntry } from '../helpers/entries.js';
import { express, getRaw, manualClock } from '../helpers/express-app.js';

function entry(startedAt: number, tags: string[], body = Buffer.alloc(1000, 1), keep = 60_000): CachedEntry {
  return testEntry({ body, tags, startedAt, freshUntil: keep, staleUntil: keep });
}

/** The store holds the entry and says a tag of it was expired at or after its fill started. */
function invalidated(lookup: StoreLookup): boolean {
  return lookup.entry !== undefined && lookup.expiredAt >= lookup.entry.startedAt;
}

/*
 * How much slower one step is after `later` more steps than at first, past the store's bound: the fastest of a few
 * batches on each side, so a GC pause or a busy core slows a batch and not the figure. A `Map` walked from the front
 * passes every slot deleted since its last rehash: with a bound just past a power of two, its table holds up to as
 * many deleted slots as live ones, and a step that walks them is several times slower by the later batches.
 */
function slowdownPastBound(step: () => void, bound: number, later = 10_000): number {
  const fastest = (batches: number, size: number): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let b = 0; b < batches; b++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < size; i++) step();
      best = Math.min(best, Number(process.hrtime.bigint() - started) / size);
    }
    return best;
  };
  for (let i = 0; i < bound + 500; i++) step();
  const first = fastest(8, 250);
  for (let i = 0; i < later; i++) step();
  return fastest(8, 250) / first;
}

describe('memoryStore', () => {
  it('memoryStore(options) validates its options', () => {
    expect(() => memoryStore({ maxBytes: -1 })).to.throw(TypeError, /option maxBytes must be a positive integer/);
    expect(() => memoryStore({ maxEntries: 1.5 })).to.throw(TypeError, /option maxEntries/);
    expect(() => memoryStore({ now: 5 as never })).to.throw(TypeError, /option now must be a function/);
  });

  it('stays under maxBytes, evicting least recently used, under a flood of distinct keys', () => {
    const store = memoryStore({ maxBytes: 50_000 });
    for (let i = 0; i < 1_000; i++) {
      const { stamp } = store.get(`k:${i}`);
      expect(store.set(`k:${i}`, entry(stamp, [`k:${i}`]))).to.equal(true);
      expect(store.stats().bytes).to.be.at.most(50_000);
    }
    const stats = store.stats();
    expect(stats.entries).to.be.below(1_000).and.above(10);
    expect(stats.evictions).to.equal(1_000 - stats.entries);
    expect(store.get('k:999').entry).to.not.equal(undefined);
    expect(store.get('k:0').entry).to.equal(undefined);
  });

  it('a read refreshes recency: the entry read last survives eviction', () => {
    const store = memoryStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) store.set(key, entry(store.get(key).stamp, []));
    store.get('a');
    store.set('d', entry(store.get('d').stamp, []));
    expect(store.get('a').entry).to.not.equal(undefined);
    expect(store.get('b').entry).to.equal(undefined);
  });

  it('keeps the group records bounded under a flood of distinct group names, without reviving invalidated entries', () => {
    const store = memoryStore({ maxRecords: 100 });
    const old = store.get('k:old').stamp;
    store.set('k:old', entry(old, ['g:victim', 'k:old']));
    store.expire(['g:victim']);
    for (let i = 0; i < 10_000; i++) store.expire([`g:flood-${i}`]);
    expect(store.stats().records).to.be.at.most(100);
    // The victim's record was dropped, but the floor it raised still marks the old entry stale.
    expect(invalidated(store.get('k:old'))).to.equal(true);
    // A fill that starts after the flood is fresh.
    const fresh = store.get('k:new').stamp;
    expect(store.set('k:new', entry(fresh, ['g:victim', 'k:new']))).to.equal(true);
    expect(store.get('k:new').entry).to.not.equal(undefined);
  });

  it('counts expiry records in bytes: stats().bytes grows by each record (tag at 2 bytes a code unit + overhead)', () => {
    const store = memoryStore();
    store.expire(['g:a']);
    const one = store.stats().bytes;
    const overhead = one - 2 * 'g:a'.length;
    expect(overhead, 'per-record overhead').to.be.at.least(100);
    const long = `g:${'x'.repeat(200)}`;
    store.expire([long]);
    expect(store.stats().bytes - one).to.equal(overhead + 2 * long.length);
    // Expiring a group again replaces its record: no double count.
    store.expire(['g:a']);
    expect(store.stats().bytes - one).to.equal(overhead + 2 * long.length);
    store.clear();
    expect(store.stats().bytes).to.equal(0);
  });

  it('a flood of long group names stays within maxBytes (records take at most maxRecordBytes, maxBytes / 4 by default)', () => {
    const maxBytes = 200_000;
    const store = memoryStore({ maxBytes });
    const long = 'n'.repeat(200);
    for (let i = 0; i < 20_000; i++) {
      store.expire([`g:${long}-${i}`]);
      expect(store.stats().bytes).to.be.at.most(maxBytes / 4);
    }
    // Dropped for bytes, far below the 100,000 record count bound.
    expect(store.stats().records).to.be.above(10).and.below(1_000);
    const shared = memoryStore({ maxBytes, maxRecordBytes: maxBytes });
    for (let i = 0; i < 20_000; i++) shared.expire([`g:${long}-${i}`]);
    expect(shared.stats().bytes)
      .to.be.at.most(maxBytes)
      .and.above(maxBytes / 2);
  });

  it('entries tagged with a record dropped for bytes read as misses (the floor rises as for the count bound)', () => {
    const store = memoryStore({ maxBytes: 100_000, maxRecords: 1_000_000 });
    const old = store.get('k:old').stamp;
    expect(store.set('k:old', entry(old, ['g:victim', 'k:old']))).to.equal(true);
    store.expire(['g:victim']);
    const between = store.get('k:between').stamp;
    expect(store.set('k:between', entry(between, ['g:other', 'k:between']))).to.equal(true);
    for (let i = 0; i < 5_000; i++) store.expire([`g:${'f'.repeat(200)}-${i}`]);
    expect(store.stats().records).to.be.below(5_000);
    for (const key of ['k:old', 'k:between']) {
      expect(invalidated(store.get(key)), key).to.equal(true);
    }
    // A fill that starts after the flood is stored and served.
    const fresh = store.get('k:new').stamp;
    expect(store.set('k:new', entry(fresh, ['g:victim', 'k:new']))).to.equal(true);
    expect(store.get('k:new').entry).to.not.equal(undefined);
  });

  it('entries and records share maxBytes: records coming in evict least recently used entries', () => {
    const maxBytes = 50_000;
    const store = memoryStore({ maxBytes });
    for (let i = 0; i < 100; i++) store.set(`k:${i}`, entry(store.get(`k:${i}`).stamp, [`k:${i}`]));
    const full = store.stats();
    expect(full.bytes)
      .to.be.above(maxBytes - 2_000)
      .and.at.most(maxBytes);
    store.expire(Array.from({ length: 20 }, (_, i) => `g:${'r'.repeat(100)}-${i}`));
    const after = store.stats();
    expect(after.records).to.equal(20);
    expect(after.bytes).to.be.at.most(maxBytes);
    expect(after.entries).to.be.below(full.entries);
    expect(after.evictions).to.equal(full.evictions + full.entries - after.entries);
  });

  it('memoryStore({ maxRecordBytes }) validates it against maxBytes', () => {
    expect(() => memoryStore({ maxBytes: 1000, maxRecordBytes: 1001 })).to.throw(
      TypeError,
      /option maxRecordBytes must not exceed maxBytes/,
    );
    expect(() => memoryStore({ maxRecordBytes: 0 })).to.throw(TypeError, /option maxRecordBytes must be a positive integer/);
  });

  it('drops records older than the longest TTL stored', () => {
    const clock = manualClock();
    const store = memoryStore({ now: clock.now });
    store.set('k:a', entry(store.get('k:a').stamp, ['g:a'], undefined, 1_000));
    store.expire(['g:one', 'g:two']);
    expect(store.stats().records).to.equal(2);
    clock.advance(1_001);
    store.expire(['g:three']);
    expect(store.stats().records).to.equal(1);
  });

  it('expiring a group costs the same for 1 member or 100,000: one record, no per-member work', () => {
    const store = memoryStore({ maxBytes: 2 ** 30, maxEntries: 200_000 });
    for (let i = 0; i < 100_000; i++) store.set(`k:${i}`, entry(store.get(`k:${i}`).stamp, ['g:big', `k:${i}`], Buffer.alloc(1)));
    const before = store.stats();
    store.expire(['g:big']);
    const after = store.stats();
    // Nothing was scanned or deleted: entries stay until read, and exactly one record was written.
    expect(after.entries).to.equal(before.entries);
    expect(after.records).to.equal(before.records + 1);
    expect(invalidated(store.get('k:0'))).to.equal(true);
    expect(invalidated(store.get('k:99999'))).to.equal(true);
  });

  it('set() refuses a fill whose group was expired after it started (same tick counts as expired)', () => {
    const store = memoryStore();
    const stamp = store.get('k:x').stamp;
    store.expire(['g:x']);
    expect(store.set('k:x', entry(stamp, ['g:x', 'k:x']))).to.equal(false);
    expect(store.get('k:x').entry).to.equal(undefined);
  });

  it('set() refuses an older fill over a newer entry', () => {
    const store = memoryStore();
    const older = store.get('k:x').stamp;
    const newer = store.get('k:x').stamp;
    expect(store.set('k:x', entry(newer, ['k:x'], Buffer.from('new')))).to.equal(true);
    expect(store.set('k:x', entry(older, ['k:x'], Buffer.from('old')))).to.equal(false);
    expect(store.get('k:x').entry?.body.toString()).to.equal('new');
  });

  it('clear() makes fills started before it unstorable', () => {
    const store = memoryStore();
    const stamp = store.get('k:x').stamp;
    store.clear();
    expect(store.set('k:x', entry(stamp, ['k:x']))).to.equal(false);
  });

  it('through the cache: maxBytes holds under a flood of distinct keys and group names', async () => {
    const store = memoryStore({ maxBytes: 100_000, maxRecords: 50 });
    const cache = createCache({ store });
    const app = express();
    app.get(
      '/f/:i',
      groupCache((req) => ({ key: `f${req.params.i}`, groups: [`group-${req.params.i}`] }), { cache }),
      (_req, res) => res.send('x'.repeat(1000)),
    );
    for (let i = 0; i < 300; i++) {
      await getRaw(app, `/f/${i}`);
      await cache.expireGroups(`other-${i}`);
    }
    expect(cache.stats().bytes).to.be.at.most(100_000);
    expect(cache.stats().entries).to.be.below(300);
    expect(store.stats().records).to.be.at.most(50);
  });

  it('a captured body owns its memory (no slice of Node’s shared pool), so the byte count is the heap held', async () => {
    const store = memoryStore();
    const cache = createCache({ store });
    const app = express();
    app.get(
      '/small',
      groupCache(() => 'small', { cache }),
      (_req, res) => {
        res.write('a'.repeat(100));
        res.end(Buffer.from('b'.repeat(100)));
      },
    );
    app.get(
      '/one',
      groupCache(() => 'one', { cache }),
      (_req, res) => res.send('c'.repeat(300)),
    );
    for (const key of ['small', 'one']) {
      await getRaw(app, `/${key}`);
      const body = store.get(keyId(key)).entry?.body;
      expect(body?.toString()).to.have.length(key === 'small' ? 200 : 300);
      expect(body?.buffer.byteLength, key).to.equal(body?.length);
    }
  });

  it('set(key, entry) keeps a body sliced from a larger buffer in its own memory, bytes unchanged', () => {
    const store = memoryStore();
    const slab = Buffer.alloc(8192, 7);
    slab.write('hello', 100);
    const body = slab.subarray(100, 105);
    expect(store.set('k:s', entry(store.get('k:s').stamp, ['k:s'], body))).to.equal(true);
    const kept = store.get('k:s').entry?.body;
    expect(kept?.toString()).to.equal('hello');
    expect(kept?.buffer.byteLength).to.equal(5);
    const own = Buffer.from('x'.repeat(5000));
    store.set('k:o', entry(store.get('k:o').stamp, ['k:o'], own));
    expect(store.get('k:o').entry?.body).to.equal(own);
  });

  it('entries with the same headers share one list, counted once and released with the last of them', () => {
    const store = memoryStore();
    const empty = store.stats().bytes;
    store.set('k:a', entry(store.get('k:a').stamp, ['k:a']));
    const one = store.stats().bytes;
    store.set('k:b', entry(store.get('k:b').stamp, ['k:b']));
    const two = store.stats().bytes;
    expect(two - one, 'the second entry pays no header list').to.be.below(one - empty);
    expect(store.get('k:a').entry?.headers).to.equal(store.get('k:b').entry?.headers);
    expect(store.get('k:a').entry?.headers).to.deep.equal([['content-type', 'text/plain']]);
    store.delete('k:a');
    expect(store.stats().bytes).to.equal(one);
    store.delete('k:b');
    expect(store.stats().bytes).to.equal(empty);
  });

  it('set(key, entry) copies the header list: changing the caller’s list later changes nothing stored', () => {
    const store = memoryStore();
    const stored = entry(store.get('k:m').stamp, ['k:m']);
    store.set('k:m', stored);
    (stored.headers[0] as [string, string])[1] = 'text/html';
    stored.headers.push(['x-late', '1']);
    expect(store.get('k:m').entry?.headers).to.deep.equal([['content-type', 'text/plain']]);
  });

  it('get(key) hands back the same entry object on every hit: a hit allocates no entry', () => {
    const store = memoryStore();
    store.set('k:same', entry(store.get('k:same').stamp, ['g:users', 'k:same']));
    const first = store.get('k:same').entry;
    expect(first).to.not.equal(undefined);
    expect(store.get('k:same').entry).to.equal(first);
    expect(store.peek('k:same').entry).to.equal(first);
  });

  describe('times kept as small offsets, or as they are when they do not fit', () => {
    // The store's stamps are this process's clock in µs: a fill's startedAt is near storedAt * 1000.
    const wall = Date.now();
    type Times = { storedAt: number; fresh: number; stale: number; started?: number };
    const cases: Array<[string, 'offsets' | 'as they are', Times]> = [
      ['a 10-minute TTL', 'offsets', { storedAt: wall, fresh: 600_000, stale: 0 }],
      ['a stale window', 'offsets', { storedAt: wall, fresh: 60_000, stale: 30_000 }],
      ['a TTL of 2^30 - 1 ms', 'offsets', { storedAt: wall, fresh: 2 ** 30 - 1, stale: 0 }],
      ['a startedAt 1 µs after storedAt (a negative offset)', 'offsets', { storedAt: wall, fresh: 1_000, stale: 0, started: 1 }],
      ['a TTL of 2^30 ms', 'as they are', { storedAt: wall, fresh: 2 ** 30, stale: 0 }],
      [
        'a 30-day TTL and a year of stale window',
        'as they are',
        { storedAt: wall, fresh: 30 * 86_400_000, stale: 31_536_000_000 },
      ],
      ['a TTL with a fraction of a ms', 'as they are', { storedAt: wall, fresh: 1_000.5, stale: 0 }],
      ['a storedAt far from the store clock', 'as they are', { storedAt: 5, fresh: 1_000, stale: 0 }],
    ];
    // What the entries below hold when their times fit: the same key, tags, body and head as each case.
    function narrowBytes(): number {
      const store = memoryStore();
      store.set('k:t', {
        ...entry(store.get('k:t').stamp, ['g:t', 'k:t']),
        storedAt: wall,
        freshUntil: wall + 1,
        staleUntil: wall + 1,
      });
      return store.stats().bytes;
    }
    for (const [name, kept, times] of cases) {
      it(`${name} (${kept}): every field reads back exactly, and the entry is kept staleUntil - storedAt ms`, () => {
        let now = times.storedAt;
        const store = memoryStore({ now: () => now });
        const stamp = store.get('k:t').stamp;
        const startedAt = times.started === undefined ? stamp : times.storedAt * 1000 + times.started;
        const stored: CachedEntry = {
          ...entry(startedAt, ['g:t', 'k:t']),
          storedAt: times.storedAt,
          freshUntil: times.storedAt + times.fresh,
          staleUntil: times.storedAt + times.fresh + times.stale,
        };
        expect(store.set('k:t', stored)).to.equal(true);
        expect(store.stats().bytes).to.equal(narrowBytes() + (kept === 'offsets' ? 0 : WIDE_TIMES_BYTES));
        const read = store.peek('k:t').entry as CachedEntry;
        for (const field of ['status', 'etag', 'startedAt', 'storedAt', 'freshUntil', 'staleUntil'] as const) {
          expect(read[field], field).to.equal(stored[field]);
        }
        expect(read.headers).to.deep.equal(stored.headers);
        expect(read.vary).to.deep.equal(stored.vary);
        expect(read.tags).to.deep.equal(stored.tags);
        expect(read.body.equals(stored.body)).to.equal(true);
        const keep = Math.max(1, stored.staleUntil - stored.storedAt);
        now = times.storedAt + keep - 1;
        expect(store.get('k:t').entry, 'kept until its deadline').to.equal(read);
        now = times.storedAt + keep;
        expect(store.get('k:t').entry, 'dropped at its deadline').to.equal(undefined);
        expect(store.stats().bytes).to.equal(0);
      });
    }
  });

  it('toJSON() and util.inspect() give the ten contract fields as a plain object', () => {
    const store = memoryStore();
    const stored = entry(store.get('k:j').stamp, ['g:j', 'k:j'], Buffer.from('json'));
    store.set('k:j', stored);
    const read = store.get('k:j').entry as CachedEntry & { toJSON(): CachedEntry };
    const plain = read.toJSON();
    expect(Object.getPrototypeOf(plain)).to.equal(Object.prototype);
    expect(plain).to.deep.equal(stored);
    expect(JSON.parse(JSON.stringify(read)).freshUntil).to.equal(stored.freshUntil);
    expect(inspect(read)).to.equal(inspect(stored));
  });

  it('an entry is charged every tag string it has, interned or not, and every byte comes back when they go', () => {
    const store = memoryStore();
    const add = (key: string, tags: string[]): number => {
      const before = store.stats().bytes;
      expect(store.set(key, entry(store.get(key).stamp, tags))).to.equal(true);
      return store.stats().bytes - before;
    };
    // The first pays the head (status, headers, Vary) as well.
    add('k:a', ['g:shared-group', 'k:a']);
    const sharing = add('k:b', ['g:shared-group', 'k:b']);
    const own = add('k:c', ['g:unique-group', 'k:c']);
    expect(sharing).to.equal(own);
    store.delete('k:a');
    expect(add('k:a', ['g:shared-group', 'k:a'])).to.equal(own);
    for (const key of ['k:a', 'k:b', 'k:c']) store.delete(key);
    expect(store.stats().bytes).to.equal(0);
  });

  it('interned tags survive the eviction and expiry of other entries, and still expire every entry that has them', () => {
    const store = memoryStore({ maxEntries: 200 });
    // More distinct group tags than the store keeps interned (256), so its table of recent tags is dropped and rebuilt.
    for (let i = 0; i < 600; i++) {
      const key = `k:e${i}`;
      expect(store.set(key, entry(store.get(key).stamp, [`g:item_${i}`, 'g:users', key]))).to.equal(true);
    }
    expect(store.stats().entries).to.equal(200);
    expect(store.stats().evictions).to.equal(400);
    store.delete('k:e599');
    store.expire(['g:item_598']);
    for (let i = 400; i < 598; i++) expect(store.get(`k:e${i}`).entry?.tags).to.deep.equal([`g:item_${i}`, 'g:users', `k:e${i}`]);
    expect(invalidated(store.get('k:e598'))).to.equal(true);
    expect(invalidated(store.get('k:e597'))).to.equal(false);
    store.expire(['g:users']);
    for (let i = 400; i < 599; i++) expect(invalidated(store.get(`k:e${i}`)), `k:e${i}`).to.equal(true);
  });

  it('maxBytes eviction stays exact: bytes never pass it, and equal what the entries held add up to', () => {
    const maxBytes = 40_000;
    const store = memoryStore({ maxBytes });
    const sizes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const key = `k:x${i}`;
      const before = store.stats().bytes;
      const evictions = store.stats().evictions;
      store.set(key, entry(store.get(key).stamp, [`g:group_${i % 7}`, 'g:users', key], Buffer.alloc(500 + i, 1)));
      expect(store.stats().bytes).to.be.at.most(maxBytes);
      if (store.stats().evictions === evictions) sizes.set(key, store.stats().bytes - before);
    }
    const held = store.stats().bytes;
    expect(held).to.be.above(maxBytes - 2_000);
    for (let i = 0; i < 300; i++) store.delete(`k:x${i}`);
    expect(store.stats().bytes).to.equal(0);
    expect(sizes.size).to.be.above(10);
  });

  it('replacing the only entry of a head counts the head again: bytes as before, and none left after', () => {
    const store = memoryStore();
    store.set('k:r', entry(store.get('k:r').stamp, ['g:r', 'k:r']));
    const one = store.stats().bytes;
    expect(store.set('k:r', entry(store.get('k:r').stamp, ['g:r', 'k:r']))).to.equal(true);
    expect(store.stats().entries).to.equal(1);
    expect(store.stats().bytes).to.equal(one);
    store.delete('k:r');
    expect(store.stats().bytes).to.equal(0);
  });

  it('entries share a head only with the same status and headers; each keeps its own Vary values', () => {
    const store = memoryStore();
    const set = (key: string, change: Partial<CachedEntry>) =>
      store.set(key, { ...entry(store.get(key).stamp, [key]), ...change });
    set('k:1', {});
    set('k:2', {});
    set('k:3', { status: 203 });
    set('k:4', { vary: [['accept-encoding', 'gzip']] });
    set('k:5', { vary: [['accept-encoding', 'br']] });
    set('k:6', { vary: [['accept-encoding', 'gzip']] });
    const read = (key: string) => store.get(key).entry as CachedEntry;
    expect(read('k:1').headers).to.equal(read('k:2').headers);
    expect(read('k:3').status).to.equal(203);
    expect(read('k:1').status).to.equal(200);
    expect(read('k:4').vary).to.deep.equal([['accept-encoding', 'gzip']]);
    expect(read('k:5').vary).to.deep.equal([['accept-encoding', 'br']]);
    expect(read('k:6').vary).to.deep.equal([['accept-encoding', 'gzip']]);
    expect(read('k:4').headers, 'Vary values apart, one header list').to.equal(read('k:5').headers);
    expect(read('k:3').headers).to.not.equal(read('k:1').headers);
    expect(read('k:1').vary).to.deep.equal([]);
  });

  describe('eviction and record pruning cost O(1) whatever the store has been through', () => {
    const BOUND = 16_500;
    const body = Buffer.alloc(16, 1);

    it('a miss on a full store costs the same after 10,000 evictions as after the first', () => {
      const store = memoryStore({ maxEntries: BOUND, maxBytes: 2 ** 31 - 1 });
      let n = 0;
      const miss = (): void => {
        const key = `k:${n++}`;
        store.set(key, entry(store.get(key).stamp, [key], body));
      };
      expect(slowdownPastBound(miss, BOUND)).to.be.below(2);
      expect(store.stats().entries).to.equal(BOUND);
      expect(store.stats().evictions).to.equal(n - BOUND);
    });

    it('an expiry of a new group past maxRecords costs the same after 10,000 prunes as after the first', () => {
      const store = memoryStore({ maxRecords: BOUND });
      let n = 0;
      const expire = (): void => {
        store.expire([`g:${n++}`]);
      };
      expect(slowdownPastBound(expire, BOUND)).to.be.below(2);
      expect(store.stats().records).to.equal(BOUND);
    });

    it('evicts the least recently used after hits and deletes reorder the entries', () => {
      const store = memoryStore({ maxEntries: 4 });
      for (const key of ['a', 'b', 'c', 'd']) store.set(key, entry(store.get(key).stamp, [key]));
      store.get('a');
      store.delete('c');
      store.set('e', entry(store.get('e').stamp, ['e']));
      store.set('f', entry(store.get('f').stamp, ['f']));
      const held = (keys: string[]): string[] => keys.filter((key) => store.peek(key).entry !== undefined);
      // Order by use: b, d, a, e, f; one over the bound, so b goes.
      expect(held(['a', 'b', 'd', 'e', 'f'])).to.deep.equal(['a', 'd', 'e', 'f']);
      store.get('d');
      store.set('g', entry(store.get('g').stamp, ['g']));
      expect(held(['a', 'd', 'e', 'f', 'g'])).to.deep.equal(['d', 'e', 'f', 'g']);
    });

    it('prunes the record expired longest ago: expiring a group again makes its record the newest', () => {
      const store = memoryStore({ maxRecords: 2 });
      store.expire(['g:x']);
      store.expire(['g:y']);
      const started = store.get('k').stamp;
      store.expire(['g:x']);
      // Over the bound: y's record goes and the floor rises to y's tick, before the fill started.
      store.expire(['g:z']);
      expect(store.stats().records).to.equal(2);
      expect(store.set('k', entry(started, ['g:y', 'k']))).to.equal(true);
      expect(store.set('k2', entry(started, ['g:x', 'k2']))).to.equal(false);
    });
  });

  it('set(key, entry, refused) names the one cause of a refusal: expired, newer or too-large', () => {
    const store = memoryStore({ maxEntryBytes: 4_000 });
    const causes: string[] = [];
    const refused = (cause: string): void => {
      causes.push(cause);
    };
    const started = store.get('k:a').stamp;
    store.expire(['g:a']);
    expect(store.set('k:a', entry(started, ['g:a', 'k:a']), refused)).to.equal(false);
    const later = store.get('k:b').stamp;
    expect(store.set('k:b', entry(later, ['k:b']), refused)).to.equal(true);
    expect(store.set('k:b', entry(later - 1, ['k:b']), refused)).to.equal(false);
    expect(store.set('k:c', entry(store.get('k:c').stamp, ['k:c'], Buffer.alloc(5_000)), refused)).to.equal(false);
    expect(causes).to.deep.equal(['expired', 'newer', 'too-large']);
  });

  it('keyId and groupTag hash long names into their own name spaces', () => {
    expect(keyId('a')).to.equal('k:a');
    expect(groupTag('a')).to.equal('g:a');
    const long = 'x'.repeat(300);
    expect(keyId(long)).to.match(/^K:[\w-]{43}$/);
    expect(groupTag(long)).to.match(/^G:[\w-]{43}$/);
    expect(keyId(long)).to.not.equal(keyId(`${long}y`));
  });
});
