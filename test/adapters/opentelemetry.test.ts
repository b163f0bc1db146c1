/*
 * group-cache/opentelemetry through a real Express app, recorded by the OpenTelemetry SDK's in-memory exporters:
 * the spans (lookup, fill, expiry, purge, store calls) with their parents and attributes, and the metrics
 * (lookups by outcome and route, not stored by reason, latency histograms, store errors).
 */
import { context, type Span, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { expect } from 'chai';
import express5 from 'express';
import fastify from 'fastify';
import { type CacheStore, createCache, type GroupCache } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/express';
import { openTelemetry } from 'group-cache/opentelemetry';
import Koa from 'koa';
import { expressDriver } from '../drivers/express.js';
import { fastifyDriver } from '../drivers/fastify.js';
import { koaDriver } from '../drivers/koa.js';
import { adapterConformance } from '../helpers/adapter-conformance.js';
import { express, request } from '../helpers/express-app.js';

interface Recorded {
  spans: InMemorySpanExporter;
  exporter: InMemoryMetricExporter;
  reader: PeriodicExportingMetricReader;
  tracerProvider: NodeTracerProvider;
  meterProvider: MeterProvider;
}

function recorder(): Recorded {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { spans, exporter, reader, tracerProvider, meterProvider };
}

/** The data points of metric `name`, from a fresh collection. */
async function points(recorded: Recorded, name: string): Promise<DataPoint<number | Histogram>[]> {
  recorded.exporter.reset();
  await recorded.reader.forceFlush();
  const found = recorded.exporter
    .getMetrics()
    .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
    .filter((metric) => metric.descriptor.name === name);
  return found.flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[]);
}

function sum(list: DataPoint<number | Histogram>[], attributes: Record<string, unknown>): number {
  return list
    .filter((point) => Object.entries(attributes).every(([name, value]) => point.attributes[name] === value))
    .reduce((total, point) => total + (typeof point.value === 'number' ? point.value : point.value.count), 0);
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** An app whose every request runs inside a server span, as HTTP instrumentation would make it. */
function app(cache: GroupCache, tracerProvider: NodeTracerProvider): express.Express {
  const tracer = tracerProvider.getTracer('test-http');
  const server = express();
  server.use((req, res, next) => {
    tracer.startActiveSpan(`${req.method} request`, (span: Span) => {
      res.on('finish', () => span.end());
      next();
    });
  });
  server.use(expireGroups({ cache }));
  const key = groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
    cache,
  });
  server.get('/users/:id', key, (req, res) => {
    res.json({ id: req.params.id });
  });
  server.get(
    '/cookie',
    groupCache(() => 'cookie', { cache }),
    (_req, res) => {
      res.cookie('session', 'x').json({});
    },
  );
  server.get(
    '/open',
    groupCache(() => 'open', { cache, allowAuthorization: false }),
    (_req, res) => {
      res.json({});
    },
  );
  server.put('/users/:id', (req, res) => {
    res.locals.expireGroups = [`user_group_${req.params.id}`];
    res.json({ ok: true });
  });
  return server;
}

