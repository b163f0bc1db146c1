/*
 * group-cache/test-suite as a third party uses it: its own store and its own adapter driver, written against the
 * public export alone, registered with a test runner that is not mocha (no `this`, no globals).
 */
import { execFile } from 'node:child_process';
import type * as NodeTest from 'node:test';
import { expect } from 'chai';
import { type CachedEntry, type CacheStore, createCache, memoryStore, type Purger, type StoreLookup } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/koa';
import {
  type AdapterDriver,
  adapterConformance,
  type EdgeState,
  purgerConformance,
  type RequestView,
  type RouteResponse,
  storeConformance,
  type TestRunner,
} from 'group-cache/test-suite';
import Koa, { type Context } from 'koa';

type Body = () => Promise<void>;

/** A runner in the shape node:test and vitest have: it records the tests, then runs them in order. */
function recordingRunner() {
  const tests: Array<[name: string, body: Body]> = [];
  const hooks = { before: [] as Body[], after: [] as Body[], beforeEach: [] as Body[], afterEach: [] as Body[] };
  const path: string[] = [];
  const runner: TestRunner = {
    describe(name, body) {
      path.push(name);
      body();
      path.pop();
    },
    it: (name, body) => tests.push([[...path, name].join(' > '), body]),
    // Called with no `this`: the suites must not need mocha's context.
    before: (hook) => hooks.before.push(() => hook.call(undefined)),
    after: (hook) => hooks.after.push(hook),
    beforeEach: (hook) => hooks.beforeEach.push(hook),
    afterEach: (hook) => hooks.afterEach.push(hook),
  };
  async function run(): Promise<{ passed: string[]; failed: string[] }> {
    const passed: string[] = [];
    const failed: string[] = [];
    for (const hook of hooks.before) await hook();
    for (const [name, body] of tests) {
      try {
        for (const hook of hooks.beforeEach) await hook();
        await body();
        passed.push(name);
      } catch (error) {
        failed.push(`${name}: ${(error as Error).message}`);
      } finally {
        for (const hook of hooks.afterEach) await hook();
      }
    }
    for (const hook of hooks.after) await hook();
    return { passed, failed };
  }
  return { runner, run };
}

/** A third party's store: it counts its calls and keeps its entries in a memoryStore. */
class CountingStore implements CacheStore {
  readonly name = 'counting';
  calls = 0;
  readonly #inner: ReturnType<typeof memoryStore>;
  constructor(options?: Parameters<typeof memoryStore>[0]) {
    this.#inner = memoryStore(options);
  }
  get records(): number {
    return this.#inner.stats().records;
  }
  async get(key: string): Promise<StoreLookup> {
    this.calls++;
    return this.#inner.get(key);
  }
  async set(key: string, entry: CachedEntry): Promise<boolean> {
    this.calls++;
    return this.#inner.set(key, entry);
  }
  async expire(tags: readonly string[]): Promise<number | undefined> {
    this.calls++;
    return (await this.#inner.expire(tags)) ?? undefined;
  }
  async delete(key: string): Promise<boolean> {
    this.calls++;
    return this.#inner.delete(key);
  }
  async clear(): Promise<number | undefined> {
    this.calls++;
    return (await this.#inner.clear()) ?? undefined;
  }
}

/** `/users/:id` against a path: the parameters, or undefined when it does not match. */
function match(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = pattern.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const found = new RegExp(`^${source}$`).exec(path);
  return found ? Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1] ?? '')])) : undefined;
}

function send(ctx: Context, answer: RouteResponse): void {
  if (answer.expireGroups !== undefined) ctx.state.expireGroups = answer.expireGroups;
  if (answer.locals !== undefined) Object.defineProperties(ctx.state, Object.getOwnPropertyDescriptors(answer.locals));
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
  if (answer.body !== undefined) ctx.body = answer.body;
}

/** A third party's driver: Koa with a router of its own (ours uses @koa/router). */
const koaByHand: AdapterDriver = {
  name: 'Koa, routed by hand',
  build({ cache, routes, expire }) {
    const app = new Koa();
    app.silent = true; // the table provokes errors on purpose
    app.use(expireGroups({ ...expire, cache }));
    // Each cached route's middleware made once, up front, as an app makes its routes; its key function reads the
    // request's view, kept on ctx.state by the router below.
    const cached = new Map(
      routes.flatMap((route) => {
        if (route.cached === undefined) return [];
        const { keyFn, options } = route.cached;
        return [[route, groupCache((ctx) => keyFn(ctx.state.view as RequestView), { ...options, cache })] as const];
      }),
    );
    app.use(async (ctx, next) => {
      const method = ctx.method === 'HEAD' ? 'get' : ctx.method.toLowerCase();
      for (const route of routes) {
        const params = route.method === method ? match(route.path, ctx.path) : undefined;
        if (params === undefined) continue;
        // Recorded as @koa/router does, so the adapter's messages name the route, not the URL.
        (ctx as Context & { _matchedRoute?: string })._matchedRoute = route.path;
        const view: RequestView = { params, method: ctx.method, headers: ctx.headers };
        ctx.state.view = view;
        const handle = async () => send(ctx, await route.handle(view));
        const middleware = cached.get(route);
        return middleware === undefined ? handle() : middleware(ctx, handle);
      }
      return next();
    });
    return app.callback();
  },
};

