/*
 * group-cache/test-suite: the store, adapter and purger conformance suites, for third-party ones too.
 *
 *   storeConformance('myStore', { create: () => ({ store: myStore(), records: async () => 0 }) });
 *   adapterConformance(myFrameworkDriver);
 *   purgerConformance('myPurger', { create: () => ({ purger, put, state, breakEdge, heal }), timeout, soft });
 *
 * Each registers mocha-style tests with the global describe/it/before/after/beforeEach/afterEach, or with the
 * functions passed as `{ runner }` (node:test, vitest). They need no assertion library and no supertest.
 */
export { adapterConformance, BINARY } from './adapter-suite.js';
export { above, atLeast, atMost, below, includes, within } from './assert.js';
export type {
  AdapterDriver,
  AppBlueprint,
  Calls,
  ConformanceOptions,
  Harness,
  HarnessOptions,
  RequestView,
  RouteResponse,
  RouteSpec,
  Scenario,
  ViewKeyFunction,
} from './harness.js';
export { expectSequence, interceptExpire, json } from './harness.js';
export { deferred, type Listening, listen, type RawResponse, send } from './http.js';
export { type EdgeState, type PurgerFactory, type PurgerFixture, purgerConformance } from './purger-suite.js';
export type { RunnerOption, SuiteContext, TestRunner } from './runner.js';
export { type StoreFactory, type StoreFixture, type StoreFixtureOptions, storeConformance } from './store-suite.js';
