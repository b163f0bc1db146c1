/*
 * Rows of the adapter conformance table kept in files of their own, one file a topic. A new file is one more
 * spread below; adapterConformance runs them on every adapter and store it is given.
 */
import type { Scenario } from '../harness.js';
import { CACHE_STATUS_SCENARIOS } from './cache-status.js';
import { CDN_TAG_SCENARIOS } from './cdn-tags.js';
import { CLIENT_FRESHNESS_SCENARIOS } from './client-freshness.js';
import { DEFAULT_KEY_SCENARIOS } from './default-key.js';
import { HANDLER_DECIDES_SCENARIOS } from './handler-decides.js';
import { HEADER_CASE_SCENARIOS } from './header-case.js';
import { OUTCOME_SCENARIOS } from './outcomes.js';
import { RANGE_SCENARIOS } from './range.js';
import { STALE_SCENARIOS } from './stale.js';
import { VARY_COOKIE_SCENARIOS } from './vary-cookie.js';
import { VARY_PROTOTYPE_SCENARIOS } from './vary-prototype.js';
import { WRITE_SCENARIOS } from './writes.js';

export const SCENARIOS: Scenario[] = [
  ...VARY_PROTOTYPE_SCENARIOS,
  ...RANGE_SCENARIOS,
  ...WRITE_SCENARIOS,
  ...DEFAULT_KEY_SCENARIOS,
  ...HEADER_CASE_SCENARIOS,
  ...VARY_COOKIE_SCENARIOS,
  ...STALE_SCENARIOS,
  ...CACHE_STATUS_SCENARIOS,
  ...HANDLER_DECIDES_SCENARIOS,
  ...CDN_TAG_SCENARIOS,
  ...CLIENT_FRESHNESS_SCENARIOS,
  ...OUTCOME_SCENARIOS,
];
