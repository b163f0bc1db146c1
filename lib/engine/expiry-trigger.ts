import type { ExpireCallOptions, ExpiryTrigger } from './engine-types.js';

// A trigger's strings come from requests (a route's path, a request id header): each is cut to a bound, so an
// expiry event, and what an inspector keeps of it, stays small whatever a client sends.
const MAX_METHOD = 32;
const MAX_ROUTE = 512;
const MAX_REQUEST_ID = 128;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The trigger of an `expireGroups` / `expireKey` call's options, checked and cut to bounds; undefined when none.
 * Throws a TypeError naming the field that is wrong.
 */
export function expiryTrigger(options: ExpireCallOptions | undefined): ExpiryTrigger | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { trigger } = options;
  if (trigger === undefined) return undefined;
  if (typeof trigger !== 'object' || trigger === null) throw new TypeError('option trigger must be an object');
  const { method, route, status, requestId } = trigger;
  if (typeof method !== 'string' || method === '') throw new TypeError('option trigger.method must be a non-empty string');
  if (typeof route !== 'string') throw new TypeError('option trigger.route must be a string');
  if (!Number.isInteger(status)) throw new TypeError('option trigger.status must be an integer');
  if (requestId !== undefined && typeof requestId !== 'string') {
    throw new TypeError('option trigger.requestId must be a string when given');
  }
  const checked: ExpiryTrigger = { method: cut(method, MAX_METHOD), route: cut(route, MAX_ROUTE), status };
  if (requestId !== undefined && requestId !== '') checked.requestId = cut(requestId, MAX_REQUEST_ID);
  return checked;
}
