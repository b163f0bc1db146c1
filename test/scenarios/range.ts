import type { Scenario } from '../adapter-conformance.js';

export const RANGE_SCENARIOS: Scenario[] = [];
