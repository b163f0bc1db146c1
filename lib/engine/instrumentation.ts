/*
 * The hooks a telemetry integration gets (`createCache({ telemetry })`, e.g. `openTelemetry()` from
 * `group-cache/opentelemetry`): an operation per lookup, fill, expiry, purge and store call, which an integration
 * turns into spans and latency histograms, and a count per decision. With no `telemetry` the engine calls none of
 * this: a hit then reads one field more.
 */
import { isPromiseLike } from '../core/promise.js';
import type { CacheStore, MaybePromise } from '../stores/contract.js';
import type { Acquired, AcquireRequest } from './fill.js';
import type { BypassReason, NotStoredReason } from './reasons.js';

/** The engine's operations, each one span: `store` is one call of a store method. */
export type CacheOperation = 'lookup' | 'fill' | 'expire' | 'purge' | 'store';

/** A lookup's outcome as `stats()` counts it: `bypass` also counts requests that never reached a lookup. */
export type LookupOutcome = 'hit' | 'miss' | 'stale' | 'bypass';

/** What an operation is about, as far as the engine knows it when the operation starts. */
export interface OperationInfo {
  /** `GET /users/:id` for a route, `getOrSet` or `wrap(name)` for the data API (a lookup's is read on demand). */
  readonly where?: string;
  key?: string;
  groups?: readonly string[];
  keys?: readonly string[];
  /** For `store`: the method called (`get`, `set`, `expire`, ...) and the store's name (`memory`, `redis`, `tiered`). */
  method?: string;
  store?: string;
}

/** How an operation ended: a lookup's outcome, whether a fill was stored. */
export interface OperationResult {
  outcome?: LookupOutcome;
  stored?: boolean;
}

/** One running operation. */
export interface TelemetryScope {
  /** Runs `fn` with this operation as the current one (store calls made inside become its children). */
  run<T>(fn: () => T): T;
  /** Ends it, with how it ended, or the error it failed with. */
  end(result?: OperationResult, error?: unknown): void;
}

/**
 * What a cache tells a telemetry integration (`createCache({ telemetry })`). `group-cache/opentelemetry` implements
 * it; another tracer or metrics library can too.
 */
export interface CacheTelemetry {
  /**
   * Optional: false when `start(operation)` would record nothing now (no tracer and no meter listens), so the engine
   * skips the operation's bookkeeping. Asked before every operation; default true.
   */
  enabled?(operation: CacheOperation): boolean;
  /** An operation starts; it ends when the engine calls the scope's `end`. */
  start(operation: CacheOperation, info: OperationInfo): TelemetryScope;
  /**
   * A decision, counted as `stats()` counts it (a bypass with its reason). `source.where` names the route (`GET
   * /users/:id`): read it only when needed, since an adapter may work it out on demand.
   */
  outcome(outcome: LookupOutcome, source: { readonly where: string }, reason?: BypassReason): void;
  /** A fill that ran and was not stored, by reason. */
  notStored(reason: NotStoredReason, where: string): void;
  /** A store call that failed or timed out (`ESTORE`, `ETIMEOUT`, `EEXPIRE`, `EEXPIREDROPPED`). */
  storeError(code: string): void;
}

/** Runs `run` (a value or a promise) as `scope`, ending it when the value is there. */
export function traced<T>(
  scope: TelemetryScope,
  run: () => MaybePromise<T>,
  result?: (value: T) => OperationResult,
): MaybePromise<T> {
  let value: MaybePromise<T>;
  try {
    value = scope.run(run);
  } catch (error) {
    scope.end(undefined, error);
    throw error;
  }
  if (!isPromiseLike(value)) {
    scope.end(result?.(value));
    return value;
  }
  return Promise.resolve(value).then(
    (settled) => {
      scope.end(result?.(settled));
      return settled;
    },
    (error: unknown) => {
      scope.end(undefined, error);
      throw error;
    },
  );
}

/** A lookup as an operation; a fill it starts is one more, which ends when the fill is stored or given up. */
export function tracedLookup(
  telemetry: CacheTelemetry,
  request: AcquireRequest,
  run: () => Acquired | Promise<Acquired>,
): Acquired | Promise<Acquired> {
  const { source, key } = request;
  const scope = telemetry.start('lookup', {
    get where() {
      return source.where;
    },
    key,
  });
  return traced(scope, run, (acquired) => {
    if (acquired.type === 'fill' && telemetry.enabled?.('fill') !== false) {
      const fill = telemetry.start('fill', { where: source.where, key, groups: request.groups });
      acquired.fill.whenSettled((stored) => fill.end({ stored }));
    }
    // A `vary` answer decides nothing: the caller asks again, and that lookup has the outcome.
    return acquired.type === 'vary' ? {} : { outcome: outcomeOf(acquired) };
  });
}

function outcomeOf(acquired: Exclude<Acquired, { type: 'vary' }>): LookupOutcome {
  switch (acquired.type) {
    case 'fill':
      return 'miss';
    case 'pass':
      return acquired.reason === 'HEAD miss' ? 'miss' : 'bypass';
    default:
      return acquired.type;
  }
}

const TRACED_METHODS: ReadonlySet<PropertyKey> = new Set([
  'get',
  'set',
  'expire',
  'delete',
  'clear',
  'peek',
  'lockFill',
  'unlockFill',
]);

/**
 * The store with each call of a contract method made an operation (`store`). Every other member (a store's own
 * methods, `processClock`, `name`) reads through, methods bound to the store itself (its private fields need it).
 */
export function tracedStore(store: CacheStore, telemetry: CacheTelemetry): CacheStore {
  // One wrapper per method, made again when the store's method is replaced (a test's interceptor, a chaos wrapper).
  const made = new Map<PropertyKey, { method: unknown; wrapper: unknown }>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const known = made.get(property);
      if (known !== undefined && known.method === value) return known.wrapper;
      const method = value as (...args: unknown[]) => MaybePromise<unknown>;
      const wrapper = TRACED_METHODS.has(property)
        ? (...args: unknown[]) =>
            telemetry.enabled?.('store') === false
              ? method.apply(target, args)
              : traced(telemetry.start('store', { method: String(property), store: target.name }), () =>
                  method.apply(target, args),
                )
        : method.bind(target);
      made.set(property, { method: value, wrapper });
      return wrapper;
    },
  });
}
