/*
 * `@cached({ key, groups, ttl })`: the seed's decorator, a class method whose results are cached by the data API
 * (`getOrSet`), on the same stores, groups, expiry records and fill stamps as everything else of the cache.
 *
 * One function serves both decorator protocols TypeScript compiles to: the standard one (TS 5+, no flag: the method
 * and a context object) and `experimentalDecorators` (what NestJS projects use: the prototype, the name and the
 * property descriptor). Either way the method is replaced by one that returns a Promise, since a lookup may wait for
 * a store; its types refuse a method whose declared return type a Promise does not fit.
 */
import { performance } from 'node:perf_hooks';
import { describeValue } from '../core/describe-value.js';
import { GroupCacheError } from '../core/errors.js';
import { normalizeGroups } from '../core/key-function.js';
import { checkOptionNames, ttlOption } from '../core/options.js';
import type { GroupCache } from './cache.js';
import { type DataKeyResult, type DataSettings, dataKeySpec, dataSettings, load } from './data-cache.js';
import { defaultCache } from './default-cache.js';
import { type SerializerOption, serializerOption } from './value-codec.js';

/** What a `groups` function returns: a group name or a list of them. */
export type CachedGroups = string | readonly string[];

/** Options of `@cached()`. Every duration is in milliseconds. */
export interface CachedOptions<This = unknown, Args extends unknown[] = unknown[]> {
  /**
   * The cache key of a call, from the method's arguments (called with the method's `this`; may be async): a key
   * string, `{ key, groups?, ttl? }`, or a falsy value to run the method uncached. Required.
   */
  key: (this: This, ...args: Args) => DataKeyResult | Promise<DataKeyResult>;
  /** The groups of a call's value: a list, or a function of the method's arguments that returns one. Default none. */
  groups?: CachedGroups | ((this: This, ...args: Args) => CachedGroups | Promise<CachedGroups>);
  /** Lifetime of a value. Default: the cache's `ttl`. */
  ttl?: number;
  /** How long past its TTL a value is still returned while one call refreshes it in the background. Default 0. */
  staleWhileRevalidate?: number;
  /** How values are stored: `'json'`, `'v8'` or a `Serializer`. Default: the cache's. */
  serializer?: SerializerOption;
  /** The cache to use. Default: the process-wide default cache (`defaultCache()`), taken at the first call. */
  cache?: GroupCache;
}

/*
 * A method whose declared return type a Promise fits (`Promise<T>`, `T | Promise<T>`) passes; any other gets this
 * property to miss, whose name is the compile error's message (experimentalDecorators: the standard protocol checks
 * the replacement's own type, and says that it returns a Promise).
 */
type ReturnsPromise<R> =
  Promise<Awaited<R>> extends R
    ? unknown
    : { 'a @cached method returns a Promise: declare it async, or its return type MaybePromise<T>': R };

/**
 * The decorator `cached()` returns, for TypeScript's standard decorators (TS 5+) and for `experimentalDecorators`.
 * The method's arguments must fit the key function's; it is replaced by one that resolves to the same value.
 */
