import type { OutgoingHttpHeader } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteGenericInterface } from 'fastify';
import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import type { RequiresTypes } from '../lib/core/peer-types.js';
import type { GroupCache } from '../lib/engine/cache.js';
import { reportMisuse } from '../lib/engine/default-cache.js';
import { CachedRoute, type Outcome, type RouteOptions } from '../lib/http/cached-route.js';
import { expireWrite, type HeldWrite } from '../lib/http/expiry-failure.js';
import { Inspector, type InspectorOptions, splitUrl } from '../lib/http/inspector.js';
import { prepareNodeResponse } from '../lib/http/node-capture.js';
import type { Replay } from '../lib/http/replay.js';
import { LazyRequestInfo, type RequestDescriber } from '../lib/http/request-info.js';
import { declaredEnteredAt, MARK, markDeclared, onDeclaredPath } from '../lib/http/request-mark.js';
import { appendExpireGroups, type ExpireOptions, notOnPath, requestIdOf, writeExpiry } from '../lib/http/write-expiry.js';

export type { ExpireOptions, InspectorOptions, KeyFunction, RouteOptions };

type FastifyTypes<Param> = RequiresTypes<
  FastifyRequest,
  'group-cache/fastify types its hooks with Fastify: npm install fastify',
  Param
>;

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Groups to expire once this write succeeds (a string or an array), read by the `expireGroups()` plugin of
     * group-cache before the response is sent. `null` until a handler sets it.
     */
    expireGroups: GroupNames | null;
    /** More groups for this response's cache entry, decided by the handler (a string, a number or a list). */
    cacheGroups?: GroupNames;
    /** This response's cache entry TTL in ms, decided by the handler (at most MAX_TTL). */
    cacheTtl?: number;
    /** `true`: serve this response but do not store it (X-Cache: BYPASS). */
    cacheSkip?: boolean;
  }
}

/**
 * A route-level hook: `{ onRequest: groupCache(keyFn) }` or `{ preHandler: groupCache(keyFn) }`. Typed by the request
 * it takes, so that TypeScript infers a key function's `req` from the route it is given to (its `Params`,
 * `Querystring`, ...) instead of the untyped `FastifyRequest`.
 */
export type GroupCacheHook<Req extends FastifyRequest = FastifyRequest> = (
  request: Req,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

/** The plugin `expireGroups()` returns, for `app.register()`. */
export type ExpireGroupsPlugin = (instance: FastifyInstance, options: unknown, done: (error?: Error) => void) => void;

/** The hooks groupCache() made, each with a maker of the same hook bound to one route's pattern. */
const routeBinders = new WeakMap<object, (url: string) => GroupCacheHook>();

/** Swaps our hooks in a route's `onRequest` / `preHandler` option for ones that know the route's pattern. */
function bindRouteHooks(routeOptions: { url: string; onRequest?: unknown; preHandler?: unknown }): void {
  for (const name of ['onRequest', 'preHandler'] as const) {
    const hooks = routeOptions[name];
    if (Array.isArray(hooks)) {
      routeOptions[name] = hooks.map(
        (hook: unknown) => (typeof hook === 'function' && routeBinders.get(hook)?.(routeOptions.url)) || hook,
      );
    } else if (typeof hooks === 'function') {
      const bind = routeBinders.get(hooks);
      if (bind !== undefined) routeOptions[name] = bind(routeOptions.url);
    }
  }
}

const originalUrl = (request: FastifyRequest): string => request.originalUrl;

// `where` read per request off `request.routeOptions`, for a route whose pattern the expireGroups() plugin did not see.
function routeOf(request: FastifyRequest): string {
  const url: unknown = request.routeOptions.url;
  return typeof url === 'string' ? url : (request.url.split('?', 1)[0] ?? '');
}

const DESCRIBER: RequestDescriber<FastifyRequest> = {
  where: (request) => `${request.method} ${routeOf(request)}`,
  url: originalUrl,
};

/*
 * A hit is written on the Node response in one writeHead: the stored bytes and header names go out exactly as the
 * miss sent them (reply.send() would lower-case names, add a Content-Type to a typeless body and zero a HEAD's
 * Content-Length), and a hit runs no serializer or onSend hook; onResponse hooks still run. A flat header list
 * handed to writeHead skips Node's per-setHeader bookkeeping.
 */
function sendHit(reply: FastifyReply, replay: Replay): void {
  const res = reply.raw;
  const headers = replay.headers;
  const flat: OutgoingHttpHeader[] = [];
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as Replay['headers'][number];
    flat.push(header[0], header[1]);
  }
  // Headers earlier hooks set with reply.header() (CORS, say) live in Fastify until it sends: keep those the entry
  // does not have. Those set on reply.raw are Node's own, and writeHead merges them under the entry's.
  const pending = pendingHeaders(reply);
  for (const name in pending) {
    const value = pending[name];
    if (value !== undefined && !headers.some((header) => header[0].toLowerCase() === name)) flat.push(name, value);
  }
  reply.hijack();
  res.writeHead(replay.status, flat);
  res.end(replay.body);
}

