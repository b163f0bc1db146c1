/**
 * The `group-cache/opentelemetry` entry: a cache's lookups, fills, expiries, purges and store calls as OpenTelemetry
 * spans, and its decisions as metrics, through `@opentelemetry/api` (an optional peer dependency: only this entry
 * loads it). Attribute names follow OpenTelemetry's semantic conventions where they have one (`http.route`,
 * `http.request.method`, `error.type`, `db.system.name`, `db.operation.name`); the cache's own are under
 * `group_cache.`.
 */
import {
  type Attributes,
  type Context,
  type Counter,
  context,
  createContextKey,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { GroupCacheError } from '../lib/core/errors.js';
import { checkOptionNames } from '../lib/core/options.js';
import type {
  CacheOperation,
  CacheTelemetry,
  LookupOutcome,
  OperationInfo,
  OperationResult,
  TelemetryScope,
} from '../lib/engine/instrumentation.js';
import type { BypassReason, NotStoredReason } from '../lib/engine/reasons.js';

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /**
   * Put cache keys and group names on spans (`group_cache.key`, `group_cache.groups`, `group_cache.keys`). Keys may
   * hold user ids or other personal data, so default false. Metrics never carry them.
   */
  recordKeys?: boolean;
  /**
   * Most distinct routes given their own `http.route` value on metrics; later ones are counted under `other`, so a
   * framework that names a request by its path cannot grow the label set without bound. Default 200.
   */
  maxRoutes?: number;
}

const OPTION_NAMES = Object.keys({
  tracerProvider: true,
  meterProvider: true,
  recordKeys: true,
  maxRoutes: true,
} satisfies Record<keyof OpenTelemetryOptions, true>);
const NAME = 'group-cache';
// Durations in seconds (OpenTelemetry's unit for them); a hit takes microseconds, a Redis expiry milliseconds.
const BUCKETS = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// The context of the request a lookup ran for: a fill it starts is the lookup's sibling, not its child.
const OUTER = createContextKey('group-cache lookup parent');

interface Instruments {
  lookups: Counter;
  notStored: Counter;
  storeErrors: Counter;
  lookupDuration: Histogram;
  expiryDuration: Histogram;
}

function instruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(NAME);
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: BUCKETS } };
  return {
    lookups: meter.createCounter('group_cache.lookups', {
      description: 'Requests and data calls the cache decided on, by outcome (hit, miss, stale, bypass) and route',
      unit: '{lookup}',
    }),
    notStored: meter.createCounter('group_cache.not_stored', {
      description: 'Fills that ran and were not stored, by reason',
      unit: '{fill}',
    }),
    storeErrors: meter.createCounter('group_cache.store.errors', {
      description: 'Store calls that failed or timed out, by error code',
      unit: '{error}',
    }),
    lookupDuration: meter.createHistogram('group_cache.lookup.duration', {
      description: 'Time from a lookup to its decision (a hit, or the start of a fill)',
      ...seconds,
    }),
    expiryDuration: meter.createHistogram('group_cache.expiry.duration', {
      description: 'Time an expiry took to be recorded by the store',
      ...seconds,
    }),
  };
}

/** `GET /users/:id` as `http.request.method` and `http.route`; a data call (`getOrSet`) as `group_cache.source`. */
function whereAttributes(where: string): Attributes {
  const space = where.indexOf(' ');
  const method = space > 0 ? where.slice(0, space) : '';
  if (/^[A-Z]+$/.test(method)) return { 'http.request.method': method, 'http.route': where.slice(space + 1) };
  return { 'group_cache.source': where };
}

/** One running operation as a span, timed for its histogram. */
class SpanScope implements TelemetryScope {
  readonly #span: Span;
  readonly #context: Context;
  readonly #startedAt = performance.now();
  readonly #done: ((seconds: number, result: OperationResult | undefined, error: unknown) => void) | undefined;

  constructor(
    span: Span,
    parent: Context,
    done?: (seconds: number, result: OperationResult | undefined, error: unknown) => void,
  ) {
    this.#span = span;
    this.#context = trace.setSpan(parent, span).setValue(OUTER, parent);
    this.#done = done;
  }

  run<T>(fn: () => T): T {
    return context.with(this.#context, fn);
  }

  end(result?: OperationResult, error?: unknown): void {
    const span = this.#span;
    if (result?.outcome !== undefined) span.setAttribute('group_cache.outcome', result.outcome);
    if (result?.stored !== undefined) span.setAttribute('group_cache.stored', result.stored);
    if (error !== undefined) {
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      if (error instanceof Error) span.recordException(error);
    }
    span.end();
    this.#done?.((performance.now() - this.#startedAt) / 1000, result, error);
  }
}

function errorType(error: unknown): string {
  if (error instanceof GroupCacheError) return error.code;
  return error instanceof Error ? error.name : 'Error';
}

const SPAN_NAMES: Record<Exclude<CacheOperation, 'store'>, string> = {
  lookup: 'group_cache.lookup',
  fill: 'group_cache.fill',
  expire: 'group_cache.expire',
  purge: 'group_cache.purge',
};

/** See {@link openTelemetry}. */
class OpenTelemetryHooks implements CacheTelemetry {
  readonly #tracer: Tracer;
  readonly #instruments: Instruments;
  readonly #recordKeys: boolean;
  readonly #maxRoutes: number;
  // Attributes per `where`, made once: a route's counts reuse one object, and the set is bounded (maxRoutes).
  readonly #routes = new Map<string, Attributes>();

