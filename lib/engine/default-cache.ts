import { GroupCacheError } from '../core/errors.js';
import { createCache, type GroupCache } from './cache.js';

/*
 * Process-wide state, kept on `globalThis` so that it is one per process even if both the ESM and the CommonJS
 * build of this package get loaded: the default cache, and which caches have routes reading from them.
 */
const SLOT = Symbol.for('group-cache.process');
interface ProcessState {
  cache?: GroupCache;
  /** True once a route or middleware took the default: replacing it then would split the app in two. */
  taken: boolean;
  routed: WeakSet<GroupCache>;
  routedCount: number;
  warned: WeakSet<GroupCache>;
  misused?: WeakSet<object>;
  /** True once an `expireGroups()` middleware (or plugin) was made, for any cache. */
  expiryMade?: boolean;
  /** True once a route reported that none was. */
  expiryMissed?: boolean;
}
type Holder = { [SLOT]?: ProcessState };

function state(): ProcessState {
  const holder = globalThis as Holder;
  holder[SLOT] ??= { taken: false, routed: new WeakSet(), routedCount: 0, warned: new WeakSet() };
  return holder[SLOT];
}

/**
 * The process-wide cache that `groupCache` and `expireGroups` share when they are given no `cache` option: the
 * one given to {@link setDefaultCache}, or else an in-memory store of 64 MiB, entries kept 60 s.
 */
export function defaultCache(): GroupCache {
  const current = state();
  current.taken = true;
  current.cache ??= createCache();
  return current.cache;
}

/**
 * Makes `cache` the process-wide default, so that no `groupCache()` or `expireGroups()` needs a `cache` option
 * (and none can be forgotten). Call it once at start-up, before any of them is created.
 *
 * ```js
 * setDefaultCache(createCache({ store: redisStore({ client }) }));
 * ```
 */
export function setDefaultCache(cache: GroupCache): void {
  if (typeof cache !== 'object' || cache === null || typeof cache.expireGroups !== 'function') {
    throw new TypeError('argument cache must be a cache made by createCache()');
  }
  const current = state();
  if (current.taken && current.cache !== cache) {
    throw new TypeError(
      'setDefaultCache() was called after a groupCache() or expireGroups() already took the default cache: ' +
        'call it once at start-up, before creating them',
    );
  }
  current.cache = cache;
}

/** Notes that a route reads from `cache`. */
export function noteRoute(cache: GroupCache): void {
  const current = state();
  if (current.routed.has(cache)) return;
  current.routed.add(cache);
  current.routedCount++;
}

/** Notes that an `expireGroups()` middleware (or plugin) was made. */
export function noteExpiryMiddleware(): void {
  state().expiryMade = true;
}

/*
 * A write's groups are only ever expired by an expireGroups() middleware: an app that caches routes and never made
 * one serves pre-write data after every write that names groups, silently. Nothing of ours runs on those writes to
 * see it, so the absence is what is checked, on a route's first miss (the app's middleware is made by then; a hit
 * never pays for it), once per process, unless the route's cache says `expireFromCodeOnly`. One made for another
 * cache than the routes' is reported when it expires (checkExpiryTarget), one mounted after the routes by the
 * adapters' mount-order checks.
 */
export function checkExpiryMiddleware(cache: GroupCache, where: string): void {
  const current = state();
  if (cache.expireFromCodeOnly || current.expiryMade === true || current.expiryMissed === true) return;
  current.expiryMissed = true;
  reportMisuse(
    cache,
    cache,
    `groupCache() on ${where} caches responses, but this process made no expireGroups() middleware: groups a write names in ` +
      "res.locals.expireGroups (Koa: ctx.state.expireGroups, Fastify: reply.expireGroups, Hono: c.set('expireGroups')) " +
      'are never expired, and ' +
      'reads keep serving what they cached before the write. Mount app.use(expireGroups()) before the routes ' +
      "(Fastify: await app.register(expireGroups())), with the routes' { cache } if they have one. An app that " +
      'expires only from code (cache.expireGroups()) or by TTL says so with createCache({ expireFromCodeOnly: true }).',
  );
}

/**
 * Warns, once per cache, when a write expires groups on a cache that no route reads from while another cache has
 * routes: the classic `expireGroups({ cache })` beside a `groupCache()` that forgot its `{ cache }`.
 */
export function checkExpiryTarget(cache: GroupCache): void {
  const current = state();
  if (current.routedCount === 0 || current.routed.has(cache) || current.warned.has(cache)) return;
  current.warned.add(cache);
  process.emitWarning(
    'expireGroups() expired groups on a cache that no groupCache() route reads from, while other caches have ' +
      'routes: the routes never see this expiry. Pass the same { cache } to both, or set it once with setDefaultCache().',
    'GroupCacheWarning',
    'EMISUSE',
  );
}

/**
 * Reports a set-up that cannot work, once per `app` (any object identifying it): an `error` event on `cache` with
 * code `EMISUSE`, and a process warning, since such a mistake otherwise shows only as stale data.
 */
export function reportMisuse(cache: GroupCache, app: object, message: string): void {
  const current = state();
  current.misused ??= new WeakSet();
  if (current.misused.has(app)) return;
  current.misused.add(app);
  cache.report(new GroupCacheError('EMISUSE', message));
  process.emitWarning(message, 'GroupCacheWarning', 'EMISUSE');
}
