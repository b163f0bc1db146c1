import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { Context, Middleware, Next } from 'koa';
import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import type { RequiresTypes } from '../lib/core/peer-types.js';
import type { GroupCache } from '../lib/engine/cache.js';
import type { StatusHeader } from '../lib/http/cache-status.js';
import { CachedRoute, type Outcome, type RouteOptions } from '../lib/http/cached-route.js';
import { expireWrite } from '../lib/http/expiry-failure.js';
import { rawHeaderNames } from '../lib/http/headers.js';
import { Inspector, type InspectorOptions, readNodeBody } from '../lib/http/inspector.js';
import { identityJson, readJsonAtEnd } from '../lib/http/json-capture.js';
import { checkMountOrder, type MountedLayer } from '../lib/http/mount-order.js';
import type { Replay } from '../lib/http/replay.js';
import { LazyRequestInfo, type RequestDescriber } from '../lib/http/request-info.js';
import { enteredAt, markExpiryPath, onExpiryPath } from '../lib/http/request-mark.js';
import type { ResponseCapture } from '../lib/http/response-capture.js';
import { type AwaitedResponse, awaitHandler } from '../lib/http/stale-fallback.js';
import { discardBody, isNodeStream, teeStream } from '../lib/http/streams.js';
import { appendExpireGroups, type ExpireOptions, notOnPath, requestIdOf, writeExpiry } from '../lib/http/write-expiry.js';

export type { ExpireOptions, InspectorOptions, KeyFunction, RouteOptions };

type KoaTypes<Param> = RequiresTypes<
  Context,
  'group-cache/koa types its middleware with Koa: npm install --save-dev @types/koa',
  Param
>;

// Statuses Koa sends without a body (its `statuses.empty`).
const EMPTY_STATUSES = new Set([204, 205, 304]);

/** The matched route's pattern: @koa/router records it (prefix included); plain Koa only has the path. */
function routeOf(ctx: Context): string {
  const matched: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : ctx.path;
}

const DESCRIBER: RequestDescriber<Context> = {
  where: (ctx) => `${ctx.method} ${routeOf(ctx)}`,
  url: (ctx) => ctx.originalUrl,
};

// The app's middleware list: a router's middleware (`router.routes()`) answers routes and does not call next.
function mountedLayers(app: Context['app']): MountedLayer[] | undefined {
  if (!Array.isArray(app.middleware)) return undefined;
  return app.middleware.map((fn: unknown) =>
    typeof fn === 'function'
      ? { name: fn.name, answersRoutes: typeof (fn as { router?: unknown }).router === 'object' }
      : { name: undefined, answersRoutes: false },
  );
}

const MOUNTED_LATE =
  'app.use(expireGroups()) is mounted after the router: writes it answers never reach it, so ' +
  'ctx.state.expireGroups is never expired. Mount it before app.use(router.routes()).';

/*
 * A hit, written as a Koa handler would (status, headers, a Buffer body), so that middleware further up still sees
 * and may change the response. The headers go straight to Node's `res.setHeader`, which is what Koa's `ctx.set`
 * ends in for a string value, without its checks and delegate hop; Content-Length is left to Koa's body setter,
 * which sets it from the Buffer anyway.
 */
function sendReplay(ctx: Context, replay: Replay): void {
  ctx.status = replay.status;
  const body = replay.body;
  const headers = replay.headers;
  const res = ctx.res;
  // Koa's ctx.set ignores headers once sent (Node's would throw): only then is it worth its cost.
  const direct = !res.headersSent;
  // Headers first: with Content-Type already set, Koa's body setter skips its own type lookup.
  let typed = false;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i] as Replay['headers'][number];
    if (name.length === 14 && body !== undefined && name === 'Content-Length') continue;
    if (direct) res.setHeader(name, value);
    else ctx.set(name, value);
    if (name.length === 12 && name.toLowerCase() === 'content-type') typed = true;
  }
  // No body for HEAD and 304: leave ctx.body unset (setting null would turn the status into a 204).
  if (body === undefined) return;
  ctx.body = body;
  // The body setter adds a Content-Type when none was stored: only the stored headers go out.
  if (!typed) ctx.remove('Content-Type');
}