export interface CachedDecorator<This, Args extends unknown[]> {
  <T extends This, A extends [...Args, ...unknown[]], R>(
    method: (this: T, ...args: A) => R,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => R>,
  ): (this: T, ...args: A) => Promise<Awaited<R>>;
  <T extends This, A extends [...Args, ...unknown[]], R>(
    target: T,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<(this: T, ...args: A) => R> & ReturnsPromise<R>,
  ): void;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
type ArgsFunction<R> = (this: unknown, ...args: unknown[]) => R | Promise<R>;

/** The validated options of one `@cached()`. */
interface CachedPlan {
  key: ArgsFunction<unknown>;
  groups: ArgsFunction<unknown> | undefined;
  /** What `dataSettings` reads once the cache is known: ttl, staleWhileRevalidate, serializer, fixed groups. */
  data: Record<string, unknown>;
  cache: GroupCache | undefined;
}

const OPTION_NAMES = Object.keys({
  key: true,
  groups: true,
  ttl: true,
  staleWhileRevalidate: true,
  serializer: true,
  cache: true,
} satisfies Record<keyof CachedOptions, true>);

function cachedPlan(options: unknown): CachedPlan {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`@cached() takes an options object { key, groups?, ttl? }, got ${describeValue(options)}`);
  }
  checkOptionNames(options, OPTION_NAMES, '@cached()');
  const raw = options as Record<string, unknown>;
  if (typeof raw.key !== 'function') {
    throw new TypeError(`option key of @cached() must be a function of the method's arguments, got ${describeValue(raw.key)}`);
  }
  const cache = raw.cache;
  if (
    cache !== undefined &&
    (typeof cache !== 'object' || cache === null || typeof (cache as GroupCache).getOrSet !== 'function')
  ) {
    throw new TypeError(`option cache of @cached() must be a cache made by createCache(), got ${describeValue(cache)}`);
  }
  const data: Record<string, unknown> = {};
  // Checked now, at class definition, so that a typo fails at start-up rather than at the first call.
  if (raw.ttl !== undefined) data.ttl = ttlOption(raw, 'ttl', 0);
  if (raw.staleWhileRevalidate !== undefined) data.staleWhileRevalidate = ttlOption(raw, 'staleWhileRevalidate', 0);
  if (raw.serializer !== undefined) data.serializer = serializerOption(raw.serializer, 'serializer');
  const groups = raw.groups;
  if (typeof groups !== 'function' && groups !== undefined) data.groups = normalizeGroups(groups, 'option groups', Infinity);
  return {
    key: raw.key as ArgsFunction<unknown>,
    groups: typeof groups === 'function' ? (groups as ArgsFunction<unknown>) : undefined,
    data,
    cache: cache as GroupCache | undefined,
  };
}

