/*
 * The shapes of the adapter conformance suite: what a driver builds (AdapterDriver, AppBlueprint, RouteSpec...),
 * what a scenario gets (Harness), and the helpers scenarios share. Types only, plus three small functions.
 */
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import type {
  CacheOptions,
  CacheStore,
  ExpireOptions,
  GroupCache,
  GroupCacheError,
  KeyResult,
  RouteOptions,
} from '../lib/index.js';
import { assert } from './assert.js';
import type { RawResponse } from './http.js';
import type { RunnerOption, SuiteContext } from './runner.js';

/** What a scenario's key function and handlers see of a request, whatever the framework. */
export interface RequestView {
  params: Readonly<Record<string, string>>;
  method: string;
  headers: IncomingHttpHeaders;
}

export type ViewKeyFunction = (req: RequestView) => KeyResult | Promise<KeyResult>;

/** A handler's answer, which the driver writes with its framework's own idioms. */
export interface RouteResponse {
  status: number;
  headers?: Readonly<Record<string, string>>;
  /** A string or Buffer is sent as is, an object as JSON, undefined as no body. */
  body?: string | Buffer | object;
  /** Put in `res.locals.expireGroups` / `ctx.state.expireGroups` before responding (junk too, on purpose). */
  expireGroups?: unknown;
  /**
   * Copied into `res.locals` / `ctx.state` (a framework's own place for them) before responding: what the handler
   * decides about its entry, `cacheGroups`, `cacheTtl`, `cacheSkip` (junk too, on purpose). Copied with their
   * property descriptors (`Object.defineProperties`): a getter stays a getter, and one that throws throws there.
   */
  locals?: Readonly<Record<string, unknown>>;
}

export interface RouteSpec {
  method: 'get' | 'put' | 'post';
  /** An Express / @koa/router pattern (`/users/:id`). */
  path: string;
  /** Mount `groupCache(keyFn, { ...options, cache })` before the handler. */
  cached?: { keyFn: ViewKeyFunction; options?: Omit<RouteOptions, 'cache'> };
  handle(req: RequestView): RouteResponse | Promise<RouteResponse>;
}

/** What a driver builds: an app with `expireGroups({ cache })` mounted app-wide, then these routes. */
export interface AppBlueprint {
  cache: GroupCache;
  routes: readonly RouteSpec[];
  /** Options of the app-wide `expireGroups({ ...expire, cache })`. */
  expire?: Omit<ExpireOptions, 'cache'>;
}

/** What an adapter implements to run the table: its name, and how to build a real app of its framework. */
export interface AdapterDriver {
  /** Shown in the test names: `Express 5`, `Koa 2`... */
  name: string;
  /**
   * A Node request listener serving the blueprint (`app`, `app.callback()`, Fastify's `app.routing` once ready):
   * the suite serves it on a free port and sends it real requests.
   */
  build(blueprint: AppBlueprint): RequestListener | Promise<RequestListener>;
}

export interface ConformanceOptions extends RunnerOption {
  /** Makes a fresh, isolated cache from the suite's options (clock, ttl...). Default `createCache`. */
  makeCache?: (options: CacheOptions) => GroupCache | Promise<GroupCache>;
  /** Releases a cache after its scenario. Default `cache.close()`. */
  disposeCache?: (cache: GroupCache) => void | Promise<void>;
  /** False when the store keeps its own time, so the injected clock cannot drive TTLs. Default true. */
  injectedClock?: boolean;
  /** Prefix of the describe block, e.g. the store's name. */
  label?: string;
  /** Runs once before the scenarios (start a server; under mocha, `context.skip()` skips them all). */
  setup?(context: SuiteContext | undefined): void | Promise<void>;
  /** Runs once after the scenarios. */
  teardown?(): void | Promise<void>;
  /** More rows, after the suite's own (an adapter's or a store's own scenarios). */
  scenarios?: readonly Scenario[];
}

/** How many times each fixture route's handler ran, by route name (`users`, `slow`, `post`...). */
export type Calls = Record<string, number>;

/** One app under test, built by the driver, served on a free port; what a scenario drives and looks at. */
export interface Harness {
  /** The driver's request listener (a scenario may serve it once more on a server of its own). */
  app: RequestListener;
  /** Where the suite serves `app`: `http://127.0.0.1:<port>`. */
  url: string;
  cache: GroupCache;
  calls: Calls;
  clock: { advance(ms: number): void };
  errors: GroupCacheError[];
  /** Holds GET /slow/:id until released. */
  gate: { release(): void; entered: Promise<void> };
  get(path: string, headers?: Record<string, string>): Promise<RawResponse>;
  head(path: string, headers?: Record<string, string>): Promise<RawResponse>;
  put(path: string): Promise<RawResponse>;
  post(path: string): Promise<RawResponse>;
}

export interface HarnessOptions {
  /** Key function of GET /users/:id (default: user_<id> in user_group_<id> and users). */
  keyFn?: ViewKeyFunction;
  usersOptions?: Omit<RouteOptions, 'cache'>;
  cacheOptions?: CacheOptions;
  expire?: Omit<ExpireOptions, 'cache'>;
  /** Headers GET /slow/:id answers with (e.g. a Set-Cookie that makes it unstorable). */
  slowHeaders?: Readonly<Record<string, string>>;
  /** More routes, mounted after the users API (a scenario file's own fixtures). */
  routes?: readonly RouteSpec[];
}

/** One row of the table: a name and a run that builds as many harnesses as it needs. */
export type Scenario = [name: string, run: (setup: (options?: HarnessOptions) => Promise<Harness>) => Promise<void>];

export const json = (res: RawResponse): unknown => JSON.parse(res.body.toString('utf8'));

/** Replaces the cache's `store.expire` (on this instance only, whatever the store) to delay or fail it. */
export function interceptExpire(
  cache: GroupCache,
  around: (original: CacheStore['expire'], tags: readonly string[]) => Promise<void>,
): void {
  const store = cache.store;
  const original = store.expire.bind(store);
  store.expire = (tags) => around(original, tags);
}

/** Asserts a run of X-Cache values for GET `path`. */
export async function expectSequence(h: Harness, path: string, expected: string[]): Promise<RawResponse[]> {
  const responses: RawResponse[] = [];
  for (const value of expected) {
    const res = await h.get(path);
    assert.equal(res.headers['x-cache'], value, `${path} (${responses.length + 1})`);
    responses.push(res);
  }
  return responses;
}
