/*
 * The purger conformance suite: what every edge purger must do, shipped so that a purger of your own (CloudFront
 * invalidations, an internal cache) is held to the same tests as the shipped ones (group-cache/edge).
 */
import type { Purger } from '../lib/index.js';
import { assert, atMost } from './assert.js';
import { fixtureHooks, type RunnerOption, resolveRunner, type SuiteContext } from './runner.js';

/** What the edge would do with a response put there: serve it as is, only as stale (soft-purged), or not at all. */
export type EdgeState = 'fresh' | 'stale' | 'gone';

/** A purger and the edge it purges, isolated from every other fixture. */
export interface PurgerFixture {
  purger: Purger;
  /** Puts a response tagged with `tags` into the edge; resolves with a handle for {@link state}. */
  put(tags: readonly string[]): Promise<string>;
  /** What the edge would do with the response `put` returned `handle` for (ask once per handle: a miss may refill). */
  state(handle: string): Promise<EdgeState>;
  /** Makes the edge unreachable or failing, until {@link heal}. */
  breakEdge(): Promise<void>;
  heal(): Promise<void>;
  cleanup?(): Promise<void>;
}

/** What a purger registers with the suite. */
export interface PurgerFactory {
  /** Runs once before the tests (start a server; under mocha, `context.skip()` skips them all). */
  setup?(context: SuiteContext | undefined): Promise<void>;
  /** A fresh purger and edge. */
  create(): PurgerFixture | Promise<PurgerFixture>;
  /** Runs once after the tests. */
  teardown?(): Promise<void>;
  /** The longest a purge may take against a broken edge before it rejects, in ms (the purger's own bound). */
  timeout: number;
  /** Whether a soft purge keeps responses as stale (`'stale'`); false when the edge has no soft purge (it drops them). */
  soft: boolean;
}

// Tags as `cdnTags` spells them: plain names, a SHA-256 digest in base64url (`-` and `_`), names that prefix others.
const DIGEST = 'G-2hJ_yX0ab9QkLmNoPqRsTuVwXyZ0123456789-_AbC';

/** The tests that define a purger: `purgerConformance('varnishPurger', factory)`. */
export function purgerConformance(name: string, factory: PurgerFactory, options: RunnerOption = {}): void {
  const runner = resolveRunner(options.runner, 'purgerConformance');
  const { describe, it } = runner;
  describe(`purger conformance: ${name}`, () => {
    const fixtures: PurgerFixture[] = [];
    async function fresh(): Promise<PurgerFixture> {
      const fixture = await factory.create();
      fixtures.push(fixture);
      return fixture;
    }

    fixtureHooks(runner, factory, fixtures);

    it('has a name to report failures with', async () => {
      const { purger } = await fresh();
      assert.equal(typeof purger.name, 'string');
      assert.notEqual(purger.name, '');
    });

    it('purge([tag]) resolves once the responses tagged with it are gone, and leaves the others', async () => {
      const edge = await fresh();
      const users = await edge.put(['users', 'user_group_1']);
      const posts = await edge.put(['posts']);
      await edge.purger.purge(['users'], { soft: false });
      assert.equal(await edge.state(users), 'gone');
      assert.equal(await edge.state(posts), 'fresh');
    });

    it('a tag is matched whole: purging "user" leaves "users" and "user_1"', async () => {
      const edge = await fresh();
      const users = await edge.put(['users']);
      const one = await edge.put(['user_1']);
      const user = await edge.put(['user']);
      await edge.purger.purge(['user'], { soft: false });
      assert.equal(await edge.state(user), 'gone');
      assert.equal(await edge.state(users), 'fresh');
      assert.equal(await edge.state(one), 'fresh');
    });

    it('a digest tag (base64url, with - and _) is purged as it is spelled', async () => {
      const edge = await fresh();
      const digest = await edge.put([DIGEST]);
      await edge.purger.purge([DIGEST], { soft: false });
      assert.equal(await edge.state(digest), 'gone');
    });

    it('purge of 1,000 tags (past every batch limit) reaches each of them', async () => {
      const edge = await fresh();
      const tags = Array.from({ length: 1_000 }, (_, i) => `group_${i}_${'x'.repeat(40)}`);
      const first = await edge.put([tags[0] as string]);
      const middle = await edge.put([tags[517] as string]);
      const last = await edge.put([tags[999] as string]);
      const other = await edge.put(['other']);
      await edge.purger.purge(tags, { soft: false });
      assert.equal(await edge.state(first), 'gone');
      assert.equal(await edge.state(middle), 'gone');
      assert.equal(await edge.state(last), 'gone');
      assert.equal(await edge.state(other), 'fresh');
    });

    it('concurrent purges all land', async () => {
      const edge = await fresh();
      const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => edge.put([`group_${i}`])));
      await Promise.all(handles.map((_, i) => edge.purger.purge([`group_${i}`], { soft: false })));
      for (const handle of handles) assert.equal(await edge.state(handle), 'gone');
    });

    it(`purge(tags, { soft: true }) never leaves a response fresh${factory.soft ? ': it stays, stale' : ''}`, async () => {
      const edge = await fresh();
      const handle = await edge.put(['users']);
      await edge.purger.purge(['users'], { soft: true });
      assert.equal(await edge.state(handle), factory.soft ? 'stale' : 'gone');
    });

    it('a broken edge makes purge reject with an Error within its bound, and it works again once the edge is back', async () => {
      const edge = await fresh();
      await edge.breakEdge();
      const started = Date.now();
      let failure: unknown;
      let took = 0;
      try {
        await edge.purger.purge(['users'], { soft: false });
      } catch (error) {
        failure = error;
      } finally {
        took = Date.now() - started;
        await edge.heal();
      }
      assert.ok(failure instanceof Error, 'purge against a broken edge must reject with an Error');
      atMost(took, factory.timeout + 1_000, 'purge against a broken edge took longer than its bound');
      const handle = await edge.put(['users']);
      await edge.purger.purge(['users'], { soft: false });
      assert.equal(await edge.state(handle), 'gone');
    });
  });
}
