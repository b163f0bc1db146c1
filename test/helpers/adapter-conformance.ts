/*
 * The adapter suite now ships as group-cache/test-suite; this file keeps the names our tests import, with a setup
 * hook typed for mocha (whose `this.skip()` our Redis runs use).
 */
import {
  type AdapterDriver,
  type ConformanceOptions as ShippedConformanceOptions,
  adapterConformance as shippedAdapterConformance,
} from 'group-cache/test-suite';

export type {
  AdapterDriver,
  AppBlueprint,
  Harness,
  HarnessOptions,
  RequestView,
  RouteResponse,
  RouteSpec,
  Scenario,
  ViewKeyFunction,
} from 'group-cache/test-suite';
export { BINARY, expectSequence, interceptExpire, json } from 'group-cache/test-suite';

export interface ConformanceOptions extends Omit<ShippedConformanceOptions, 'setup'> {
  /** Runs once before the scenarios (start a server; `context.skip()` to skip them all). */
  setup?(context: Mocha.Context): void | Promise<void>;
}

/** The shipped adapter table (with every topic file of scenarios), registered with mocha's globals. */
export function adapterConformance(driver: AdapterDriver, options: ConformanceOptions = {}): void {
  shippedAdapterConformance(driver, options);
}
