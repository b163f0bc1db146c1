// group-cache/edge: purgers for the shared cache in front of the app (`createCache({ edge: { purgers } })`).
export type { EdgeOptions, PurgeOptions, Purger } from '../engine/purger.js';
export { type CloudflarePurgerOptions, cloudflarePurger } from './cloudflare-purger.js';
export { type FastlyPurgerOptions, fastlyPurger } from './fastly-purger.js';
export { PurgeFailure, type PurgeRequestOptions } from './purge-request.js';
export { type VarnishPurgerOptions, varnishPurger } from './varnish-purger.js';