/**
 * The bytes Koa will send for `ctx.body`, `'json'` for a body Koa serialises itself (read as it sends it: see
 * `readJsonAtEnd`), or a reason it cannot be stored. Streams are handled apart; Koa 3's web bodies (Blob,
 * ReadableStream, Response) are passed through uncached.
 */
function bufferedBody(ctx: Context): Buffer | string | 'json' | { refused: string } {
  const body: unknown = ctx.body;
  if (body === null || body === undefined) {
    // `ctx.body = null` makes the status 204; an unset body at another status becomes Koa's status message.
    return EMPTY_STATUSES.has(ctx.status) ? Buffer.alloc(0) : { refused: `no body at status ${ctx.status}` };
  }
  if (Buffer.isBuffer(body) || typeof body === 'string') return body;
  if (typeof body !== 'object') return { refused: `unsupported body type ${typeof body}` };
  for (const name of ['Blob', 'ReadableStream', 'Response'] as const) {
    const WebType: unknown = globalThis[name];
    if (typeof WebType === 'function' && body instanceof WebType) return { refused: `${name} body` };
  }
  return 'json';
}

/*
 * Tees a stream body: Koa pipes the tee to the client exactly as it would have piped the handler's stream,
 * and every chunk is copied into the capture on the way. Content-Length, if the handler set one, is kept
 * (Koa's body setter drops it when a stream replaces another). Returns whether the tee was read to its end.
 */
function teeBody(ctx: Context, source: Readable, capture: ResponseCapture): () => boolean {
  const length: unknown = ctx.response.get('Content-Length'); // '' on Koa 2, undefined on Koa 3 when unset
  const tee = teeStream(source, capture);
  ctx.body = tee.stream;
  if (length !== undefined && length !== '') ctx.set('Content-Length', String(length));
  return tee.ended;
}

/*
 * Runs after the handler: reads the response Koa is about to send off `ctx`, and stores it once the response
 * has actually finished (a client that goes away before that stores nothing). A stream body is stored only if
 * it was sent to its end: an error thrown further up replaces it with Koa's error response.
 */
function captureContext(ctx: Context, miss: Extract<Outcome, { type: 'miss' }>): void {
  const { capture } = miss;
  if (ctx.respond === false) {
    capture.abort('ctx.respond = false');
    return;
  }
  if (ctx.headerSent || !ctx.writable) {
    capture.abort('response written or closed outside Koa');
    return;
  }
  let sentInFull = (): boolean => true;
  let json = false;
  const body: unknown = ctx.body;
  if (isNodeStream(body)) {
    if (capture.head(ctx.status, ctx.response.headers)) sentInFull = teeBody(ctx, body, capture);
  } else if (capture.head(ctx.status, ctx.response.headers)) {
    // The head first: a 404 with no body is refused for its status, as on every adapter, not for its body.
    const bytes = bufferedBody(ctx);
    if (bytes === 'json') {
      json = true;
      sentInFull = readJsonAtEnd(ctx.res, () => ctx.body === body, capture);
    } else if (typeof bytes === 'string' || Buffer.isBuffer(bytes)) capture.write(bytes);
    else capture.abort(bytes.refused, 'body');
  }
  // Nothing is sent yet: a refusal gets its Cache-Status detail, a stored head gets its CDN tags.
  for (const [name, value] of capture.headers()) ctx.set(name, value);
  const sent: unknown = ctx.body;
  const res = ctx.res;
  const encoding = String(res.getHeader('content-encoding') ?? '');
  // Judged on what was sent: middleware further up may still set headers or replace the body after we return. A
  // body replaced together with a new Content-Encoding is an encoder mounted outside (koa-compress): the bytes read
  // here are the handler's identity bytes, stored as such, and the encoder encodes each hit (response-capture.ts).
  res.once('finish', () => {
    const encodedOutside = String(res.getHeader('content-encoding') ?? '') !== encoding;
    if (ctx.body !== sent && !encodedOutside) capture.abort('the body was replaced after the cache read it');
    else if (sentInFull() || (json && identityJson(capture, body, encodedOutside))) {
      void capture.end(res.statusCode, res.getHeaders(), rawHeaderNames(res));
    } else if (!json) capture.abort('the stream body was not sent in full');
  });
}

