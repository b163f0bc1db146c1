/*
 * The inspector: a small admin page and its JSON API over one cache, framework-free. Adapters translate their
 * request to an InspectorRequest and send the InspectorResponse back; everything else (routes, CSRF guard,
 * security headers, what is shown) lives here and is tested once.
 *
 * Attackers choose keys, group names and headers, so nothing here builds HTML from data: the page gets data as
 * JSON and renders it with textContent (inspector-page.ts), under a CSP that allows no inline script or style.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { checkOptionNames, positiveOption } from '../core/options.js';
import type { GroupCache } from '../engine/cache.js';
import { defaultCache } from '../engine/default-cache.js';
import { DECISION_EVENTS, type DecisionEvent, type DecisionFilter } from './decision-log.js';
import { type InspectorResponse, json, refuse, respond } from './inspector-answers.js';
import { BodyTooLarge, expireFromPage, MAX_LOOKUP_KEY } from './inspector-expire.js';
import { type FeedSizes, InspectorFeed } from './inspector-feed.js';
import { inspectorHtml } from './inspector-page.js';
import { INSPECTOR_JS } from './inspector-script.js';
import { INSPECTOR_CSS } from './inspector-style.js';

export type { InspectorResponse } from './inspector-answers.js';
export { BodyTooLarge, MAX_LOOKUP_KEY, TOKEN_HEADER } from './inspector-expire.js';

/** Options of `inspector()`. */
export interface InspectorOptions<Cache = GroupCache> {
  /** The cache shown. Default: the process-wide default cache. */
  cache?: Cache;
  /** Include stored bodies in key lookups. Default false: bodies may hold personal data. */
  showBodies?: boolean;
  /**
   * How many recent decisions are kept: this many hits and stale copies, and this many other decisions (misses,
   * bypasses, stores, expiries...), so that hits never push the rest out. Default 200.
   */
  maxDecisions?: number;
  /** How many minutes of per-minute history are kept for the hit-ratio chart (at most a week). Default 360 (6 h). */
  historyMinutes?: number;
  /** Most routes with a row of their own in the route table; the rest share one row. Default 100 (at most 10,000). */
  maxRoutes?: number;
  /**
   * The CSRF token the page sends back on its POSTs: at least 32 characters of `A-Z a-z 0-9 _ -`. Default: random,
   * per inspector. Give every instance of an app behind a load balancer the same one, or a POST that reaches
   * another instance than the page came from is refused.
   */
  csrfToken?: string;
}

const OPTION_NAMES = Object.keys({
  cache: true,
  showBodies: true,
  maxDecisions: true,
  historyMinutes: true,
  maxRoutes: true,
  csrfToken: true,
} satisfies Record<keyof InspectorOptions, true>);

const MAX_HISTORY_MINUTES = 7 * 24 * 60;
const MAX_ROUTES = 10_000;
const MAX_DECISIONS = 100_000;

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

// A stored body is shown up to this many bytes (with showBodies), so one lookup cannot return megabytes of JSON.
const MAX_SHOWN_BODY = 256 * 1024;
// A decisions filter's key text is cut to this; a route filter is at most a route's own bound.
const MAX_FILTER_TEXT = 512;
// The page shows at most this many decisions: an answer holds no more.
const MAX_DECISIONS_SENT = 500;
const GET_PATHS = new Set([
  '/',
  '/inspector.js',
  '/inspector.css',
  '/api/stats',
  '/api/decisions',
  '/api/entry',
  '/api/history',
  '/api/routes',
]);

function bodyText(body: Buffer): { body: string; bodyTruncated?: true } {
  if (body.length <= MAX_SHOWN_BODY) return { body: body.toString('utf8') };
  return { body: body.subarray(0, MAX_SHOWN_BODY).toString('utf8'), bodyTruncated: true };
}

