/*
 * The store suite now ships as group-cache/test-suite; this file keeps the names our tests import, with a setup
 * hook typed for mocha (whose `this.skip()` our Redis fixtures use).
 */
import {
  type StoreFactory as ShippedStoreFactory,
  type StoreFixture,
  type StoreFixtureOptions,
  storeConformance as shippedStoreConformance,
} from 'group-cache/test-suite';

export type { StoreFixture, StoreFixtureOptions };

/** What a store registers with the suite: a factory, plus hooks for a server it needs. */
export interface StoreFactory extends Omit<ShippedStoreFactory, 'setup'> {
  setup?(context: Mocha.Context): Promise<void>;
}

/** The shipped store suite, registered with mocha's globals. */
export function storeConformance(name: string, factory: StoreFactory): void {
  shippedStoreConformance(name, factory);
}