// Not async: a hit answered synchronously by the store costs no promise turn.
function apply(outcome: Outcome, ctx: Context, next: Next): Promise<void> | undefined {
  if (outcome.type === 'hit') {
    sendReplay(ctx, outcome.replay);
    return undefined;
  }
  for (const [name, value] of outcome.headers) ctx.set(name, value);
  if (outcome.type === 'pass') return next().catch((error: unknown) => rethrowWith(error, outcome.headers));
  return fill(outcome, ctx, next);
}

/*
 * Koa answers a thrown error itself (ctx.onerror) after removing every header set so far, then sets the error's
 * own `headers`: the status headers ride on the error, so that `ctx.throw(404)` says what the cache did too.
 */
function rethrowWith(error: unknown, headers: readonly StatusHeader[]): never {
  if (headers.length > 0 && typeof error === 'object' && error !== null) {
    const holder = error as { headers?: unknown };
    try {
      const own = typeof holder.headers === 'object' && holder.headers !== null ? holder.headers : {};
      holder.headers = { ...own, ...Object.fromEntries(headers) };
    } catch {
      // A frozen error: Koa's answer goes without them.
    }
  }
  throw error;
}

// The status Koa's ctx.onerror answers a thrown error with.
function thrownStatus(error: unknown): number {
  const { status, statusCode } = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const code = status ?? statusCode;
  return typeof code === 'number' && STATUS_CODES[code] !== undefined ? code : 500;
}

// The response as the stale fallback sees it: Koa's ctx methods, which ignore a handler that answers after the stale
// copy went out (Node's, on ctx.res, would throw: those are absorbed). A class: one object per miss, no closures.
class KoaAwaited implements AwaitedResponse {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  get res(): AwaitedResponse['res'] {
    return this.#ctx.res;
  }

  sent(): boolean {
    return this.#ctx.headerSent || !this.#ctx.writable;
  }

  status(): number {
    return this.#ctx.status;
  }

  replace(replay: Replay): void {
    const ctx = this.#ctx;
    discardBody(ctx.body);
    for (const name of Object.keys(ctx.response.headers)) ctx.remove(name);
    sendReplay(ctx, replay);
  }

  thrownStatus(error: unknown): number {
    return thrownStatus(error);
  }
}

async function fill(miss: Extract<Outcome, { type: 'miss' }>, ctx: Context, next: Next): Promise<void> {
  const capture = miss.capture;
  capture.readHandlerValues(() => ctx.state);
  capture.varyBeforeHandler(ctx.response.headers.vary);
  let stands: boolean;
  try {
    stands = await awaitHandler(capture, next, new KoaAwaited(ctx));
  } catch (error) {
    rethrowWith(error, capture.headers());
  }
  if (stands) captureContext(ctx, miss);
}

/**
 * Caches a route's whole response under the key its key function returns, tagged with its groups.
 *
 * ```js
 * router.get('/users/:id', groupCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: ['users'] })), handler);
 * ```
 * The response is read off `ctx` after `await next()`: a string, Buffer or JSON body (serialised as Koa sends
 * it), a Node stream (copied while it streams, stored only if it ends within `maxEntryBytes`), or no body at 204.
 * It is stored once Koa has finished sending it. A hit sets `ctx.status`, headers and a Buffer `ctx.body`
 * and does not call `next()`. `ctx.respond = false` and a handler that throws store nothing.
 * @param keyFn gets `ctx`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a falsy value to
 *   bypass the cache for this request. May be async. If it throws, the request is served uncached and the cache
 *   emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 */
export function groupCache<Ctx extends Context = Context>(
  keyFn: KoaTypes<KeyFunction<Ctx>>,
  options?: RouteOptions<GroupCache, Ctx>,
): Middleware {
  const route = new CachedRoute<Ctx>(keyFn, options);
  // The mount-order check runs once per app.
  let checkedApp: unknown;
  return function groupCacheMiddleware(ctx: Context, next: Next): Promise<void> | undefined {
    if (ctx.app !== checkedApp) {
      checkedApp = ctx.app;
      checkMountOrder(ctx.app, route.cache, () => mountedLayers(ctx.app), MOUNTED_LATE);
    }
    // Off the Node request: ctx.method and ctx.headers are two delegate hops each to the same values.
    const req = ctx.req;
    const info = new LazyRequestInfo(ctx, DESCRIBER, req.method as string, req.headers, enteredAt(req));
    const outcome = route.begin(ctx as Ctx, info);
    if (outcome instanceof Promise) return outcome.then((value) => apply(value, ctx, next));
    return apply(outcome, ctx, next);
  };
}