/** The filter of a `GET api/decisions` query (`event=miss,bypass&route=GET%20/users/:id&q=user_1`), or why not. */
function decisionQuery(params: URLSearchParams): { since: number; filter: DecisionFilter } | string {
  const since = Number(params.get('since') ?? 0);
  const events = new Set<DecisionEvent>();
  for (const name of (params.get('event') ?? '').split(',')) {
    if (name === '') continue;
    if (!(DECISION_EVENTS as readonly string[]).includes(name)) return `unknown event ${JSON.stringify(name.slice(0, 40))}`;
    events.add(name as DecisionEvent);
  }
  const route = params.get('route') ?? '';
  const text = params.get('q') ?? '';
  if (route.length > MAX_LOOKUP_KEY || text.length > MAX_FILTER_TEXT) return 'route or q is too long';
  return { since: Number.isSafeInteger(since) && since > 0 ? since : 0, filter: { events, route, text } };
}

/** A bounded positive integer option. */
function boundedOption(raw: Record<string, unknown>, name: string, fallback: number, max: number): number {
  const value = positiveOption(raw, name, fallback, true);
  if (value > max) throw new TypeError(`option ${name} must be at most ${max}, got ${value}`);
  return value;
}

/** Every option but the cache, checked: a throw here leaves no listener on any cache. */
function checkedOptions(options: InspectorOptions): { token: string; showBodies: boolean; sizes: FeedSizes } {
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
  const sizes = {
    decisions: boundedOption(raw, 'maxDecisions', 200, MAX_DECISIONS),
    historyMinutes: boundedOption(raw, 'historyMinutes', 360, MAX_HISTORY_MINUTES),
    routes: boundedOption(raw, 'maxRoutes', 100, MAX_ROUTES),
  };
  return { token, showBodies: raw.showBodies === true, sizes };
}

/**
 * The inspector of one cache: answers its page, assets and JSON API. Records what the cache does (recent
 * decisions, per-minute history, per-route counters) from its events, from creation until {@link close}.
 */
export class Inspector {
  readonly cache: GroupCache;
  readonly #showBodies: boolean;
  readonly #feed: InspectorFeed;
  // The CSRF token: given to the page in its HTML, required on every POST.
  readonly #tokenBytes: Buffer;
  readonly #html: string;

  constructor(options: InspectorOptions = {}) {
    const { token, showBodies, sizes } = checkedOptions(options);
    this.#tokenBytes = Buffer.from(token);
    this.#html = inspectorHtml(token);
    this.#showBodies = showBodies;
    this.cache = options.cache ?? defaultCache();
    this.#feed = new InspectorFeed(this.cache, sizes);
    this.#feed.start();
  }

  /** Stops recording (the page keeps working, with what was recorded so far). */
  close(): void {
    this.#feed.stop();
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
      return expireFromPage(this.cache, request, this.#tokenBytes);
    }
    if (!GET_PATHS.has(path)) return undefined;
    if (method !== 'GET') return refuse(405, 'use GET', { Allow: 'GET, HEAD' });
    return this.#get(path, request.query);
  }

  #get(path: string, query: string): Promise<InspectorResponse> | InspectorResponse {
    const feed = this.#feed;
    switch (path) {
      case '/':
        return respond(200, 'text/html; charset=utf-8', this.#html);
      case '/inspector.js':
        return respond(200, 'text/javascript; charset=utf-8', INSPECTOR_JS);
      case '/inspector.css':
        return respond(200, 'text/css; charset=utf-8', INSPECTOR_CSS);
      case '/api/stats':
        return json(200, { at: this.cache.now(), stats: this.cache.stats() });
      case '/api/history': {
        const at = this.cache.now();
        return json(200, { at, minutes: feed.history.minutes, buckets: feed.history.buckets(at) });
      }
      case '/api/routes':
        return json(200, { maxRoutes: feed.routes.maxRoutes, routes: feed.routes.report() });
      case '/api/decisions':
        return this.#decisions(new URLSearchParams(query));
      default:
        return this.#lookup(new URLSearchParams(query)); // '/api/entry'
    }
  }

  #decisions(params: URLSearchParams): InspectorResponse {
    const asked = decisionQuery(params);
    if (typeof asked === 'string') return refuse(400, asked);
    const log = this.#feed.log;
    return json(200, { seq: log.seq, decisions: log.recent(asked.since, asked.filter, MAX_DECISIONS_SENT) });
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
}

/** A request URL's path and query string (without `?`), as sent. */
export function splitUrl(url: string): { fullPath: string; query: string } {
  const mark = url.indexOf('?');
  return mark === -1 ? { fullPath: url, query: '' } : { fullPath: url.slice(0, mark), query: url.slice(mark + 1) };
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