/** `Class.method` for messages, from the `this` of a call (the class itself for a static method). */
function ownerName(self: unknown, method: string): string {
  const owner = typeof self === 'function' ? self : (self as { constructor?: { name?: unknown } } | undefined)?.constructor;
  const name = (owner as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `${name}.${method}` : method;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function keyError(part: string, message: string, cause?: unknown): GroupCacheError {
  return new GroupCacheError('EKEYFUNCTION', `${part} ${message}`, { cause });
}

/** Calls one of the app's functions; what it throws becomes an `EKEYFUNCTION` that names the function. */
async function called(part: string, fn: ArgsFunction<unknown>, self: unknown, args: unknown[]): Promise<unknown> {
  try {
    return await fn.apply(self, args);
  } catch (error) {
    throw keyError(part, `threw: ${messageOf(error)}`, error);
  }
}

/** Reads what one of the app's functions returned; junk becomes an `EKEYFUNCTION` that names the function and value. */
function parsed<R>(part: string, value: unknown, parse: (value: unknown) => R): R {
  try {
    return parse(value);
  } catch (error) {
    // The key spec's own errors already say what was returned.
    const message = error instanceof GroupCacheError ? error.message : `returned ${describeValue(value)}: ${messageOf(error)}`;
    throw keyError(part, message, error);
  }
}

/** A call's key and settings, or undefined to run it uncached; throws `EKEYFUNCTION` saying what was wrong. */
async function callPlan(plan: CachedPlan, cache: GroupCache, base: DataSettings, self: unknown, args: unknown[]) {
  const max = cache.maxGroups;
  const key = await called('key function', plan.key, self, args);
  const spec = parsed('key function', key, (value) => dataKeySpec(value, max));
  if (spec === undefined) return undefined;
  let own: string[] = [];
  if (plan.groups !== undefined) {
    const value = await called('groups function', plan.groups, self, args);
    own = parsed('groups function', value, (groups) => normalizeGroups(groups, 'groups', max));
  }
  let groups = base.groups;
  if (own.length > 0 || spec.groups.length > 0) {
    try {
      groups = normalizeGroups([...base.groups, ...own, ...spec.groups], 'the groups of the call', max);
    } catch (error) {
      throw keyError('key and groups functions:', messageOf(error), error);
    }
  }
  return { key: spec.key, settings: { ...base, groups, ttl: spec.ttl ?? base.ttl } };
}

/** The method that replaces `method`: its results cached under the plan's keys. */
function cachedMethod(method: Method, plan: CachedPlan, name: string): Method {
  let cache: GroupCache | undefined;
  let base: DataSettings | undefined;
  let where: string | undefined;
  const replacement = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const enteredAt = performance.now(); // first: whatever the method reads is read after it
    cache ??= plan.cache ?? defaultCache();
    base ??= dataSettings(cache, plan.data, '@cached()');
    const run = async (): Promise<unknown> => await method.apply(this, args);
    where ??= `@cached ${ownerName(this, name)}`;
    let call: Awaited<ReturnType<typeof callPlan>>;
    try {
      call = await callPlan(plan, cache, base, this, args);
    } catch (error) {
      // As for routes and wrap(): reported, and the method runs uncached (its caller loses nothing).
      const failure = error as GroupCacheError;
      const details = { ...failure.details, where };
      cache.report(
        new GroupCacheError('EKEYFUNCTION', `${where}: ${failure.message}`, { cause: failure.cause ?? failure, details }),
      );
      cache.recordBypass('key function error', where);
      return run();
    }
    if (call === undefined) {
      cache.recordBypass('no key', where);
      return run();
    }
    return load(cache, call.key, run, call.settings, enteredAt, where);
  };
  Object.defineProperty(replacement, 'name', { value: method.name });
  copyMetadata(method, replacement);
  return replacement;
}

interface MetadataReflect {
  getOwnMetadataKeys(target: object): unknown[];
  getOwnMetadata(key: unknown, target: object): unknown;
  defineMetadata(key: unknown, value: unknown, target: object): void;
}

/*
 * Metadata other decorators put on the method itself (reflect-metadata: NestJS's route and guard decorators do)
 * moves to the replacement, whichever order the decorators run in.
 */
function copyMetadata(from: Method, to: Method): void {
  const reflect = Reflect as Partial<MetadataReflect>;
  if (typeof reflect.getOwnMetadataKeys !== 'function' || typeof reflect.defineMetadata !== 'function') return;
  const api = reflect as MetadataReflect;
  for (const key of api.getOwnMetadataKeys(from)) api.defineMetadata(key, api.getOwnMetadata(key, from), to);
}

function isStandardContext(value: unknown): value is DecoratorContext {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * A method decorator: the method's results cached by `getOrSet`, keyed by `key(...args)`, in `groups`. Works with
 * TypeScript's standard decorators and with `experimentalDecorators`, on static and instance methods, keeping
 * `this`. The decorated method always returns a Promise of the value (a synchronous method too: declare it async,
 * or its return type `MaybePromise<T>`). A key or groups function that throws or returns junk is reported
 * (`EKEYFUNCTION`) and the method runs uncached; a falsy key runs it uncached. Expire with the cache's
 * `expireGroups()` / `expireKey()`.
 *
 * ```ts
 * class Users {
 *   @cached({ key: (id: string) => `user_${id}`, groups: (id: string) => [`user_group_${id}`, 'users'] })
 *   async get(id: string): Promise<User> { ... }
 * }
 * ```
 */
export function cached<This = unknown, Args extends unknown[] = []>(
  options: CachedOptions<This, Args>,
): CachedDecorator<This, Args> {
  const plan = cachedPlan(options);
  const decorate = (method: unknown, context: unknown, descriptor?: PropertyDescriptor): unknown => {
    if (isStandardContext(context)) {
      if (context.kind !== 'method' || typeof method !== 'function') {
        throw new TypeError(`@cached() decorates methods, not a ${context.kind} (${String(context.name ?? 'class')})`);
      }
      return cachedMethod(method as Method, plan, String(context.name));
    }
    const name = typeof context === 'symbol' ? context.toString() : String(context);
    if (descriptor === undefined || typeof descriptor.value !== 'function') {
      const what = descriptor?.get || descriptor?.set ? 'an accessor' : 'a property';
      throw new TypeError(`@cached() decorates methods, not ${what} (${name})`);
    }
    descriptor.value = cachedMethod(descriptor.value as Method, plan, name);
    return descriptor;
  };
  return decorate as CachedDecorator<This, Args>;
}