type PendingHeaders = Record<string, OutgoingHttpHeader | undefined>;

// Per Reply class (Fastify 4 and 5 have their own): the symbol under which it keeps the headers set by reply.header().
const replyHeaderKeys = new WeakMap<object, symbol | null>();

/*
 * The headers set with reply.header() and not yet sent, read where Fastify keeps them (its `kReplyHeaders` own
 * property, found once per Reply class by its description) rather than with reply.getHeaders(), which would copy
 * Node's headers and Fastify's into a new object on every hit. Falls back to getHeaders() if a Fastify version
 * keeps them elsewhere.
 */
function pendingHeaders(reply: FastifyReply): PendingHeaders {
  const proto = Object.getPrototypeOf(reply) as object;
  let key = replyHeaderKeys.get(proto);
  if (key === undefined) {
    key = Object.getOwnPropertySymbols(reply).find((symbol) => symbol.description === 'fastify.reply.headers') ?? null;
    replyHeaderKeys.set(proto, key);
  }
  const held: unknown = key === null ? undefined : (reply as unknown as Record<symbol, unknown>)[key];
  if (typeof held === 'object' && held !== null) return held as PendingHeaders;
  return reply.getHeaders() as PendingHeaders;
}

function apply(outcome: Outcome, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (outcome.type === 'hit') {
    sendHit(reply, outcome.replay);
    return;
  }
  // The handler's response is read where Fastify writes it, on reply.raw: whatever its payload (string, Buffer,
  // stream, serialized object) and whatever onSend hooks made of it, the stored bytes are the bytes sent. Its
  // cacheGroups / cacheTtl / cacheSkip live on the reply, beside reply.expireGroups.
  prepareNodeResponse(outcome, reply.raw, () => reply);
  done();
}

/**
 * Caches a route's whole response under the key its key function returns, tagged with its groups. A route-level
 * `onRequest` (or `preHandler`, to key on a parsed body or validated params) hook:
 *
 * ```js
 * app.get('/users/:id', { onRequest: groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] })) }, handler);
 * ```
 * The response is captured on `reply.raw` as it is sent (after serialization and onSend hooks), and stored once
 * it finished. A hit is answered from the hook with the stored status, headers and body (`reply.hijack()`): the
 * handler, serializers and onSend hooks do not run for it.
 * @param keyFn gets the Fastify `request`; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a
 *   falsy value to bypass the cache for this request. May be async. If it throws, the request is served uncached
 *   and the cache emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the process-wide default cache.
 *
 * In TypeScript the key function's `req` is inferred from the route (`app.get<{ Params: { id: string } }>(...)`);
 * apart from a route, name its generic (`groupCache<{ Params: { id: string } }>(keyFn)`) or its request type
 * (`groupCache<FastifyRequest<...>>(keyFn)`, for a type provider's request, say).
 */
export function groupCache<RouteGeneric extends RouteGenericInterface = RouteGenericInterface>(
  keyFn: FastifyTypes<KeyFunction<FastifyRequest<RouteGeneric>>>,
  options?: RouteOptions<GroupCache, FastifyRequest<RouteGeneric>>,
): GroupCacheHook<FastifyRequest<RouteGeneric>>;
/*
 * The route generic is inferred from the route first: inferred whole, a request type comes out `never` on a route
 * with no generic (TypeScript's placeholder for the route's own, still unknown, generic). The request type form is
 * the second overload.
 */
