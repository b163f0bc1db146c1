/*
 * The store conformance suite: the tests that define a store, run against every store, ours and third-party
 * ones, through the group-cache/test-suite export.
 */
import { randomBytes } from 'node:crypto';
import type { CachedEntry, CacheStore, HeaderList, StoreLookup } from '../lib/index.js';
import { above, assert, atLeast, atMost, below } from './assert.js';
import { fixtureHooks, type RunnerOption, resolveRunner, type SuiteContext } from './runner.js';

/** Options a conformance test may ask of a fresh store. */
export interface StoreFixtureOptions {
  maxRecords?: number;
  maxEntryBytes?: number;
}

/** A fresh store, isolated from every other fixture, and how to look inside it. */
export interface StoreFixture {
  store: CacheStore;
  /** Group/key expiry records the store keeps. */
  records(): Promise<number>;
  cleanup?(): Promise<void>;
}

/** What a store registers with the suite: a factory, plus hooks for a server it needs. */
export interface StoreFactory {
  /** Runs once before the tests (start a server; under mocha, `context.skip()` skips them all). */
  setup?(context: SuiteContext | undefined): Promise<void>;
  /** A fresh store, isolated from every other one (its own key prefix, say), honouring the options given. */
  create(options?: StoreFixtureOptions): StoreFixture | Promise<StoreFixture>;
  /** Runs once after the tests. */
  teardown?(): Promise<void>;
}

function entry(
  startedAt: number,
  tags: string[],
  body: Buffer = Buffer.from('body'),
  headers: HeaderList = [],
  keep = 60_000,
): CachedEntry {
  return {
    status: 200,
    headers: [['content-type', 'text/plain; charset=utf-8'], ...headers],
    body,
    etag: '"e-1"',
    vary: [['accept-encoding', 'gzip']],
    tags,
    startedAt,
    storedAt: 1_700_000_000_000,
    freshUntil: 1_700_000_000_000 + keep,
    staleUntil: 1_700_000_000_000 + keep,
  };
}

/**
 * The ten fields of the store contract, read off `value`: a store may hand back its own object (a class whose fields
 * are getters, as the memory store's are), so an entry is compared by what it reads as, not by its prototype.
 */
function fields(value: CachedEntry | undefined): CachedEntry | undefined {
  if (value === undefined) return undefined;
  const { status, headers, body, etag, vary, tags, startedAt, storedAt, freshUntil, staleUntil } = value;
  return { status, headers, body, etag, vary, tags, startedAt, storedAt, freshUntil, staleUntil };
}

