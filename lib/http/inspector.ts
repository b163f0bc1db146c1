/*
 * The inspector: a small admin page and its JSON API over one cache, framework-free. Adapters translate their
 * request to an InspectorRequest and send the InspectorResponse back; everything else (routes, CSRF guard,
 * security headers, what is shown) lives here and is tested once.
 *
 * Attackers choose keys, group names and headers, so nothing here builds HTML from data: the page gets data as
 * JSON and renders it with textContent (inspector-page.ts), under a CSP that allows no inline script or style.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { GroupCacheError } from '../core/errors.js';
import { checkOptionNames, positiveOption } from '../core/options.js';
import type { GroupCache } from '../engine/cache.js';
import { defaultCache } from '../engine/default-cache.js';
import { DecisionLog } from './decision-log.js';
import { INSPECTOR_CSS, INSPECTOR_JS, inspectorHtml } from './inspector-page.js';

/** Options of `inspector()`. */
export interface InspectorOptions<Cache = GroupCache> {
  /** The cache shown. Default: the process-wide default cache. */
  cache?: Cache;
  /** Include stored bodies in key lookups. Default false: bodies may hold personal data. */
  showBodies?: boolean;
  /** How many recent decisions are kept. Default 200. */
  maxDecisions?: number;
  /**
   * The CSRF token the page sends back on its POSTs: at least 32 characters of `A-Z a-z 0-9 _ -`. Default: random,
   * per inspector. Give every instance of an app behind a load balancer the same one, or a POST that reaches
   * another instance than the page came from is refused.
   */
  csrfToken?: string;
}

const OPTION_NAMES = Object.keys({ cache: true, showBodies: true, maxDecisions: true, csrfToken: true } satisfies Record<
  keyof InspectorOptions,
  true
>);

/** A request to the inspector, as an adapter sees it. */
export interface InspectorRequest {
  method: string;
  /**
   * The path under the mount point, as sent (not decoded): `/` for the page, `/api/stats`...; `''` when the mount
   * point itself was requested without its trailing slash (answered with a redirect, so relative URLs work).
   */
  path: string;
  /** The whole path as sent, for that redirect. */
  fullPath: string;
  /** The query string, without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  /**
   * Reads the body, at most `limit` bytes: a Buffer, or what a body parser already made of it. Called only for a
   * POST that passed the CSRF checks.
   */
  readBody(limit: number): Promise<unknown>;
}

export interface InspectorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A key longer than this is refused by the lookup (the cache stores long keys by digest; none is this long). */
export const MAX_LOOKUP_KEY = 8192;
const MAX_POST_BYTES = 64 * 1024;
const MAX_EXPIRE_GROUPS = 100;
// A stored body is shown up to this many bytes (with showBodies), so one lookup cannot return megabytes of JSON.
const MAX_SHOWN_BODY = 256 * 1024;
export const TOKEN_HEADER = 'x-group-cache-token';
const GET_PATHS = new Set(['/', '/inspector.js', '/inspector.css', '/api/stats', '/api/decisions', '/api/entry']);

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  // no-store also keeps group-cache itself from storing these responses (storage-policy.ts), were a groupCache()
  // mounted in front of the inspector.
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function respond(status: number, type: string, body: string, extra?: Record<string, string>): InspectorResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'Content-Type': type, ...extra }, body };
}