/**
 * Expires the groups a write route names in `ctx.state.expireGroups` (a string or an array), once the route
 * answered with a success (2xx or 3xx by default), and before Koa sends the response: the expiry is awaited after
 * `next()`, so the client's next read never sees pre-write data. With `onError: 'fail'` a write whose expiry
 * could not be recorded is answered 503 instead. Mount it before the routes it covers (`app.use(expireGroups())`),
 * or in a route before its handler.
 */
export function expireGroups(options?: ExpireOptions): Middleware {
  const settings = writeExpiry(options);
  return async function expireGroupsMiddleware(ctx: Context, next: Next): Promise<void> {
    markExpiryPath(ctx.req);
    await next();
    const requested: unknown = (ctx.state as Record<string, unknown>).expireGroups;
    if (requested === undefined || requested === null) return;
    await expireWrite(settings, requested, ctx.status, {
      sent: () => ctx.headerSent || ctx.respond === false,
      proceed() {},
      body: ctx.body, // a stream is destroyed: Koa 2 would leave it open
      headerNames: () => Object.keys(ctx.response.headers),
      removeHeader: (name) => ctx.remove(name),
      request: () => ({
        method: ctx.method,
        route: routeOf(ctx),
        requestId: requestIdOf(ctx.req.headers, ctx.response.get('x-request-id')),
      }),
      answer(status, contentType, body) {
        ctx.status = status;
        ctx.type = contentType;
        ctx.body = body;
      },
    });
  };
}

/** Adds groups for `expireGroups()` to expire once this write succeeds (appends to `ctx.state.expireGroups`). */
export function addExpireGroups(ctx: Context, groups: GroupNames): void {
  if (!onExpiryPath(ctx.req)) throw notOnPath('ctx.state.expireGroups', 'app.use(expireGroups())');
  appendExpireGroups(ctx.state as Record<string, unknown>, groups);
}

/** Options of the Koa `inspector()`: those of every adapter, plus where it answers. */
export interface KoaInspectorOptions extends InspectorOptions {
  /** The path the inspector answers under (`'/_cache'`): required, since Koa has no mount path. */
  prefix: string;
}

/**
 * The inspector page (hit ratio and why requests missed, per-minute history, routes, recent decisions, key lookup,
 * group expiry) and its JSON API,
 * under `prefix`; every other request goes to `next()`. Put your own authentication in front of it:
 *
 * ```js
 * app.use(async (ctx, next) => (ctx.path.startsWith('/_cache') ? requireAdmin(ctx, next) : next()));
 * app.use(inspector({ cache, prefix: '/_cache' }));
 * ```
 * `close()` stops recording decisions.
 */
export function inspector(options: KoaInspectorOptions): Middleware & { close(): void } {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { prefix: given, ...rest } = options;
  if (typeof given !== 'string' || !given.startsWith('/')) {
    throw new TypeError("option prefix must be a path starting with '/' (Koa has no mount path), e.g. '/_cache'");
  }
  const prefix = given.replace(/\/+$/, '');
  const core = new Inspector(rest);
  const middleware = async function groupCacheInspector(ctx: Context, next: Next): Promise<void> {
    const full = ctx.path;
    let path: string;
    if (full === prefix) path = '';
    else if (full.startsWith(`${prefix}/`)) path = full.slice(prefix.length);
    else return next();
    const answer = await core.handle({
      method: ctx.method,
      path,
      fullPath: full,
      query: ctx.querystring,
      headers: ctx.headers,
      readBody: (limit) => readNodeBody(ctx.req, (ctx.request as { body?: unknown }).body, limit),
    });
    if (answer === undefined) return next();
    ctx.status = answer.status;
    ctx.set(answer.headers); // Content-Type first: Koa's body setter then keeps it
    ctx.body = answer.body;
  };
  return Object.assign(middleware, { close: () => core.close() });
}