  constructor(options: OpenTelemetryOptions) {
    this.#tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(NAME);
    this.#instruments = instruments(options.meterProvider ?? metrics.getMeterProvider());
    this.#recordKeys = options.recordKeys ?? false;
    this.#maxRoutes = options.maxRoutes ?? 200;
  }

  #route(where: string): Attributes {
    let attributes = this.#routes.get(where);
    if (attributes === undefined) {
      attributes = this.#routes.size < this.#maxRoutes ? whereAttributes(where) : { 'http.route': 'other' };
      if (this.#routes.size < this.#maxRoutes) this.#routes.set(where, attributes);
    }
    return attributes;
  }

  start(operation: CacheOperation, info: OperationInfo): TelemetryScope {
    const active = context.active();
    if (operation === 'store') return this.#storeCall(info, active);
    // A fill starts inside its lookup's scope: it belongs to the request, beside the lookup.
    const parent = operation === 'fill' ? ((active.getValue(OUTER) as Context | undefined) ?? active) : active;
    const attributes: Attributes = info.where === undefined ? {} : { ...this.#route(info.where) };
    if (this.#recordKeys) {
      if (info.key !== undefined) attributes['group_cache.key'] = info.key;
      if (info.groups !== undefined && info.groups.length > 0) attributes['group_cache.groups'] = [...info.groups];
      if (info.keys !== undefined && info.keys.length > 0) attributes['group_cache.keys'] = [...info.keys];
    }
    if (operation === 'expire') attributes['group_cache.expire.count'] = (info.groups?.length ?? 0) + (info.keys?.length ?? 0);
    const span = this.#tracer.startSpan(SPAN_NAMES[operation], { kind: SpanKind.INTERNAL, attributes }, parent);
    return new SpanScope(span, parent, this.#timer(operation, info));
  }

  #timer(operation: CacheOperation, info: OperationInfo): ConstructorParameters<typeof SpanScope>[2] {
    const { lookupDuration, expiryDuration } = this.#instruments;
    if (operation === 'lookup') {
      const route = info.where === undefined ? {} : this.#route(info.where);
      return (seconds, result) => lookupDuration.record(seconds, { ...route, 'group_cache.outcome': result?.outcome ?? 'error' });
    }
    if (operation === 'expire') {
      return (seconds, _result, error) =>
        expiryDuration.record(seconds, error === undefined ? {} : { 'error.type': errorType(error) });
    }
    return undefined;
  }

  // A store call: a client span when the store is Redis (db.* conventions), an internal one otherwise.
  #storeCall(info: OperationInfo, parent: Context): TelemetryScope {
    const redis = info.store === 'redis' || info.store === 'tiered';
    const attributes: Attributes = { 'db.operation.name': info.method ?? 'call', 'group_cache.store': info.store ?? 'store' };
    if (redis) attributes['db.system.name'] = 'redis';
    const span = this.#tracer.startSpan(
      `group_cache.store ${info.method ?? 'call'}`,
      { kind: redis ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes },
      parent,
    );
    return new SpanScope(span, parent);
  }

  outcome(outcome: LookupOutcome, where: string, reason?: BypassReason): void {
    const route = this.#route(where);
    const attributes =
      reason === undefined
        ? { ...route, 'group_cache.outcome': outcome }
        : { ...route, 'group_cache.outcome': outcome, 'group_cache.reason': reason };
    this.#instruments.lookups.add(1, attributes);
  }

  notStored(reason: NotStoredReason, where: string): void {
    this.#instruments.notStored.add(1, { ...this.#route(where), 'group_cache.reason': reason });
  }

  storeError(code: string): void {
    this.#instruments.storeErrors.add(1, { 'error.type': code });
  }
}

/**
 * A telemetry integration for `createCache({ telemetry: openTelemetry() })`: spans `group_cache.lookup`,
 * `group_cache.fill`, `group_cache.expire`, `group_cache.purge` and `group_cache.store <method>` (children of the
 * active span: the HTTP server span of an instrumented app), and the metrics `group_cache.lookups`,
 * `group_cache.not_stored`, `group_cache.store.errors`, `group_cache.lookup.duration` and
 * `group_cache.expiry.duration`. With no OpenTelemetry SDK registered the API's no-op providers record nothing.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): CacheTelemetry {
  if (typeof options !== 'object' || options === null) throw new TypeError('argument options must be an object');
  checkOptionNames(options, OPTION_NAMES, 'openTelemetry()');
  const { maxRoutes } = options;
  if (maxRoutes !== undefined && !(Number.isInteger(maxRoutes) && maxRoutes >= 0))
    throw new TypeError(`option maxRoutes must be an integer >= 0, got ${String(maxRoutes)}`);
  return new OpenTelemetryHooks(options);
}
