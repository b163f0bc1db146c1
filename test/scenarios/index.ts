/*
 * Rows of the adapter conformance table kept in files of their own, one file a topic. A new file is one more
 * spread below; every adapter and every store runs them (test/adapters.test.ts).
 */
import type { Scenario } from '../adapter-conformance.js';

export const SCENARIOS: Scenario[] = [];