describe('group-cache/opentelemetry through Express, with the SDK in-memory exporters', () => {
  let recorded: Recorded;
  let cache: GroupCache;
  let server: express.Express;

  before(() => {
    recorded = recorder();
    // The context manager that parents spans across async calls (AsyncLocalStorage), as an app's SDK set-up does.
    recorded.tracerProvider.register();
  });

  after(async () => {
    trace.disable();
    context.disable();
    await recorded.meterProvider.shutdown();
    await recorded.tracerProvider.shutdown();
  });

  beforeEach(() => {
    recorded.spans.reset();
    const { tracerProvider, meterProvider } = recorded;
    cache = createCache({ telemetry: openTelemetry({ tracerProvider, meterProvider, recordKeys: true }) });
    server = app(cache, recorded.tracerProvider);
  });

  it('a miss and a hit: lookup spans with their outcome and route, a fill span beside the lookup, store calls inside it', async () => {
    await request(server).get('/users/1').expect('X-Cache', 'MISS');
    await request(server).get('/users/1').expect('X-Cache', 'HIT');
    const spans = recorded.spans.getFinishedSpans();
    const lookups = named(spans, 'group_cache.lookup');
    expect(lookups.map((span) => span.attributes['group_cache.outcome'])).to.deep.equal(['miss', 'hit']);
    expect(lookups[0]?.attributes).to.include({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'group_cache.key': 'user_1',
    });
    const requests = named(spans, 'GET request');
    expect(lookups.map(parentOf)).to.deep.equal(requests.map((span) => span.spanContext().spanId));
    const [fill] = named(spans, 'group_cache.fill');
    expect(fill?.attributes).to.include({ 'group_cache.stored': true, 'http.route': '/users/:id' });
    expect(fill?.attributes['group_cache.groups']).to.deep.equal(['user_group_1', 'users']);
    expect(parentOf(fill as ReadableSpan), "the fill is the lookup's sibling").to.equal(requests[0]?.spanContext().spanId);
    const gets = named(spans, 'group_cache.store get');
    expect(gets.map(parentOf)).to.deep.equal(lookups.map((span) => span.spanContext().spanId));
    expect(gets[0]?.attributes).to.include({ 'db.operation.name': 'get', 'group_cache.store': 'memory' });
    expect(named(spans, 'group_cache.store set')).to.have.length(1);

    const lookupsCount = await points(recorded, 'group_cache.lookups');
    expect(sum(lookupsCount, { 'group_cache.outcome': 'hit', 'http.route': '/users/:id' })).to.equal(1);
    expect(sum(lookupsCount, { 'group_cache.outcome': 'miss', 'http.route': '/users/:id' })).to.equal(1);
    const durations = await points(recorded, 'group_cache.lookup.duration');
    expect(sum(durations, { 'group_cache.outcome': 'hit' })).to.equal(1);
    expect(sum(durations, { 'group_cache.outcome': 'miss' })).to.equal(1);
  });

  it('not stored, by reason; a bypass, by reason', async () => {
    await request(server).get('/cookie').expect('X-Cache', 'MISS');
    await request(server).get('/open').set('Authorization', 'Bearer x').expect('X-Cache', 'BYPASS');
    const notStored = await points(recorded, 'group_cache.not_stored');
    expect(sum(notStored, { 'group_cache.reason': 'set-cookie', 'http.route': '/cookie' })).to.be.at.least(1);
    const lookups = await points(recorded, 'group_cache.lookups');
    expect(
      sum(lookups, { 'group_cache.outcome': 'bypass', 'group_cache.reason': 'authorization', 'http.route': '/open' }),
    ).to.equal(1);
    const [fill] = named(recorded.spans.getFinishedSpans(), 'group_cache.fill');
    expect(fill?.attributes['group_cache.stored']).to.equal(false);
  });

  it("a write's expiry and cache.clear(): expire and purge spans, the expiry latency histogram", async () => {
    const before = await points(recorded, 'group_cache.expiry.duration');
    await request(server).put('/users/2').expect(200);
    await cache.clear();
    const spans = recorded.spans.getFinishedSpans();
    const [expire] = named(spans, 'group_cache.expire');
    expect(expire?.attributes).to.include({ 'group_cache.expire.count': 1 });
    expect(expire?.attributes['group_cache.groups']).to.deep.equal(['user_group_2']);
    expect(parentOf(expire as ReadableSpan)).to.equal(named(spans, 'PUT request')[0]?.spanContext().spanId);
    const [storeExpire] = named(spans, 'group_cache.store expire');
    expect(parentOf(storeExpire as ReadableSpan)).to.equal(expire?.spanContext().spanId);
    expect(named(spans, 'group_cache.purge')).to.have.length(1);
    const after = await points(recorded, 'group_cache.expiry.duration');
    expect(sum(after, {}) - sum(before, {})).to.equal(1);
  });

  it('a failing store: store errors by code, the store span in error, the request served uncached', async () => {
    const failing: CacheStore = {
      name: 'failing',
      get: () => {
        throw new Error('disk on fire');
      },
      set: () => false,
      expire: () => undefined,
      delete: () => false,
      clear: () => undefined,
    };
    const { tracerProvider, meterProvider } = recorded;
    const broken = createCache({ store: failing, telemetry: openTelemetry({ tracerProvider, meterProvider }) });
    await request(app(broken, tracerProvider)).get('/users/3').expect('X-Cache', 'BYPASS').expect(200);
    const errors = await points(recorded, 'group_cache.store.errors');
    expect(sum(errors, { 'error.type': 'ESTORE' })).to.be.at.least(1);
    const [get] = named(recorded.spans.getFinishedSpans(), 'group_cache.store get');
    expect(get?.status.code).to.equal(2); // SpanStatusCode.ERROR
    expect(get?.attributes['error.type']).to.equal('Error');
    const [lookup] = named(recorded.spans.getFinishedSpans(), 'group_cache.lookup');
    expect(lookup?.attributes['group_cache.outcome']).to.equal('bypass');
    expect(lookup?.attributes['group_cache.key'], 'keys only with recordKeys').to.equal(undefined);
  });

  it('maxRoutes bounds the routes metrics name; the rest count as other', async () => {
    const { tracerProvider, meterProvider } = recorded;
    const bounded = createCache({ telemetry: openTelemetry({ tracerProvider, meterProvider, maxRoutes: 1 }) });
    const bare = app(bounded, tracerProvider);
    await request(bare).get('/users/9').expect('X-Cache', 'MISS');
    await request(bare).get('/cookie').expect('X-Cache', 'MISS');
    const lookups = await points(recorded, 'group_cache.lookups');
    expect(sum(lookups, { 'http.route': 'other', 'group_cache.outcome': 'miss' })).to.be.at.least(1);
  });

  it('data calls (getOrSet) are named by their source, not as HTTP routes', async () => {
    await cache.getOrSet('value', () => 1);
    const [lookup] = named(recorded.spans.getFinishedSpans(), 'group_cache.lookup');
    expect(lookup?.attributes).to.include({ 'group_cache.source': 'getOrSet', 'group_cache.outcome': 'miss' });
    expect(lookup?.attributes['http.route']).to.equal(undefined);
  });
});