export function groupCache<Req extends FastifyRequest>(
  keyFn: FastifyTypes<KeyFunction<Req>>,
  options?: RouteOptions<GroupCache, Req>,
): GroupCacheHook<Req>;
export function groupCache<Req extends FastifyRequest = FastifyRequest>(
  keyFn: KeyFunction<Req>,
  options?: RouteOptions<GroupCache, Req>,
): GroupCacheHook<Req> {
  const route = new CachedRoute<Req>(keyFn, options);
  const hook = routeHook(route, undefined);
  routeBinders.set(hook, (url) => routeHook(route, url));
  return hook;
}

/*
 * One hook of a route; `url` is its pattern when the expireGroups() plugin saw the route registered. Without it
 * the pattern is read off `request.routeOptions`, whose getter builds a frozen object on Fastify 4: only when
 * something names the request (a miss, an event), never on a hit.
 */
function routeHook<Req extends FastifyRequest>(route: CachedRoute<Req>, url: string | undefined): GroupCacheHook {
  // Not async, and three parameters: Fastify then runs it as a callback hook, and a hit costs no promise turn.
  const describer: RequestDescriber<FastifyRequest> =
    url === undefined ? DESCRIBER : { where: (request) => `${request.method} ${url}`, url: originalUrl };
  return function groupCacheHook(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const info = new LazyRequestInfo(
      request,
      describer,
      request.method,
      request.headers,
      declaredEnteredAt(request, request.raw),
    );
    const outcome = route.begin(request as Req, info);
    if (outcome instanceof Promise) outcome.then((value) => apply(value, reply, done), done);
    else apply(outcome, reply, done);
  };
}

const isInstance = (value: unknown): value is FastifyInstance =>
  typeof value === 'object' && value !== null && typeof (value as FastifyInstance).decorateReply === 'function';

/** The server's root context: Fastify makes each encapsulated context with Object.create(parent). */
function rootOf(instance: FastifyInstance): FastifyInstance {
  let root = instance;
  for (let up: unknown = Object.getPrototypeOf(root); isInstance(up); up = Object.getPrototypeOf(up)) root = up;
  return root;
}

const held = Symbol('group-cache.expireGroups');
type HoldingReply = FastifyReply & { [held]?: GroupNames | null };

/*
 * Registered inside an encapsulated plugin, expireGroups() covers only that plugin's routes: a write elsewhere sets
 * reply.expireGroups and nothing ever expires it. Fastify checks no mount order (a root plugin reaches routes
 * declared before it too), so this is its mount-order mistake: the root's reply.expireGroups becomes an accessor
 * that reports a value set where no expireGroups() sees the request.
 */
function watchUncoveredWrites(instance: FastifyInstance, cache: GroupCache): void {
  const root = rootOf(instance);
  if (root === instance || root.hasReplyDecorator('expireGroups')) return;
  root.decorateReply('expireGroups', {
    getter(this: HoldingReply) {
      return this[held] ?? null;
    },
    setter(this: HoldingReply, value: GroupNames | null) {
      this[held] = value;
      if (value === undefined || value === null || onDeclaredPath(this.request)) return;
      reportMisuse(
        cache,
        root,
        `reply.expireGroups was set by ${DESCRIBER.where(this.request)}, a route no expireGroups() plugin covers: it is ` +
          'registered inside an encapsulated plugin, so these groups are never expired. Register it at the root ' +
          '(await app.register(expireGroups())), or in the plugin that declares this route.',
      );
    },
  });
}

type SendNext = (error: Error | null, payload?: unknown) => void;

// A write's reply held in its onSend hook until its expiry is recorded: `next` sends the payload, or the 503.
function heldReply(reply: FastifyReply, payload: unknown, next: SendNext): HeldWrite {
  return {
    sent: () => reply.raw.headersSent,
    proceed: () => next(null, payload),
    body: payload,
    headerNames: () => Object.keys(reply.getHeaders()),
    removeHeader: (name) => reply.removeHeader(name),
    request: () => ({
      method: reply.request.method,
      route: routeOf(reply.request),
      requestId: requestIdOf(reply.request.headers, reply.getHeader('x-request-id'), reply.request.id),
    }),
    answer(status, contentType, body) {
      reply.code(status).header('content-type', contentType);
      next(null, body);
    },
  };
}

/**
 * A plugin that expires the groups a write route names in `reply.expireGroups` (a string or an array; or with
 * {@link addExpireGroups}), once the route answered with a success (2xx or 3xx by default), and before the
 * response reaches the client: its onSend hook awaits the store, so the client's next read never sees pre-write
 * data. With `onError: 'fail'` a write whose expiry could not be recorded is answered 503 instead. Register it
 * before the routes: `await app.register(expireGroups())`. It applies app-wide (it is not encapsulated).
 */
