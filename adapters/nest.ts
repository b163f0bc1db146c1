import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  type CallHandler,
  type DynamicModule,
  type ExecutionContext,
  type FactoryProvider,
  Inject,
  Injectable,
  Module,
  type ModuleMetadata,
  type NestInterceptor,
  Optional,
  type Provider,
  UseInterceptors,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { catchError, concatMap, from, mergeMap, type Observable, of, throwError } from 'rxjs';
import type { GroupNames } from '../lib/core/expiry-groups.js';
import type { KeyFunction } from '../lib/core/key-function.js';
import { GroupCache as Cache, createCache } from '../lib/engine/cache.js';
import { defaultCache, noteRoute } from '../lib/engine/default-cache.js';
import type { CacheOptions } from '../lib/engine/engine-types.js';
import { CachedRoute, type Outcome, type RouteOptions } from '../lib/http/cached-route.js';
import { expireWrite, type HeldWrite, namingFailed, sentBeforeExpiry } from '../lib/http/expiry-failure.js';
import { prepareNodeResponse } from '../lib/http/node-capture.js';
import { replayInstead } from '../lib/http/replay-instead.js';
import { LazyRequestInfo, type RequestDescriber, writeRequestOf } from '../lib/http/request-info.js';
import { enteredAt, markEntered, markExpiryPath, onExpiryPath } from '../lib/http/request-mark.js';
import { checkRouteOptions } from '../lib/http/route-options.js';
import { handlerThrew } from '../lib/http/stale-fallback.js';
import { appendExpireGroups, type ExpireOptions, notOnPath, type WriteExpiry, writeExpiry } from '../lib/http/write-expiry.js';

export type { ExpireOptions, KeyFunction, RouteOptions };

/**
 * What a key function and an `@ExpireGroups()` function get by default: the request as Nest's platform hands it
 * (an Express `Request` on @nestjs/platform-express, a `FastifyRequest` on @nestjs/platform-fastify). Name your
 * platform's type on the function's parameter to get the rest of it.
 */
export interface NestRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
}

/**
 * What a handler decides about its response, as `res.locals` holds it on Express: `cacheGroups` (more groups for
 * this entry), `cacheTtl` (its TTL, ms), `cacheSkip` (store nothing), `expireGroups` (the groups this write
 * expires, with `@ExpireGroups()` on the route).
 */
export interface CacheLocals {
  expireGroups?: GroupNames | null;
  cacheGroups?: GroupNames;
  cacheTtl?: number;
  cacheSkip?: boolean;
}

/** Options of `GroupCacheModule.forRoot()`: a cache's options (`createCache()`), or a cache made elsewhere. */
export interface GroupCacheModuleOptions extends CacheOptions {
  /** A cache made with `createCache()` instead of one made from these options; the app does not close it. */
  cache?: Cache;
  /** How every `@ExpireGroups()` write judges success and a failed expiry (`succeeded`, `onError`). */
  expire?: Omit<ExpireOptions, 'cache'>;
}

/** Options of `GroupCacheModule.forRootAsync()`: a factory of the module's options, with what it injects. */
export interface GroupCacheModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => GroupCacheModuleOptions | Promise<GroupCacheModuleOptions>;
}

/** The groups a write expires, from its request and its handler's result. */
export type ExpireGroupsFunction<Req = NestRequest, Result = unknown> = (
  req: Req,
  result: Result,
) => GroupNames | null | undefined | Promise<GroupNames | null | undefined>;

/** The injection token of the module's cache: `@Inject(GROUP_CACHE) cache: GroupCache`. */
export const GROUP_CACHE: unique symbol = Symbol.for('group-cache.nest.cache');

// The module's settings, for the interceptors; the one token they inject.
const SETTINGS = Symbol.for('group-cache.nest.settings');
type Settings = { cache: Cache; expiry: WriteExpiry; owned: boolean };

type AnyFunction = (...args: never[]) => unknown;
type RouteSpec = { keyFn: KeyFunction<object>; options: RouteOptions<Cache, object> };
const routeSpecs = new WeakMap<object, RouteSpec>();
const expirySpecs = new WeakMap<object, ExpireGroupsFunction<object> | undefined>();
const localsByRequest = new WeakMap<object, CacheLocals>();

// The Node request and response beneath Nest's: Fastify's are `.raw`, Express's are Node's own.
const rawRequest = (req: object): IncomingMessage => (req as { raw?: IncomingMessage }).raw ?? (req as IncomingMessage);
const rawResponse = (res: object): ServerResponse => (res as { raw?: ServerResponse }).raw ?? (res as ServerResponse);

