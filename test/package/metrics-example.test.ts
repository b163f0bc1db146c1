/*
 * examples/metrics.mjs (issue 13): the cache's counters as Prometheus metrics, scraped after real traffic.
 */
import { expect } from 'chai';
import type { Express } from 'express';
import { createCache, type GroupCache } from 'group-cache';
import request from 'supertest';

interface MetricsExample {
  createApp(options?: { cache?: GroupCache }): Express;
}

// Imported by URL: the example is plain JavaScript (examples/ ships no types), so the test states its shape.
const METRICS = new URL('../../examples/metrics.mjs', import.meta.url).href;

/** The value of one sample line (`name{labels} value`) of a Prometheus text scrape. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('examples/metrics.mjs: Prometheus metrics with prom-client', () => {
  let createApp: MetricsExample['createApp'];
  before(async () => {
    ({ createApp } = (await import(METRICS)) as MetricsExample);
  });

  it('scrapes hits, misses, stores and a bypass reason after traffic', async () => {
    const cache = createCache();
    const app = createApp({ cache });
    await request(app).get('/users/1').expect('X-Cache', 'MISS');
    await request(app).get('/users/1').expect('X-Cache', 'HIT');
    await request(app).get('/users/1').expect('X-Cache', 'HIT');
    await request(app).get('/users/2').expect('X-Cache', 'MISS');
    await request(app).get('/users/1').set('Authorization', 'Bearer x').expect('X-Cache', 'BYPASS');
    await request(app).get('/session').expect(200);
    const scrape = await request(app).get('/metrics').expect(200);
    expect(scrape.headers['content-type']).to.match(/^text\/plain/);
    const text = scrape.text;
    expect(sample(text, 'group_cache_hits_total')).to.equal(2);
    expect(sample(text, 'group_cache_misses_total')).to.equal(3);
    expect(sample(text, 'group_cache_stores_total')).to.equal(2);
    expect(sample(text, 'group_cache_bypasses_total')).to.equal(1);
    expect(sample(text, 'group_cache_bypasses_by_reason_total{reason="authorization"}')).to.equal(1);
    expect(sample(text, 'group_cache_not_stored_total{reason="set-cookie"}')).to.equal(1);
    expect(sample(text, 'group_cache_entries')).to.equal(2);
    // A second scrape after more traffic: totals follow the cache, never double-counted.
    await request(app).get('/users/2').expect('X-Cache', 'HIT');
    const again = (await request(app).get('/metrics').expect(200)).text;
    expect(sample(again, 'group_cache_hits_total')).to.equal(3);
    expect(sample(again, 'group_cache_bypasses_by_reason_total{reason="authorization"}')).to.equal(1);
  });
});