function json(status: number, value: unknown): InspectorResponse {
  return respond(status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function refuse(status: number, error: string, extra?: Record<string, string>): InspectorResponse {
  return respond(status, 'application/json; charset=utf-8', JSON.stringify({ error }), extra);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
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

function bodyText(body: Buffer): { body: string; bodyTruncated?: true } {
  if (body.length <= MAX_SHOWN_BODY) return { body: body.toString('utf8') };
  return { body: body.subarray(0, MAX_SHOWN_BODY).toString('utf8'), bodyTruncated: true };
}

/**
 * The inspector of one cache: answers its page, assets and JSON API. Listens to the cache's events (for the recent
 * decisions) from creation until {@link close}.
 */
export class Inspector {
  readonly cache: GroupCache;
  readonly #showBodies: boolean;
  readonly #log: DecisionLog;
  // The CSRF token: given to the page in its HTML, required on every POST.
  readonly #tokenBytes: Buffer;
  readonly #html: string;

  constructor(options: InspectorOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
    checkOptionNames(options, OPTION_NAMES, 'inspector()');
    const raw = options as Record<string, unknown>;
    if (raw.showBodies !== undefined && typeof raw.showBodies !== 'boolean') {
      throw new TypeError('option showBodies must be a boolean');
    }
    if (raw.cache !== undefined && (typeof raw.cache !== 'object' || raw.cache === null || !('inspect' in raw.cache))) {
      throw new TypeError('option cache must be a cache made by createCache()');
    }
    const token = raw.csrfToken ?? randomBytes(32).toString('base64url');
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{32,}$/.test(token)) {
      throw new TypeError('option csrfToken must be a string of at least 32 characters among A-Z a-z 0-9 _ -');
    }
    const maxDecisions = positiveOption(raw, 'maxDecisions', 200, true);
    // Every option checked before the default cache is taken and the cache gets listeners: a throw leaves neither.
    this.#tokenBytes = Buffer.from(token);
    this.#html = inspectorHtml(token);
    this.#showBodies = options.showBodies === true;
    this.cache = options.cache ?? defaultCache();
    this.#log = new DecisionLog(this.cache, maxDecisions);
    this.#log.start();
  }

  /** Stops recording decisions (the page keeps working, with the decisions recorded so far). */
  close(): void {
    this.#log.stop();
  }

  /** Answers a request under the mount point, or undefined for a path that is not the inspector's. */
  async handle(request: InspectorRequest): Promise<InspectorResponse | undefined> {
    const { path } = request;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (path === '') {
      // Relative to the last segment, so the redirect can only go to this same path plus a slash.
      const last = request.fullPath.slice(request.fullPath.lastIndexOf('/') + 1);
      return respond(308, 'text/plain; charset=utf-8', 'Moved', { Location: `./${last}/` });
    }
    if (path === '/api/expire') {
      if (method !== 'POST') return refuse(405, 'use POST', { Allow: 'POST' });
      return this.#expire(request);
    }
    if (!GET_PATHS.has(path)) return undefined;
    if (method !== 'GET') return refuse(405, 'use GET', { Allow: 'GET, HEAD' });
    return this.#get(path, request.query);
  }

  #get(path: string, query: string): Promise<InspectorResponse> | InspectorResponse {
    switch (path) {
      case '/':
        return respond(200, 'text/html; charset=utf-8', this.#html);
      case '/inspector.js':
        return respond(200, 'text/javascript; charset=utf-8', INSPECTOR_JS);
      case '/inspector.css':
        return respond(200, 'text/css; charset=utf-8', INSPECTOR_CSS);
      case '/api/stats':
        return json(200, { at: this.cache.now(), stats: this.cache.stats() });
      case '/api/decisions': {
        const since = Number(new URLSearchParams(query).get('since') ?? 0);
        const after = Number.isSafeInteger(since) && since > 0 ? since : 0;
        return json(200, { seq: this.#log.seq, decisions: this.#log.recent(after) });
      }
      default:
        return this.#lookup(new URLSearchParams(query)); // '/api/entry'
    }
  }

  async #lookup(params: URLSearchParams): Promise<InspectorResponse> {
    const key = params.get('key');
    if (key === null || key === '') return refuse(400, 'key is required');
    if (key.length > MAX_LOOKUP_KEY) return refuse(414, `key is longer than ${MAX_LOOKUP_KEY} characters`);
    const data = params.get('data') === '1';
    let entry: Awaited<ReturnType<GroupCache['inspect']>>;
    try {
      entry = await this.cache.inspect(key, { data, body: this.#showBodies });
    } catch (error) {
      return refuse(503, `the store could not be read: ${(error as Error).message}`);
    }
    if (entry === undefined) return json(404, { key, data, found: false });
    const { body, ...shown } = entry;
    return json(200, { ...shown, data, found: true, ...(body !== undefined && bodyText(body)) });
  }

  async #expire(request: InspectorRequest): Promise<InspectorResponse> {
    const { headers } = request;
    const site = crossSite(headers);
    if (site !== undefined) return refuse(403, `cross-site request refused (${site})`);
    if (!tokenMatches(header(headers, TOKEN_HEADER), this.#tokenBytes)) {
      return refuse(403, `missing or wrong ${TOKEN_HEADER} header (reload the page)`);
    }
    // A JSON content type cannot be sent by a plain HTML form, nor cross-site without a CORS preflight.
    const type = header(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') return refuse(415, 'the body must be application/json');
    let body: unknown;
    try {
      body = await request.readBody(MAX_POST_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) return refuse(413, error.message);
      return refuse(400, `the body could not be read: ${(error as Error).message}`);
    }
    if (Buffer.isBuffer(body)) {
      try {
        body = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(400, 'the body is not valid JSON');
      }
    }
    const groups = groupsOf(body);
    if (typeof groups === 'string') return refuse(400, groups);
    try {
      await this.cache.expireGroups(groups);
    } catch (error) {
      const code = error instanceof GroupCacheError ? error.code : undefined;
      return json(503, { error: `the expiry could not be recorded now: ${(error as Error).message}`, code });
    }
    return json(200, { expired: groups });
  }
}

/** A request URL's path and query string (without `?`), as sent. */
export function splitUrl(url: string): { fullPath: string; query: string } {
  const mark = url.indexOf('?');
  return mark === -1 ? { fullPath: url, query: '' } : { fullPath: url.slice(0, mark), query: url.slice(mark + 1) };
}

/** Thrown by {@link readNodeBody} past its limit. */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

/**
 * Reads a Node request's body, at most `limit` bytes; or, when a body parser already consumed the stream,
 * returns what it parsed (`parsed`: Express `req.body`, Koa `ctx.request.body`).
 */
export function readNodeBody(req: IncomingMessage, parsed: unknown, limit: number): Promise<unknown> {
  if (req.readableEnded) return Promise.resolve(parsed);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain the rest, so the refusal can still be sent on this connection
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Reads a Web request's body (fetch's `Request`), at most `limit` bytes, as a Buffer. */
export async function readWebBody(request: Request, limit: number): Promise<Buffer> {
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new BodyTooLarge(limit);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks);
}