// Type-level: node:test's own functions are a TestRunner as they are.
export function nodeTestRunner(t: typeof NodeTest): TestRunner {
  return { describe: t.describe, it: t.it, before: t.before, after: t.after, beforeEach: t.beforeEach, afterEach: t.afterEach };
}

describe('group-cache/test-suite, as a third party runs it', () => {
  it('a store of its own passes storeConformance, registered with a runner that is not mocha', async function () {
    this.timeout(60_000);
    const { runner, run } = recordingRunner();
    const stores: CountingStore[] = [];
    storeConformance(
      'CountingStore',
      {
        create(options) {
          const store = new CountingStore(options);
          stores.push(store);
          return { store, records: async () => store.records };
        },
      },
      { runner },
    );
    const { passed, failed } = await run();
    expect(failed).to.deep.equal([]);
    expect(passed.length).to.be.above(20);
    expect(passed[0]).to.match(/^store conformance: CountingStore > /);
    expect(
      stores.reduce((sum, store) => sum + store.calls, 0),
      'the suite ran on the store given',
    ).to.be.above(1_000);
  });

  it('a purger of its own (an in-process edge, a few lines) passes purgerConformance, with a runner that is not mocha', async () => {
    const { runner, run } = recordingRunner();
    purgerConformance(
      'in-process edge',
      {
        timeout: 100,
        soft: true,
        create() {
          const edge = { objects: new Map<string, { tags: string[]; state: EdgeState }>(), down: false, next: 0 };
          const purger: Purger = {
            name: 'in-process edge',
            async purge(tags, { soft }) {
              if (edge.down) throw new Error('the edge is down');
              for (const object of edge.objects.values()) {
                if (object.tags.some((tag) => tags.includes(tag))) object.state = soft ? 'stale' : 'gone';
              }
            },
          };
          return {
            purger,
            put: async (tags) => {
              const handle = String(++edge.next);
              edge.objects.set(handle, { tags: [...tags], state: 'fresh' });
              return handle;
            },
            state: async (handle) => edge.objects.get(handle)?.state ?? 'gone',
            breakEdge: async () => {
              edge.down = true;
            },
            heal: async () => {
              edge.down = false;
            },
          };
        },
      },
      { runner },
    );
    const { passed, failed } = await run();
    expect(failed).to.deep.equal([]);
    expect(passed.length).to.be.at.least(8);
    expect(passed[0]).to.match(/^purger conformance: in-process edge > /);
  });

  it('an adapter of its own passes adapterConformance, on a store of its own, with a runner that is not mocha', async function () {
    this.timeout(120_000);
    const { runner, run } = recordingRunner();
    let made = 0;
    adapterConformance(koaByHand, {
      label: 'CountingStore',
      runner,
      makeCache: (options) => {
        made++;
        return createCache({ ...options, store: new CountingStore() });
      },
    });
    const { passed, failed } = await run();
    expect(failed).to.deep.equal([]);
    expect(passed.length).to.be.above(100);
    expect(passed[0]).to.match(/^CountingStore: Koa, routed by hand adapter conformance > /);
    expect(made, 'every scenario built its caches from makeCache').to.be.at.least(passed.length);
  });

  it('under node:test itself (a child process), the store suite passes', async function () {
    this.timeout(60_000);
    const fixture = new URL('../fixtures/node-test-store.mjs', import.meta.url).pathname;
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=tap', fixture], (_error, stdout, stderr) =>
        resolve(stdout + stderr),
      );
    });
    expect(output, output).to.match(/^# fail 0$/m);
    const passed = Number(/^# pass (\d+)$/m.exec(output)?.[1]);
    expect(passed, output).to.be.above(20);
  });

  it('without a runner and without global test functions, a TypeError says what to pass', () => {
    const scope = globalThis as Record<string, unknown>;
    const saved = scope.describe;
    delete scope.describe;
    try {
      expect(() => storeConformance('x', { create: () => ({ store: memoryStore(), records: async () => 0 }) })).to.throw(
        TypeError,
        /storeConformance: there is no global describe\(\); pass the test functions as the runner option/,
      );
    } finally {
      scope.describe = saved;
    }
  });

  it('a runner missing a function is refused, naming it', () => {
    const { runner } = recordingRunner();
    const partial = { ...runner, afterEach: undefined } as unknown as TestRunner;
    const driver: AdapterDriver = { name: 'none', build: () => () => {} };
    expect(() => adapterConformance(driver, { runner: partial })).to.throw(
      TypeError,
      'adapterConformance: option runner.afterEach must be a function',
    );
  });
});