interface PlatformRequest extends NestRequest {
  readonly originalUrl?: string;
  readonly baseUrl?: string;
  readonly route?: { path?: unknown };
  readonly routeOptions?: { url?: unknown };
}

const DESCRIBER: RequestDescriber<PlatformRequest> = {
  where(req) {
    const pattern: unknown = req.routeOptions?.url ?? req.route?.path;
    return `${req.method} ${typeof pattern === 'string' ? `${req.baseUrl ?? ''}${pattern}` : req.url.split('?', 1)[0]}`;
  },
  url: (req) => req.originalUrl ?? req.url,
};

/** What the handler decides about this request's response (see {@link CacheLocals}); one object per request. */
export function cacheLocals(req: object): CacheLocals {
  let locals = localsByRequest.get(req);
  if (locals === undefined) {
    locals = {};
    localsByRequest.set(req, locals);
  }
  return locals;
}

/** Adds groups for this write to expire once it succeeds; the route (or its controller) has `@ExpireGroups()`. */
export function addExpireGroups(req: object, groups: GroupNames): void {
  if (!onExpiryPath(rawRequest(req))) throw notOnPath('cacheLocals(req).expireGroups', '@ExpireGroups() on the route');
  appendExpireGroups(cacheLocals(req) as Record<string, unknown>, groups);
}

// The status Nest answers a thrown error with (an HttpException's own, 500 for anything else).
function thrownStatus(error: unknown): number {
  const status: unknown = (error as { getStatus?: () => unknown } | null)?.getStatus?.();
  return typeof status === 'number' ? status : 500;
}

/** Caches GET handlers marked `@GroupCache()`; a hit answers before the handler and the interceptors after this one. */
class GroupCacheInterceptor implements NestInterceptor {
  readonly #cache: Cache;
  readonly #routes = new WeakMap<object, CachedRoute<object>>();

