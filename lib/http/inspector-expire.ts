/*
 * The inspector's one state-changing request, `POST api/expire`: guarded against CSRF (same-origin only, a JSON
 * body, the page's token in a header), bounded in size, and named as the trigger of the expiry it records.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GroupCacheError } from '../core/errors.js';
import type { GroupCache } from '../engine/cache.js';
import { header, type InspectorResponse, json, refuse } from './inspector-answers.js';
import { requestIdOf } from './write-expiry.js';

/** A key or group longer than this is refused (the cache stores long keys by digest; none is this long). */
export const MAX_LOOKUP_KEY = 8192;
const MAX_POST_BYTES = 64 * 1024;
const MAX_EXPIRE_GROUPS = 100;
export const TOKEN_HEADER = 'x-group-cache-token';

/** What the expire handler needs of the request. */
export interface ExpireRequest {
  fullPath: string;
  headers: IncomingHttpHeaders;
  readBody(limit: number): Promise<unknown>;
}

/** Thrown by a body reader past its limit. */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

/** Why a state-changing request looks cross-site, or undefined when it does not. */
function crossSite(headers: IncomingHttpHeaders): string | undefined {
  const site = header(headers, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site: ${site}`;
  const origin = header(headers, 'origin');
  if (origin === undefined) return undefined;
  const host = header(headers, 'host')?.toLowerCase();
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    // 'null' (sandboxed frames, some redirects) and junk are not the page's origin
  }
  return originHost !== undefined && originHost === host ? undefined : 'Origin does not match Host';
}

function tokenMatches(sent: string | undefined, token: Buffer): boolean {
  if (sent === undefined) return false;
  const bytes = Buffer.from(sent);
  return bytes.length === token.length && timingSafeEqual(bytes, token);
}

/** The groups of an expire request's body, or an error message. */
function groupsOf(body: unknown): string[] | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const groups: unknown = (body as { groups?: unknown }).groups;
  const list = typeof groups === 'string' ? [groups] : groups;
  if (!Array.isArray(list) || list.length === 0) return 'groups must be a group name or a non-empty array of them';
  if (list.length > MAX_EXPIRE_GROUPS) return `at most ${MAX_EXPIRE_GROUPS} groups per request`;
  for (const group of list) {
    if (typeof group !== 'string' || group === '' || group.length > MAX_LOOKUP_KEY) {
      return `each group must be a non-empty string of at most ${MAX_LOOKUP_KEY} characters`;
    }
  }
  return list as string[];
}

/** The body of a request that passed the checks, parsed, or the refusal. */
async function bodyOf(request: ExpireRequest): Promise<{ parsed: unknown } | InspectorResponse> {
  let body: unknown;
  try {
    body = await request.readBody(MAX_POST_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) return refuse(413, error.message);
    return refuse(400, `the body could not be read: ${(error as Error).message}`);
  }
  if (!Buffer.isBuffer(body)) return { parsed: body };
  try {
    return { parsed: JSON.parse(body.toString('utf8')) };
  } catch {
    return refuse(400, 'the body is not valid JSON');
  }
}

/** Answers `POST api/expire`: checks, then expires the groups, with this request as the expiry's trigger. */
export async function expireFromPage(cache: GroupCache, request: ExpireRequest, token: Buffer): Promise<InspectorResponse> {
  const { headers } = request;
  const site = crossSite(headers);
  if (site !== undefined) return refuse(403, `cross-site request refused (${site})`);
  if (!tokenMatches(header(headers, TOKEN_HEADER), token)) {
    return refuse(403, `missing or wrong ${TOKEN_HEADER} header (reload the page)`);
  }
  // A JSON content type cannot be sent by a plain HTML form, nor cross-site without a CORS preflight.
  const type = header(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return refuse(415, 'the body must be application/json');
  const body = await bodyOf(request);
  if (!('parsed' in body)) return body;
  const groups = groupsOf(body.parsed);
  if (typeof groups === 'string') return refuse(400, groups);
  const requestId = requestIdOf(headers, undefined);
  const trigger = { method: 'POST', route: request.fullPath, status: 200, ...(requestId !== undefined && { requestId }) };
  try {
    await cache.expireGroups(groups, { trigger });
  } catch (error) {
    const code = error instanceof GroupCacheError ? error.code : undefined;
    return json(503, { error: `the expiry could not be recorded now: ${(error as Error).message}`, code });
  }
  return json(200, { expired: groups });
}
