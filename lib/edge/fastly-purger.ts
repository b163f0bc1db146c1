import type { PurgeOptions, Purger } from '../engine/purger.js';
import { batches, type PurgeCall, type PurgeRequestOptions, requestBounds, sendBatches } from './purge-request.js';

/** Options of {@link fastlyPurger}. */
export interface FastlyPurgerOptions extends PurgeRequestOptions {
  /** The service whose cache is purged. */
  serviceId: string;
  /** An API token with the `purge_select` scope, sent as `Fastly-Key`. */
  token: string;
  /** The API's base URL. Default `https://api.fastly.com` (a local server in tests). */
  baseUrl?: string;
}

// Fastly's bulk purge takes up to 256 surrogate keys per request (API reference, "Purge multiple surrogate key tags").
const KEYS_PER_REQUEST = 256;

/**
 * Purges a Fastly service by surrogate key: `POST /service/{service_id}/purge` with the keys as JSON
 * (`{ "surrogate_keys": [...] }`) and `Fastly-Key`; `soft` adds `Fastly-Soft-Purge: 1` (marked stale rather than
 * removed). The API acknowledges before every POP applied the purge: see docs/edge.md for what that means.
 */
export function fastlyPurger(options: FastlyPurgerOptions): Purger {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { serviceId, token, baseUrl = 'https://api.fastly.com' } = options;
  if (typeof serviceId !== 'string' || serviceId === '') throw new TypeError('option serviceId must be a non-empty string');
  if (typeof token !== 'string' || token === '') throw new TypeError('option token must be a non-empty string');
  const bounds = requestBounds(options);
  const url = `${baseUrl.replace(/\/+$/, '')}/service/${encodeURIComponent(serviceId)}/purge`;
  const name = `fastly ${serviceId}`;
  return {
    name,
    purge(tags: readonly string[], { soft }: PurgeOptions): Promise<void> {
      const calls = batches(tags, KEYS_PER_REQUEST).map((batch): PurgeCall => {
        const headers: Record<string, string> = {
          'Fastly-Key': token,
          Accept: 'application/json',
          'Content-Type': 'application/json',
        };
        if (soft) headers['Fastly-Soft-Purge'] = '1';
        return { url, init: { method: 'POST', headers, body: JSON.stringify({ surrogate_keys: batch }) } };
      });
      return sendBatches(name, calls, bounds);
    },
  };
}