/** The store holds an entry and says a tag of it was expired at or after its fill started. */
function invalidated(lookup: StoreLookup): boolean {
  return lookup.entry !== undefined && lookup.expiredAt >= lookup.entry.startedAt;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The tests that define a store, run against every store: `storeConformance('memoryStore', factory)`.
 * Stamps always come from the store's own lookups: the suite never assumes what its clock is.
 */
export function storeConformance(name: string, factory: StoreFactory, options: RunnerOption = {}): void {
  const runner = resolveRunner(options.runner, 'storeConformance');
  const { describe, it } = runner;
  describe(`store conformance: ${name}`, () => {
    const fixtures: StoreFixture[] = [];
    async function fresh(options?: StoreFixtureOptions): Promise<CacheStore> {
      return (await open(options)).store;
    }
    async function open(options?: StoreFixtureOptions): Promise<StoreFixture> {
      const fixture = await factory.create(options);
      fixtures.push(fixture);
      return fixture;
    }
    /** Looks `id` up and stores an entry started at that lookup, as a fill does. */
    async function fill(store: CacheStore, id: string, tags: string[], body?: Buffer, keep = 60_000): Promise<CachedEntry> {
      const { stamp } = await store.get(id);
      const value = entry(stamp, [...tags, id], body, [], keep);
      assert.equal(await store.set(id, value), true, `set(${JSON.stringify(id)})`);
      return value;
    }

    fixtureHooks(runner, factory, fixtures);

    it('get(id) of a missing id is a miss, expiredAt 0, with a numeric stamp', async () => {
      const store = await fresh();
      const lookup = await store.get('k:nothing');
      assert.equal(lookup.entry, undefined);
      assert.equal(lookup.expiredAt, 0);
      assert.equal(typeof lookup.stamp, 'number');
    });

    it('set(id, entry) then get(id) returns the entry, every field intact, not invalidated', async () => {
      const store = await fresh();
      const stored = await fill(store, 'k:a', ['g:users']);
      const lookup = await store.get('k:a');
      const read = lookup.entry;
      assert.equal(invalidated(lookup), false);
      assert.deepEqual(fields(read), stored);
      assert.equal(Buffer.isBuffer(read?.body), true);
    });

    it('a lookup stamp is never below one taken before it', async () => {
      const store = await fresh();
      let last = (await store.get('k:a')).stamp;
      for (let i = 0; i < 20; i++) {
        const { stamp } = await store.get('k:a');
        atLeast(stamp, last);
        last = stamp;
      }
    });

    it('headers with arrays and non-ASCII values round trip in order', async () => {
      const store = await fresh();
      const headers: HeaderList = [
        ['link', ['</a>; rel=preload', '</b>; rel=preload']],
        ['x-name', 'caf\u00e9'],
        ['x-empty', ''],
        ['x-list', []],
      ];
      const { stamp } = await store.get('k:h');
      const value = entry(stamp, ['k:h'], Buffer.from('x'), headers);
      assert.equal(await store.set('k:h', value), true);
      assert.deepEqual((await store.get('k:h')).entry?.headers, value.headers);
    });

    it('delete(id) removes the entry and returns true; false for a missing id', async () => {
      const store = await fresh();
      await fill(store, 'k:d', []);
      assert.equal(await store.delete('k:d'), true);
      assert.equal((await store.get('k:d')).entry, undefined);
      assert.equal(await store.delete('k:d'), false);
    });

    it('an entry is no longer held once staleUntil - storedAt passed', async () => {
      const store = await fresh();
      // Long enough that a loaded machine still reads it back before it goes.
      await fill(store, 'k:t', [], undefined, 500);
      assert.notEqual((await store.get('k:t')).entry, undefined);
      await sleep(700);
      assert.equal((await store.get('k:t')).entry, undefined);
    });

    it('expire([group]) invalidates every member at once, without touching the members', async () => {
      const store = await fresh();
      const members = Array.from({ length: 300 }, (_, i) => `k:member-${i}`);
      for (const id of members) await fill(store, id, ['g:big', 'g:all']);
      await fill(store, 'k:other', ['g:small', 'g:all']);
      await store.expire(['g:big']);
      for (const id of members) {
        // Still held, and read as invalidated: the expiry was one record, not a delete per member.
        assert.equal(invalidated(await store.get(id)), true, id);
      }
      assert.equal(invalidated(await store.get('k:other')), false);
      await store.expire(['g:all']);
      assert.equal(invalidated(await store.get('k:other')), true);
    });

    it('expire(tags) takes the same time for a group of 1 and of 2,000 members', async () => {
      const store = await fresh();
      await fill(store, 'k:alone', ['g:one']);
      for (let i = 0; i < 2_000; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => fill(store, `k:many-${i + j}`, ['g:many'])));
      }
      const time = async (tag: string): Promise<number> => {
        const samples: number[] = [];
        for (let i = 0; i < 15; i++) {
          const started = process.hrtime.bigint();
          await store.expire([tag]);
          samples.push(Number(process.hrtime.bigint() - started));
        }
        return samples.sort((a, b) => a - b)[7]!;
      };
      const one = await time('g:one');
      const many = await time('g:many');
      below(many, one * 5 + 2_000_000);
      assert.equal(invalidated(await store.get('k:many-1999')), true);
    });

    it('an entry with 600 tags, and one expiry of 1,200 tags at once', async () => {
      const store = await fresh();
      const tags = Array.from({ length: 600 }, (_, i) => `g:t-${i}`);
      await fill(store, 'k:many', tags);
      await fill(store, 'k:few', ['g:few']);
      assert.equal((await store.get('k:many')).entry?.tags.length, 601);
      await store.expire(Array.from({ length: 1_200 }, (_, i) => `g:u-${i}`));
      assert.equal(invalidated(await store.get('k:many')), false);
      await store.expire([...Array.from({ length: 1_199 }, (_, i) => `g:v-${i}`), 'g:t-599']);
      assert.equal(invalidated(await store.get('k:many')), true);
      assert.equal(invalidated(await store.get('k:few')), false);
    });

    it('set() refuses a fill whose key was expired after its lookup (store-time refusal)', async () => {
      const store = await fresh();
      const { stamp } = await store.get('k:r');
      await store.expire(['k:r']);
      assert.equal(await store.set('k:r', entry(stamp, ['k:r'])), false);
      assert.equal((await store.get('k:r')).entry, undefined);
    });

    it('the race: lookup, then a group expiry, then set(): refused; a fill that starts after the expiry is stored', async () => {
      const store = await fresh();
      await fill(store, 'k:race', ['g:race']);
      await store.expire(['g:race']);
      const slow = await store.get('k:race');
      assert.equal(invalidated(slow), true);
      await store.expire(['g:race']);
      assert.equal(await store.set('k:race', entry(slow.stamp, ['g:race', 'k:race'], Buffer.from('pre-write'))), false);
      const kept = await store.get('k:race');
      assert.equal(kept.entry?.body.toString(), 'body', 'the refused fill wrote nothing');
      assert.equal(invalidated(kept), true);
      await fill(store, 'k:race', ['g:race'], Buffer.from('post-write'));
      assert.equal((await store.get('k:race')).entry?.body.toString(), 'post-write');
    });

    it('set() refuses an entry older than the fresh one already there', async () => {
      const store = await fresh();
      const older = (await store.get('k:o')).stamp;
      const newer = (await store.get('k:o')).stamp;
      above(newer, older);
      assert.equal(await store.set('k:o', entry(newer, ['k:o'], Buffer.from('new'))), true);
      assert.equal(await store.set('k:o', entry(older, ['k:o'], Buffer.from('old'))), false);
      assert.equal((await store.get('k:o')).entry?.body.toString(), 'new');
    });

    it('large binary bodies come back byte for byte', async () => {
      const store = await fresh();
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const body = Buffer.concat([every, randomBytes(3 * 2 ** 20), every]);
      await fill(store, 'k:big', ['g:big'], body);
      const read = (await store.get('k:big')).entry?.body;
      assert.equal(read?.length, body.length);
      assert.equal(read?.equals(body), true);
    });

    it('set() refuses an entry over maxEntryBytes', async () => {
      const store = await fresh({ maxEntryBytes: 10_000 });
      const { stamp } = await store.get('k:huge');
      assert.equal(await store.set('k:huge', entry(stamp, ['k:huge'], Buffer.alloc(20_000))), false);
      assert.equal((await store.get('k:huge')).entry, undefined);
    });

    it('concurrent writes of one key: the latest fill wins whatever the arrival order', async () => {
      const store = await fresh();
      const stamps: number[] = [];
      for (let i = 0; i < 20; i++) stamps.push((await store.get('k:c')).stamp);
      const order = [...stamps].sort(() => Math.random() - 0.5);
      await Promise.all(order.map((stamp) => store.set('k:c', entry(stamp, ['k:c'], Buffer.from(String(stamp))))));
      const read = (await store.get('k:c')).entry;
      assert.equal(read?.startedAt, stamps.at(-1));
      assert.equal(read?.body.toString(), String(stamps.at(-1)));
    });

    it('concurrent writes of distinct keys all land', async () => {
      const store = await fresh();
      const ids = Array.from({ length: 100 }, (_, i) => `k:p-${i}`);
      const lookups = await Promise.all(ids.map((id) => store.get(id)));
      const results = await Promise.all(ids.map((id, i) => store.set(id, entry(lookups[i]!.stamp, [id], Buffer.from(id)))));
      assert.equal(results.every(Boolean), true);
      for (const id of ids) assert.equal((await store.get(id)).entry?.body.toString(), id);
    });

    it('keys and groups of any content never collide or break the store', async () => {
      const store = await fresh();
      const odd = [
        'k:with space',
        'k:\u00fcnic\u00f8de \u65e5\u672c \u{1f600}',
        'k:line\nbreak\r\n',
        'k:a:b:c',
        'k:a',
        'k:',
        'k:\0nul',
        'k:\ud800',
        'k:\ud801',
        'k:\udc00\ud800',
        "k:']] redis.call('FLUSHALL') --",
        'k:*?[]\\',
        'K:Zm9v',
        `k:${'x'.repeat(300)}`,
      ];
      for (const id of odd) await fill(store, id, [`g:${id.slice(2)}`, 'g:odd'], Buffer.from(id, 'utf16le'));
      for (const id of odd) {
        const read = (await store.get(id)).entry;
        assert.equal(read?.body.equals(Buffer.from(id, 'utf16le')), true, JSON.stringify(id));
        assert.deepEqual(read?.tags, [`g:${id.slice(2)}`, 'g:odd', id]);
      }
      await store.expire(['g:\ud800']);
      for (const id of odd) assert.equal(invalidated(await store.get(id)), id === 'k:\ud800', JSON.stringify(id));
      await store.expire(['g:odd']);
      for (const id of odd) assert.equal(invalidated(await store.get(id)), true, JSON.stringify(id));
    });

    it('records stay bounded by maxRecords under a flood of group names, and dropping one revives nothing', async () => {
      const fixture = await open({ maxRecords: 50 });
      const { store } = fixture;
      await fill(store, 'k:victim', ['g:victim']);
      await store.expire(['g:victim']);
      for (let i = 0; i < 500; i += 10) {
        await store.expire(Array.from({ length: 10 }, (_, j) => `g:flood-${i + j}`));
        atMost(await fixture.records(), 50);
      }
      assert.equal(invalidated(await store.get('k:victim')), true);
      await fill(store, 'k:after', ['g:flood-499']);
      assert.equal(invalidated(await store.get('k:after')), false);
    });

    it('records older than the longest entry ttl are pruned', async () => {
      const fixture = await open();
      const { store } = fixture;
      await fill(store, 'k:short', ['g:short'], undefined, 30);
      await store.expire(Array.from({ length: 100 }, (_, i) => `g:old-${i}`));
      atLeast(await fixture.records(), 100);
      await sleep(80);
      await store.expire(['g:new']);
      atMost(await fixture.records(), 1);
      await fill(store, 'k:later', ['g:old-1'], undefined, 30);
      assert.equal(invalidated(await store.get('k:later')), false);
    });

    it('clear() removes this store entries and records, and nothing of another store', async () => {
      const mine = await open();
      const theirs = await open();
      await fill(mine.store, 'k:x', ['g:x']);
      await fill(theirs.store, 'k:x', ['g:x']);
      await mine.store.expire(['g:y']);
      await mine.store.clear();
      assert.equal((await mine.store.get('k:x')).entry, undefined);
      assert.equal(await mine.records(), 0);
      assert.notEqual((await theirs.store.get('k:x')).entry, undefined);
    });

    it('clear() answers its clock, below every later lookup stamp, and a fill after it is stored', async () => {
      const store = await fresh();
      const cleared = await store.clear();
      assert.equal(typeof cleared, 'number');
      const { stamp } = await store.get('k:after-clear');
      above(stamp, cleared as number);
      assert.equal(await store.set('k:after-clear', entry(stamp, ['k:after-clear'])), true);
    });

    it('clear() also refuses fills that started before it', async () => {
      const store = await fresh();
      const { stamp } = await store.get('k:z');
      await store.clear();
      assert.equal(await store.set('k:z', entry(stamp, ['k:z'])), false);
    });
  });
}
