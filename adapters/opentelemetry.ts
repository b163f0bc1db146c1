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
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
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

function instruments(meter: Meter): Instruments {
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

/** A route's attributes, made once: alone, with each outcome, and with each reason (reasons are a fixed set). */
class RouteAttributes {
  readonly base: Attributes;
  readonly outcomes: Record<LookupOutcome, Attributes>;
  readonly #reasons = new Map<string, Attributes>();

  constructor(base: Attributes) {
    this.base = base;
    const outcome = (name: LookupOutcome): Attributes => ({ ...base, 'group_cache.outcome': name });
    this.outcomes = { hit: outcome('hit'), miss: outcome('miss'), stale: outcome('stale'), bypass: outcome('bypass') };
  }

  /** With a reason: a bypass's (`outcome`) or a fill's not stored (no outcome). */
  reason(reason: string, outcome?: LookupOutcome): Attributes {
    const key = `${outcome ?? ''} ${reason}`;
    let attributes = this.#reasons.get(key);
    if (attributes === undefined) {
      attributes = { ...(outcome === undefined ? this.base : this.outcomes[outcome]), 'group_cache.reason': reason };
      this.#reasons.set(key, attributes);
    }
    return attributes;
  }
}

type Timed = (seconds: number, result: OperationResult | undefined, error: unknown) => void;

// An operation no tracer records and no meter times: what every operation costs with the API alone.
const QUIET: TelemetryScope = { run: (fn) => fn(), end: () => {} };

/** An operation no tracer records, timed for its histogram. */
class TimedScope implements TelemetryScope {
  readonly #startedAt = performance.now();
  readonly #done: Timed;

  constructor(done: Timed) {
    this.#done = done;
  }

  run<T>(fn: () => T): T {
    return fn();
  }

  end(result?: OperationResult, error?: unknown): void {
    this.#done((performance.now() - this.#startedAt) / 1000, result, error);
  }
}

/** One running operation as a recording span, timed for its histogram when there is one. */
class SpanScope implements TelemetryScope {
  readonly #span: Span;
  readonly #context: Context;
  readonly #startedAt = performance.now();
  readonly #done: Timed | undefined;

  constructor(span: Span, parent: Context, done: Timed | undefined) {
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

// What the API's global tracer provider delegates to until an SDK registers one.
const NO_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
// The API's no-op meter: metrics are off for good (the metrics API has no proxy that an SDK registered later fills).
const NOOP_METER = createNoopMeter().constructor;

/** See {@link openTelemetry}. */
class OpenTelemetryHooks implements CacheTelemetry {
  readonly #tracer: Tracer;
  /** The API's global provider when spans go there: an SDK may register behind it at any time. */
  readonly #proxy: ProxyTracerProvider | undefined;
  /** Undefined when the meter provider is the API's no-op one: nothing is counted or timed. */
  readonly #instruments: Instruments | undefined;
  readonly #recordKeys: boolean;
  readonly #maxRoutes: number;
  // Attributes per `where`, made once: a route's counts reuse them, and the set is bounded (maxRoutes).
  readonly #routes = new Map<string, RouteAttributes>();
  readonly #other = new RouteAttributes({ 'http.route': 'other' });

  constructor(options: OpenTelemetryOptions) {
    const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    this.#tracer = tracerProvider.getTracer(NAME);
    this.#proxy = tracerProvider instanceof ProxyTracerProvider ? tracerProvider : undefined;
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(NAME);
    this.#instruments = meter instanceof NOOP_METER ? undefined : instruments(meter);
    this.#recordKeys = options.recordKeys ?? false;
    this.#maxRoutes = options.maxRoutes ?? 200;
  }

  #route(where: string): RouteAttributes {
    let attributes = this.#routes.get(where);
    if (attributes === undefined) {
      if (this.#routes.size >= this.#maxRoutes) return this.#other;
      attributes = new RouteAttributes(whereAttributes(where));
      this.#routes.set(where, attributes);
    }
    return attributes;
  }

  // With the API alone (no SDK registered, no meter), nothing would record: the engine then skips the operation.
  enabled(operation: CacheOperation): boolean {
    const proxy = this.#proxy;
    if (proxy === undefined || proxy.getDelegate() !== NO_TRACER_PROVIDER) return true;
    return this.#instruments !== undefined && (operation === 'lookup' || operation === 'expire');
  }

  start(operation: CacheOperation, info: OperationInfo): TelemetryScope {
    const active = context.active();
    if (operation === 'store') return this.#storeCall(info, active);
    // A fill starts inside its lookup's scope: it belongs to the request, beside the lookup.
    const parent = operation === 'fill' ? ((active.getValue(OUTER) as Context | undefined) ?? active) : active;
    const span = this.#tracer.startSpan(SPAN_NAMES[operation], { kind: SpanKind.INTERNAL }, parent);
    const done = this.#timer(operation, info);
    if (!span.isRecording()) return done === undefined ? QUIET : new TimedScope(done);
    span.setAttributes(this.#attributes(operation, info));
    return new SpanScope(span, parent, done);
  }

  #attributes(operation: CacheOperation, info: OperationInfo): Attributes {
    const attributes: Attributes = info.where === undefined ? {} : { ...this.#route(info.where).base };
    if (this.#recordKeys) {
      if (info.key !== undefined) attributes['group_cache.key'] = info.key;
      if (info.groups !== undefined && info.groups.length > 0) attributes['group_cache.groups'] = [...info.groups];
      if (info.keys !== undefined && info.keys.length > 0) attributes['group_cache.keys'] = [...info.keys];
    }
    if (operation === 'expire') attributes['group_cache.expire.count'] = (info.groups?.length ?? 0) + (info.keys?.length ?? 0);
    return attributes;
  }

  #timer(operation: CacheOperation, info: OperationInfo): Timed | undefined {
    const meters = this.#instruments;
    if (meters === undefined) return undefined;
    if (operation === 'lookup') {
      const route = info.where === undefined ? undefined : this.#route(info.where);
      return (seconds, result) => {
        const outcome = result?.outcome;
        const attributes =
          outcome === undefined
            ? { 'group_cache.outcome': 'error' }
            : (route?.outcomes[outcome] ?? { 'group_cache.outcome': outcome });
        meters.lookupDuration.record(seconds, attributes);
      };
    }
    if (operation === 'expire') {
      return (seconds, _result, error) =>
        meters.expiryDuration.record(seconds, error === undefined ? {} : { 'error.type': errorType(error) });
    }
    return undefined;
  }

  // A store call: a client span when the store is Redis (db.* conventions), an internal one otherwise.
  #storeCall(info: OperationInfo, parent: Context): TelemetryScope {
    const method = info.method ?? 'call';
    const redis = info.store === 'redis' || info.store === 'tiered';
    const kind = redis ? SpanKind.CLIENT : SpanKind.INTERNAL;
    const span = this.#tracer.startSpan(`group_cache.store ${method}`, { kind }, parent);
    if (!span.isRecording()) return QUIET;
    span.setAttributes({ 'db.operation.name': method, 'group_cache.store': info.store ?? 'store' });
    if (redis) span.setAttribute('db.system.name', 'redis');
    return new SpanScope(span, parent, undefined);
  }

  outcome(outcome: LookupOutcome, source: { readonly where: string }, reason?: BypassReason): void {
    const meters = this.#instruments;
    if (meters === undefined) return;
    const route = this.#route(source.where);
    meters.lookups.add(1, reason === undefined ? route.outcomes[outcome] : route.reason(reason, outcome));
  }

  notStored(reason: NotStoredReason, where: string): void {
    this.#instruments?.notStored.add(1, this.#route(where).reason(reason));
  }

  storeError(code: string): void {
    this.#instruments?.storeErrors.add(1, { 'error.type': code });
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
