/*
 * The suites register their tests through the six mocha-style functions. By default they are the globals mocha
 * (and jest, vitest with `globals: true`) define; node:test and vitest users pass theirs in.
 */

/** What a suite's `before` hook hands a store's or adapter's `setup`: mocha's `this` (with `skip()`), if any. */
export interface SuiteContext {
  /** Skips the rest of the suite (mocha's `this.skip()`); absent in runners whose hooks get no context. */
  skip?(): void;
}

/**
 * The functions a suite registers its tests with: `{ describe, it, before, after, beforeEach, afterEach }` from
 * 'node:test', or vitest's with `before: beforeAll, after: afterAll`. Methods, so each runner's own overloads fit.
 */
export interface TestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  before(hook: (this: SuiteContext | undefined) => Promise<void>): unknown;
  after(hook: () => Promise<void>): unknown;
  beforeEach(hook: () => Promise<void>): unknown;
  afterEach(hook: () => Promise<void>): unknown;
}

/** Options both suites take. */
export interface RunnerOption {
  /** The test functions to register with. Default: the global `describe`, `it`, `before` (or `beforeAll`)... */
  runner?: TestRunner;
}

const NAMES = ['describe', 'it', 'before', 'after', 'beforeEach', 'afterEach'] as const;
// jest and vitest name the once-per-suite hooks beforeAll / afterAll.
const ALIASES: Record<string, string> = { before: 'beforeAll', after: 'afterAll' };

/** The runner passed in, else the globals; a TypeError naming what is missing when neither has it. */
export function resolveRunner(runner: TestRunner | undefined, suite: string): TestRunner {
  if (runner !== undefined) {
    for (const name of NAMES) {
      if (typeof runner[name] !== 'function') throw new TypeError(`${suite}: option runner.${name} must be a function`);
    }
    return runner;
  }
  const scope = globalThis as Record<string, unknown>;
  const found: Record<string, unknown> = {};
  for (const name of NAMES) {
    const alias = ALIASES[name];
    const fn = scope[name] ?? (alias === undefined ? undefined : scope[alias]);
    if (typeof fn !== 'function') {
      throw new TypeError(
        `${suite}: there is no global ${name}(); pass the test functions as the runner option, e.g. ` +
          "{ runner: { describe, it, before, after, beforeEach, afterEach } } imported from 'node:test'",
      );
    }
    found[name] = fn;
  }
  return found as unknown as TestRunner;
}

/** What the shipped suites' factories have in common: a set-up before the tests and a teardown after them. */
export interface FixtureFactory {
  setup?(context: SuiteContext | undefined): Promise<void>;
  teardown?(): Promise<void>;
}

/**
 * Registers a suite's hooks: the factory's setup before its tests, each test's fixtures cleaned up after it, the
 * factory's teardown after the last.
 */
export function fixtureHooks(
  runner: TestRunner,
  factory: FixtureFactory,
  fixtures: Array<{ cleanup?(): Promise<void> | void }>,
): void {
  runner.before(async function (this: SuiteContext | undefined) {
    await factory.setup?.(this);
  });
  runner.afterEach(async () => {
    for (const fixture of fixtures.splice(0)) await fixture.cleanup?.();
  });
  runner.after(async () => {
    await factory.teardown?.();
  });
}