export function expireGroups(options?: ExpireOptions): ExpireGroupsPlugin {
  if (isInstance(options)) {
    // Fastify ran the factory as the plugin (app.register(expireGroups)). A rejected promise fails the registration;
    // a throw would escape avvio, which calls plugins outside any promise, and end the process.
    const error = new TypeError('expireGroups is a plugin factory: register its result, app.register(expireGroups())');
    return Promise.reject(error) as unknown as ExpireGroupsPlugin;
  }
  const settings = writeExpiry(options);
  const plugin: ExpireGroupsPlugin = (instance, _options, done) => {
    watchUncoveredWrites(instance, settings.cache);
    // Several of these plugins (one per cache) share the decoration.
    if (!instance.hasReplyDecorator('expireGroups')) instance.decorateReply('expireGroups', null);
    instance.addHook('onRoute', (routeOptions) => bindRouteHooks(routeOptions as Parameters<typeof bindRouteHooks>[0]));
    // Several of these plugins share the mark too.
    if (!instance.hasRequestDecorator(MARK as unknown as string)) instance.decorateRequest(MARK as unknown as string, null);
    // Callback hooks that answer synchronously when there is nothing to do (every read): no promise per request.
    instance.addHook(
      'onRequest',
      function markExpiry(request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction) {
        markDeclared(request);
        next();
      },
    );
    instance.addHook(
      'onSend',
      function expireBeforeSend(_request: FastifyRequest, reply: FastifyReply, payload: unknown, next: SendNext) {
        const requested: unknown = reply.expireGroups;
        if (requested === undefined || requested === null) next(null, payload);
        else expireWrite(settings, requested, reply.statusCode, heldReply(reply, payload, next)).catch(next);
      },
    );
    done();
  };
  // fastify-plugin's marker: the hooks and the decoration reach every route, not only those inside the plugin.
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  Object.defineProperty(plugin, Symbol.for('fastify.display-name'), { value: 'group-cache-expire-groups' });
  return plugin;
}

/** Adds groups for the `expireGroups()` plugin to expire once this write succeeds (appends to `reply.expireGroups`). */
export function addExpireGroups(reply: FastifyReply, groups: GroupNames): void {
  if (!onDeclaredPath(reply.request)) throw notOnPath('reply.expireGroups', 'app.register(expireGroups())');
  appendExpireGroups(reply as unknown as Record<string, unknown>, groups);
}

/** The plugin `inspector()` returns, for `app.register(plugin, { prefix })`; `close()` stops recording decisions. */
export type InspectorPlugin = ((instance: FastifyInstance, options: unknown, done: (error?: Error) => void) => void) & {
  close(): void;
};

// Every method goes to the inspector, which answers 405 itself; Fastify adds HEAD for GET.
const INSPECTOR_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * The inspector page (hit ratio and why requests missed, per-minute history, routes, recent decisions, key lookup,
 * group expiry) and its JSON API, as a
 * plugin registered under a prefix, inside a scope that holds your authentication:
 *
 * ```js
 * app.register(async (admin) => {
 *   admin.addHook('onRequest', requireAdmin);
 *   await admin.register(inspector({ cache }));
 * }, { prefix: '/_cache' });
 * ```
 */
export function inspector(options?: InspectorOptions): InspectorPlugin {
  const core = new Inspector(options);
  const plugin = (instance: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    const prefix = instance.prefix;
    if (prefix === '') {
      done(new TypeError("inspector() must be registered under a prefix: app.register(inspector(), { prefix: '/_cache' })"));
      return;
    }
    async function handler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
      const { fullPath, query } = splitUrl(request.url);
      const answer = await core.handle({
        method: request.method,
        path: fullPath.slice(prefix.length),
        fullPath,
        query,
        headers: request.headers,
        readBody: async () => request.body, // Fastify parsed it (JSON), within the route's bodyLimit
      });
      if (answer === undefined) {
        reply.callNotFound();
        return reply;
      }
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    }
    const bodyLimit = 64 * 1024;
    instance.route({ method: [...INSPECTOR_METHODS], url: '/', bodyLimit, handler });
    instance.route({ method: [...INSPECTOR_METHODS], url: '/*', bodyLimit, handler });
    done();
  };
  return Object.assign(plugin, { close: () => core.close() });
}
