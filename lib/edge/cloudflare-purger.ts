import type { Purger } from '../engine/purger.js';
import { batches, type PurgeCall, PurgeFailure, type PurgeRequestOptions, requestBounds, sendBatches } from './purge-request.js';

/** Options of {@link cloudflarePurger}. */
export interface CloudflarePurgerOptions extends PurgeRequestOptions {
  /** The zone whose cache is purged. */
  zoneId: string;
  /** An API token with the Cache Purge permission, sent as `Authorization: Bearer`. */
  token: string;
  /** The API's base URL. Default `https://api.cloudflare.com/client/v4` (a local server in tests). */
  baseUrl?: string;
}

// Cloudflare's purge takes up to 100 operations (tags) per request, on every plan ("Purge limits").
const TAGS_PER_REQUEST = 100;

/**
 * Purges a Cloudflare zone by cache tag: `POST /zones/{zone_id}/purge_cache` with `{ "tags": [...] }` and a bearer
 * token; a 2xx answer whose JSON says `success: false` is a failure. Cloudflare has no soft purge by tag: `soft` is
 * ignored (the tags are purged).
 */
export function cloudflarePurger(options: CloudflarePurgerOptions): Purger {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { zoneId, token, baseUrl = 'https://api.cloudflare.com/client/v4' } = options;
  if (typeof zoneId !== 'string' || zoneId === '') throw new TypeError('option zoneId must be a non-empty string');
  if (typeof token !== 'string' || token === '') throw new TypeError('option token must be a non-empty string');
  const bounds = requestBounds(options);
  const url = `${baseUrl.replace(/\/+$/, '')}/zones/${encodeURIComponent(zoneId)}/purge_cache`;
  const name = `cloudflare ${zoneId}`;
  const check = (body: string): void => {
    let success: unknown;
    try {
      success = (JSON.parse(body) as { success?: unknown }).success;
    } catch {
      success = undefined;
    }
    if (success !== true) throw new PurgeFailure(`${name}: the purge answered without success: ${body.slice(0, 200)}`, 200);
  };
  return {
    name,
    purge(tags: readonly string[]): Promise<void> {
      const calls = batches(tags, TAGS_PER_REQUEST).map(
        (batch): PurgeCall => ({
          url,
          init: {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ tags: batch }),
          },
          check,
        }),
      );
      return sendBatches(name, calls, bounds);
    },
  };
}