describe('openTelemetry() and the telemetry option: set-up mistakes', () => {
  it('an unknown option names the closest one; a bad maxRoutes is a TypeError', () => {
    expect(() => openTelemetry({ recordKey: true } as never)).to.throw(TypeError, /recordKeys/);
    expect(() => openTelemetry({ maxRoutes: -1 })).to.throw(TypeError, /option maxRoutes must be an integer >= 0/);
  });

  it('createCache({ telemetry }) checks the object', () => {
    expect(() => createCache({ telemetry: {} as never })).to.throw(
      TypeError,
      /option telemetry needs to have a start\(\) function/,
    );
    expect(() => createCache({ telemetry: 'otel' as never })).to.throw(TypeError, /option telemetry must be a telemetry object/);
  });

  it('with no SDK registered (the API alone), the cache works and records nothing', async () => {
    const cache = createCache({ telemetry: openTelemetry() });
    const server = express();
    server.get(
      '/x',
      groupCache(() => 'x', { cache }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    cache.on('error', () => {});
    await request(server).get('/x').expect('X-Cache', 'MISS');
    await request(server).get('/x').expect('X-Cache', 'HIT').expect(200, { ok: true });
    expect(cache.stats()).to.include({ hits: 1, misses: 1 });
  });

  it('with the API alone it asks the engine to skip every operation, until an SDK registers behind the global provider', async () => {
    const telemetry = openTelemetry();
    const operations = ['lookup', 'fill', 'expire', 'purge', 'store'] as const;
    expect(operations.map((operation) => telemetry.enabled?.(operation))).to.deep.equal([false, false, false, false, false]);
    const cache = createCache({ telemetry });
    await cache.getOrSet('before', () => 1);

    const spans = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    provider.register();
    try {
      expect(operations.map((operation) => telemetry.enabled?.(operation))).to.deep.equal([true, true, true, true, true]);
      await cache.getOrSet('after', () => 2);
      expect(named(spans.getFinishedSpans(), 'group_cache.lookup')).to.have.length(1);
    } finally {
      trace.disable();
      context.disable();
      await provider.shutdown();
    }
  });
});

// The adapter table with every operation recorded: telemetry changes no outcome, header or guarantee.
const table = recorder();
for (const driver of [expressDriver('Express 5', express5), koaDriver('Koa 3', Koa), fastifyDriver('Fastify 5', fastify)]) {
  adapterConformance(driver, {
    label: 'openTelemetry() recording',
    makeCache: (options) =>
      createCache({
        ...options,
        telemetry: openTelemetry({ tracerProvider: table.tracerProvider, meterProvider: table.meterProvider, recordKeys: true }),
      }),
    teardown: () => table.spans.reset(),
  });
}
