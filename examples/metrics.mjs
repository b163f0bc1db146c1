// Prometheus metrics for a group-cache cache, with prom-client (a dependency of this example, not of the library).
// Each scrape reads cache.stats(): no per-request work, and the counters cannot drift from the cache's own.
// Run: node examples/metrics.mjs   (PORT=3003 by default; 127.0.0.1 unless HOST is set), then curl 127.0.0.1:3003/metrics
import { pathToFileURL } from 'node:url';
import express from 'express';
import { createCache } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { Counter, Gauge, Registry } from 'prom-client';
import { listen } from './listen.mjs';

const COUNTERS = {
  hits: 'Responses served fresh from the cache',
  misses: 'Requests that ran the handler to fill the cache',
  stale: 'Responses served stale',
  invalidated: 'Lookups that found their entry invalidated by a group or key expiry',
  bypasses: 'Requests served past the cache',
  stores: 'Responses stored',
  refused: 'Fills the store refused',
  expires: 'Group or key tags expired',
  errors: 'Run-time failures reported',
  evictions: 'Entries the store evicted',
};
const GAUGES = {
  entries: 'Entries held by the store (0 where the store does not count them)',
  bytes: 'Bytes held by the store (0 where the store does not count them)',
  pendingExpiries: 'Expiries queued for retry',
};

/**
 * Registers the cache's counters on `registry` (default a new one) as `<prefix>_hits_total`... plus
 * `<prefix>_bypasses_by_reason_total{reason}` and `<prefix>_not_stored_total{reason}`. Returns the registry.
 */
export function cacheMetrics(cache, { registry = new Registry(), prefix = 'group_cache' } = {}) {
  // A counter set to the cache's running total at each scrape (prom-client counters only go up, as these do).
  const mirror = (metric, value) => {
    metric.reset();
    metric.inc(value);
  };
  for (const [name, help] of Object.entries(COUNTERS)) {
    new Counter({
      name: `${prefix}_${name}_total`,
      help,
      registers: [registry],
      collect() {
        mirror(this, cache.stats()[name]);
      },
    });
  }
  for (const [name, help] of Object.entries(GAUGES)) {
    new Gauge({
      name: `${prefix}_${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(cache.stats()[name]);
      },
    });
  }
  const byReason = (name, help, field) =>
    new Counter({
      name: `${prefix}_${name}_total`,
      help,
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        // A fixed set of reasons: the label's cardinality is bounded.
        for (const [reason, count] of Object.entries(cache.stats()[field])) this.inc({ reason }, count);
      },
    });
  byReason('bypasses_by_reason', 'Requests served past the cache, by reason', 'bypassReasons');
  byReason('not_stored', 'Filled responses not stored, by reason', 'notStoredReasons');
  return registry;
}

/** An Express handler serving `registry` in the Prometheus text format. Mount it behind your own auth. */
export function metricsHandler(registry) {
  return async (_req, res, next) => {
    try {
      res.type(registry.contentType).send(await registry.metrics());
    } catch (error) {
      next(error);
    }
  };
}

/** A small app: one cached route, one that sets a cookie (never stored), and /metrics. */
export function createApp({ cache = createCache() } = {}) {
  const app = express();
  const registry = cacheMetrics(cache);
  app.get('/metrics', metricsHandler(registry));
  app.get(
    '/users/:id',
    groupCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] }), { cache }),
    (req, res) => {
      res.json({ id: req.params.id });
    },
  );
  app.get(
    '/session',
    groupCache(() => 'session', { cache }),
    (_req, res) => {
      res.cookie('sid', 'abc').json({ ok: true });
    },
  );
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  listen(createApp(), 3003, (url) => {
    console.log(`group-cache metrics demo on ${url}

  curl -s ${url}/users/1 > /dev/null; curl -s ${url}/users/1 > /dev/null; curl -s ${url}/session > /dev/null
  curl -s ${url}/metrics | grep group_cache
`);
  });
}