  constructor(settings?: Settings) {
    this.#cache = settings?.cache ?? defaultCache();
    // Its routes are made on their first request; the cache has routes reading from it as soon as the app has.
    noteRoute(this.#cache);
  }

  #route(handler: object): CachedRoute<object> | undefined {
    let route = this.#routes.get(handler);
    if (route !== undefined) return route;
    const spec = routeSpecs.get(handler);
    if (spec === undefined) return undefined;
    route = new CachedRoute(spec.keyFn, { ...spec.options, cache: spec.options.cache ?? this.#cache });
    this.#routes.set(handler, route);
    return route;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = context.getType() === 'http' ? this.#route(context.getHandler()) : undefined;
    if (route === undefined) return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<PlatformRequest>();
    const res = http.getResponse<object>();
    const info = new LazyRequestInfo(req, DESCRIBER, req.method, req.headers, enteredAt(rawRequest(req)));
    const outcome = route.begin(req, info);
    if (outcome instanceof Promise) return from(outcome).pipe(mergeMap((value) => this.#apply(value, req, res, next)));
    return this.#apply(outcome, req, res, next);
  }

  #apply(outcome: Outcome, req: object, res: object, next: CallHandler): Observable<unknown> {
    const raw = rawResponse(res);
    if (outcome.type === 'hit') {
      // Nest still sends what the interceptors return; the hit is written in its place. Fastify keeps headers set
      // with reply.header() (by earlier hooks) apart from Node's until it sends.
      const kept = (res as { getHeaders?: () => OutgoingHttpHeaders }).getHeaders?.() ?? raw.getHeaders();
      replayInstead(raw, outcome.replay, kept);
      return of(undefined);
    }
    prepareNodeResponse(outcome, raw, () => localsByRequest.get(req));
    if (outcome.type === 'pass') return next.handle();
    const capture = outcome.capture;
    return next.handle().pipe(
      catchError((error: unknown) => {
        handlerThrew(capture, thrownStatus(error));
        return throwError(() => error);
      }),
    );
  }
}

const SENT_FIRST = 'It writes with @Res(): use @Res({ passthrough: true }) and return the body.';

/** Expires the groups of writes marked `@ExpireGroups()` once they succeed, before Nest sends their response. */
class ExpireGroupsInterceptor implements NestInterceptor {
  readonly #settings: WriteExpiry;

  constructor(settings?: Settings) {
    this.#settings = settings?.expiry ?? writeExpiry();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<PlatformRequest>();
    const res = http.getResponse<object>();
    markExpiryPath(rawRequest(req));
    const handler = context.getHandler();
    const groupsOf = expirySpecs.has(handler) ? expirySpecs.get(handler) : expirySpecs.get(context.getClass());
    return next.handle().pipe(concatMap((result) => this.#expire(req, res, result, groupsOf)));
  }

  async #expire(req: PlatformRequest, res: object, result: unknown, groupsOf?: ExpireGroupsFunction<object>): Promise<unknown> {
    const raw = rawResponse(res);
    const write = heldWrite(raw, res, result, () =>
      writeRequestOf(DESCRIBER, req, (res as PlatformResponse).getHeaders()['x-request-id']),
    );
    const locals = cacheLocals(req);
    if (groupsOf !== undefined) {
      try {
        const groups = await groupsOf(req, result);
        if (groups !== undefined && groups !== null) appendExpireGroups(locals as Record<string, unknown>, groups);
      } catch (error) {
        namingFailed(this.#settings, write, error, `the @ExpireGroups() function of ${DESCRIBER.where(req)}`);
        return result;
      }
    }
    // A handler that sends its response itself (@Res()) did so before its result reaches the interceptor.
    if (raw.headersSent) sentBeforeExpiry(this.#settings, DESCRIBER.where(req), SENT_FIRST);
    await expireWrite(this.#settings, locals.expireGroups, raw.statusCode, write);
    return result;
  }
}

/** How Express's response and Fastify's reply both spell what a held write needs. */
interface PlatformResponse {
  getHeaders(): OutgoingHttpHeaders;
  removeHeader(name: string): unknown;
}

/*
 * A write's response as Nest holds it until its expiry is recorded: Nest sends its handler's result once the
 * interceptors hand it on. The 503 of a failed expiry (a body of the cache's, as every adapter's) is written in place
 * of what Nest sends then, as a hit is: whatever the interceptors around it make of the result.
 */
function heldWrite(raw: ServerResponse, res: object, result: unknown, request: HeldWrite['request']): HeldWrite {
  const platform = res as PlatformResponse;
  return {
    request,
    body: result,
    sent: () => raw.headersSent,
    proceed: () => {},
    headerNames: () => Object.keys(platform.getHeaders()),
    removeHeader: (name) => platform.removeHeader(name),
    answer(status, contentType, body) {
      replayInstead(raw, { status, headers: [['Content-Type', contentType]], body: Buffer.from(body) }, platform.getHeaders());
    },
  };
}

Injectable()(GroupCacheInterceptor);
Injectable()(ExpireGroupsInterceptor);
for (const interceptor of [GroupCacheInterceptor, ExpireGroupsInterceptor]) {
  // Without GroupCacheModule, the process-wide default cache, as the other adapters' one-argument forms.
  Inject(SETTINGS)(interceptor, undefined, 0);
  Optional()(interceptor, undefined, 0);
}

function methodOf(descriptor: TypedPropertyDescriptor<unknown> | undefined, what: string): object {
  const handler = descriptor?.value;
  if (typeof handler !== 'function') throw new TypeError(`${what} decorates a method`);
  return handler;
}

/**
 * Caches a GET handler's whole response under the key its key function returns, tagged with its groups. It runs
 * as an interceptor: after the guards (a hit is never served to a request they refuse), before the handler and the
 * interceptors listed after it, which a hit skips.
 *
 * ```ts
 * @Get(':id')
 * @GroupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] }))
 * findOne(@Param('id') id: string) { ... }
 * ```
 * @param keyFn gets the platform's request; returns `{ key, groups?, ttl? }`, `[key, groups]`, a key string, or a
 *   falsy value to bypass the cache for this request. May be async. If it throws, the request is served uncached
 *   and the cache emits an `error` event.
 * @param options see {@link RouteOptions}; `cache` defaults to the module's (else the process-wide default).
 */
export function GroupCache<Req extends object = NestRequest>(
  keyFn: KeyFunction<Req>,
  options?: RouteOptions<Cache, Req>,
): MethodDecorator {
  checkRouteOptions(keyFn, options);
  if (options?.cache !== undefined) noteRoute(options.cache);
  const spec = { keyFn, options: options ?? {} } as RouteSpec;
  const intercept = UseInterceptors(GroupCacheInterceptor);
  return (target, key, descriptor) => {
    routeSpecs.set(methodOf(descriptor as TypedPropertyDescriptor<unknown>, '@GroupCache()'), spec);
    intercept(target, key, descriptor);
  };
}

/**
 * Expires groups once a write succeeds (2xx or 3xx by default), before Nest sends its response: the client's next
 * read never sees pre-write data. The groups are `groupsOf(req, result)`'s, with those the handler added
 * ({@link addExpireGroups}). On a controller, every route of it; a thrown handler expires nothing.
 */
export function ExpireGroups<Req extends object = NestRequest, Result = unknown>(
  groupsOf?: ExpireGroupsFunction<Req, Result>,
): MethodDecorator & ClassDecorator {
  if (groupsOf !== undefined && typeof groupsOf !== 'function') throw new TypeError('argument groupsOf must be a function');
  const intercept = UseInterceptors(ExpireGroupsInterceptor);
  return ((target: object, key?: string | symbol, descriptor?: TypedPropertyDescriptor<unknown>) => {
    const decorated = key === undefined ? target : methodOf(descriptor, '@ExpireGroups()');
    expirySpecs.set(decorated, groupsOf as ExpireGroupsFunction<object> | undefined);
    if (key === undefined) (intercept as ClassDecorator)(target as AnyFunction as unknown as new () => unknown);
    else (intercept as MethodDecorator)(target, key, descriptor as TypedPropertyDescriptor<unknown>);
  }) as MethodDecorator & ClassDecorator;
}

function settingsOf(options: GroupCacheModuleOptions = {}): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  const { cache: given, expire, ...cacheOptions } = options;
  if (given !== undefined && Object.keys(cacheOptions).length > 0) {
    throw new TypeError(
      `option cache is a cache already made: give it alone, or ${Object.keys(cacheOptions).join(', ')} without it`,
    );
  }
  const cache = given ?? createCache(cacheOptions);
  return { cache, expiry: writeExpiry({ ...expire, cache }), owned: given === undefined };
}

/**
 * The module that gives the app its cache: `GroupCacheModule.forRoot({ ttl: 60_000 })` in the root module's
 * imports. Global: every `@GroupCache()` and `@ExpireGroups()` uses its cache, which services inject as
 * `GroupCache` (the class from `group-cache`) or `@Inject(GROUP_CACHE)`. A cache it made is closed with the app.
 */
export class GroupCacheModule {
  readonly #settings: Settings;

  constructor(settings: Settings, host?: HttpAdapterHost) {
    this.#settings = settings;
    // A fill is dated from when its request entered the app: guards may read data before the cache's interceptor.
    const app: unknown = host?.httpAdapter?.getInstance();
    const platform = app as { addHook?: (...args: unknown[]) => unknown; use?: (...args: unknown[]) => unknown };
    if (typeof platform?.addHook === 'function') {
      platform.addHook('onRequest', (request: { raw: object }, _reply: unknown, done: () => void) => {
        markEntered(request.raw);
        done();
      });
    } else
      platform?.use?.((req: object, _res: unknown, next: () => void) => {
        markEntered(req);
        next();
      });
  }

  /** The module with a cache made from `options` (or the cache they give). */
  static forRoot(options?: GroupCacheModuleOptions): DynamicModule {
    const settings = settingsOf(options);
    return GroupCacheModule.#module({ provide: SETTINGS, useValue: settings }, []);
  }

  /** The module with options from a factory (configuration, say), resolved at start-up. */
  static forRootAsync(options: GroupCacheModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') throw new TypeError('option useFactory must be a function');
    const factory = options.useFactory as (...args: unknown[]) => GroupCacheModuleOptions | Promise<GroupCacheModuleOptions>;
    const provider = {
      provide: SETTINGS,
      useFactory: async (...args: unknown[]) => settingsOf(await factory(...args)),
      inject: options.inject ?? [],
    };
    return GroupCacheModule.#module(provider, options.imports ?? []);
  }

  static #module(settings: Provider, imports: ModuleMetadata['imports']): DynamicModule {
    return {
      module: GroupCacheModule,
      global: true,
      imports,
      providers: [
        settings,
        { provide: GROUP_CACHE, useFactory: (resolved: Settings) => resolved.cache, inject: [SETTINGS] },
        { provide: Cache, useExisting: GROUP_CACHE },
      ],
      exports: [SETTINGS, GROUP_CACHE, Cache],
    };
  }

  /** Nest calls it when the app closes: a cache the module made is closed with it. */
  async onApplicationShutdown(): Promise<void> {
    if (this.#settings.owned) await this.#settings.cache.close();
  }
}

Module({})(GroupCacheModule);
Inject(SETTINGS)(GroupCacheModule, undefined, 0);
Inject(HttpAdapterHost)(GroupCacheModule, undefined, 1);
Optional()(GroupCacheModule, undefined, 1);
