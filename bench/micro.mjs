// In-process measurements: group expiry cost by group size, and heap bytes per cached entry.
// Run with --expose-gc: `node --expose-gc bench/micro.mjs [--quick] [--redis-url=redis://...]`.
// Prints one JSON line (the results) last on stdout.
import { createCache, memoryStore } from 'group-cache';
import { groupTag, keyId } from '../dist/esm/lib/core/keys.js';
import { LOOKUP } from './lookup.mjs';
import { user } from './servers/payload.mjs';
import { settledGc, usersApp } from './users-app.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
// --memory: only the heap measurements (what a memory-store change needs, in a few seconds).
const memoryOnly = args.includes('--memory');
const redisUrl = args.find((arg) => arg.startsWith('--redis-url='))?.slice('--redis-url='.length);
const log = (...parts) => console.error(...parts);

const TTL = 600_000;
const HEADERS = [
  ['x-powered-by', 'Express'],
  ['content-type', 'application/json; charset=utf-8'],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Stores one response through the cache's own fill path (lookup, stamp, commit), like a miss does. */
async function fill(cache, key, groups, body) {
  const id = keyId(key, cache.maxKeyLength);
  const tags = groups.map((group) => groupTag(group, cache.maxKeyLength));
  tags.push(id);
  const acquired = await cache.lookup({ ...LOOKUP, key, id, groups, keyTag: id, enteredAt: performance.now() });
  if (acquired.type !== 'fill') throw new Error(`expected a fill for ${key}, got ${acquired.type}`);
  const now = Date.now();
  const entry = {
    status: 200,
    // Fresh strings per entry, as a capture reads them off each response.
    headers: HEADERS.map(([name, value]) => [name, Buffer.from(value).toString()]),
    body,
    etag: `"${body.length.toString(16)}-${key}"`,
    vary: [],
    tags,
    startedAt: acquired.fill.startedAt,
    storedAt: now,
    freshUntil: now + TTL,
    staleUntil: now + TTL,
  };
  if (!(await acquired.fill.commit(entry))) throw new Error(`store refused ${key}`);
  return entry;
}

async function fillMany(cache, count, groupsOf, concurrency) {
  for (let start = 0; start < count; start += concurrency) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + concurrency); i++) {
      batch.push(fill(cache, `user_${i}`, groupsOf(i), Buffer.from(JSON.stringify(user(i)))));
    }
    await Promise.all(batch);
  }
}

/*
 * Every entry carries the groups big_0 .. big_{rounds-1}; round r times `expireGroups(['big_r'])`. The first
 * round expires a group whose members are all live; later ones, groups whose members are already stale (still
 * `size` members each for any scanning implementation). Both are reported.
 */
async function expiryCost(makeStore, sizes, rounds, concurrency) {
  const results = [];
  for (const size of sizes) {
    const store = await makeStore();
    const cache = createCache({ store, ttl: TTL, storeTimeout: 60_000 });
    const groups = Array.from({ length: rounds }, (_, r) => `big_${r}`);
    await cache.clear();
    const started = Date.now();
    await fillMany(cache, size, () => groups, concurrency);
    const fillMs = Date.now() - started;
    // Warm the expiry path (JIT, Redis script cache) so the first timed call is not a compile.
    for (let i = 0; i < 200; i++) await cache.expireGroups([`warmup_${i}`]);
    const times = [];
    for (const group of groups) {
      const t0 = process.hrtime.bigint();
      await cache.expireGroups([group]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    const check = await cache.lookup({
      key: 'user_0',
      id: keyId('user_0'),
      groups,
      keyTag: keyId('user_0'),
      ...LOOKUP,
      canFill: false,
      enteredAt: performance.now(),
    });
    results.push({
      size,
      firstUs: times[0],
      medianUs: median(times),
      minUs: Math.min(...times),
      maxUs: Math.max(...times),
      fillMs,
      afterExpiry: check.type,
    });
    log(
      `  expiry ${store.name ?? '?'} size ${size}: first ${times[0].toFixed(1)} µs, median ${median(times).toFixed(1)} µs (fill ${fillMs} ms)`,
    );
    await cache.clear();
    await cache.close();
  }
  return results;
}

async function heap() {
  await settledGc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/*
 * Heap bytes per cached 1 KB response (heapUsed + external, after full GCs), in two steps: the bodies alone, as
 * Buffers built the way a capture builds them, then the entries stored around them. Node's Buffer pool rounds
 * a small body up to a share of an 8 KB slab, so a body costs more than its length; that cost is reported apart
 * from the store's own overhead (entry objects, map slot, key, tags and header strings).
 */
async function memoryPerEntry(count) {
  const store = memoryStore({ maxBytes: 2 ** 30, maxEntries: count * 2 });
  const cache = createCache({ store, ttl: TTL });
  await fill(cache, 'warm', ['users'], Buffer.from('warm'));
  const before = await heap();
  let bodies = [];
  for (let i = 0; i < count; i++) bodies.push(Buffer.from(JSON.stringify(user(i))));
  const withBodies = await heap();
  let nominalBody = 0;
  let nominalRest = 0;
  for (let i = 0; i < count; i++) {
    const key = `user_${i}`;
    const entry = await fill(cache, key, [`user_group_${i}`, 'users'], bodies[i]);
    nominalBody += entry.body.length;
    nominalRest += key.length + 'etag'.length + entry.etag.length;
    for (const [name, value] of entry.headers) nominalRest += name.length + value.length;
  }
  bodies = undefined;
  const after = await heap();
  const accounted = cache.stats().bytes;
  // The bodies as the store keeps them (it may have copied them out of the pool), held alone once it is cleared.
  let kept = [];
  for (let i = 0; i < count; i++) kept.push(store.peek(keyId(`user_${i}`)).entry.body);
  await cache.clear();
  const keptBodies = await heap();
  const keptBodyCost = (keptBodies - before) / count;
  kept = undefined;
  const measuredPerEntry = (after - before) / count;
  const result = {
    entries: count,
    measuredPerEntry,
    bodyLength: nominalBody / count,
    // What a body costs as the store keeps it, and as it was handed in (a share of Node's 8 KB pool slab).
    bodyCostPerEntry: keptBodyCost,
    bodyPoolCostPerEntry: (withBodies - before) / count,
    headersAndKeyPerEntry: nominalRest / count,
    // Beyond the body's length, its headers and key: everything the entry costs on top of its bytes.
    overheadPerEntry: measuredPerEntry - (nominalBody + nominalRest) / count,
    // The same, with the body at what its Buffer measurably costs as kept: the store's own structures.
    storeOverheadPerEntry: measuredPerEntry - keptBodyCost - nominalRest / count,
    accountedPerEntry: accounted / count,
    accountedOverMeasured: accounted / (after - before),
  };
  log(
    `  memory: ${measuredPerEntry.toFixed(0)} B/entry measured; body ${result.bodyLength.toFixed(0)} B ` +
      `(its Buffer costs ${keptBodyCost.toFixed(0)} B as kept, ${result.bodyPoolCostPerEntry.toFixed(0)} B as handed in), ` +
      `headers+key ${result.headersAndKeyPerEntry.toFixed(0)} B; overhead ${result.overheadPerEntry.toFixed(0)} B ` +
      `(store's own ${result.storeOverheadPerEntry.toFixed(0)} B); store accounts ${result.accountedPerEntry.toFixed(0)} B/entry ` +
      `(${result.accountedOverMeasured.toFixed(2)}x measured)`,
  );
  await cache.close();
  return result;
}

/*
 * The same, through the real path: an Express 5 app with groupCache in this process, filled over HTTP with
 * `count` distinct users. Bodies are stored as the capture copied them (pool slices), so this is what a
 * deployment pays per entry.
 */
async function memoryViaHttp(count) {
  const express = (await import('express')).default;
  const { groupCache } = await import('group-cache/express');
  const { createServer, Agent, get } = await import('node:http');
  const cache = createCache({ store: memoryStore({ maxBytes: 2 ** 30, maxEntries: count * 2 }), ttl: TTL });
  const app = express();
  app.get(
    '/users/:id',
    groupCache((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), { cache }),
    (req, res) => res.json(user(req.params.id)),
  );
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const port = server.address().port;
  const fetchOne = (id) =>
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: `/users/${id}`, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
  for (let i = 0; i < 200; i++) await fetchOne(`warm${i % 4}`);
  const entriesBefore = cache.stats().entries;
  const bytesBefore = cache.stats().bytes;
  const before = await heap();
  for (let start = 0; start < count; start += 8) {
    await Promise.all(Array.from({ length: Math.min(8, count - start) }, (_, j) => fetchOne(start + j)));
  }
  const after = await heap();
  const stored = cache.stats().entries - entriesBefore;
  const result = {
    entries: stored,
    measuredPerEntry: (after - before) / stored,
    accountedPerEntry: (cache.stats().bytes - bytesBefore) / stored,
  };
  result.accountedOverMeasured = result.accountedPerEntry / result.measuredPerEntry;
  log(
    `  memory via Express capture: ${result.measuredPerEntry.toFixed(0)} B/entry measured over ${stored} entries; ` +
      `store accounts ${result.accountedPerEntry.toFixed(0)} B (${result.accountedOverMeasured.toFixed(2)}x)`,
  );
  agent.destroy();
  server.close();
  await cache.close();
  return result;
}

/*
 * The outside view: heap bytes per cached ~1 KB response of a real Koa 3 or Express 5 app (heapUsed + arrayBuffers
 * after full GCs, over `count` distinct users), less what the entry must hold: its body, key and stored header bytes
 * (the ETag counted as a header). Requests go through the app as Node hands them over, an IncomingMessage and a
 * ServerResponse, over a socket stand-in that accepts every write (as bench/inproc.mjs does): the capture sees the
 * same res.write/res.end calls as on a real socket, and 100,000 fills take seconds, not minutes. The store counts
 * what it is handed (a wrapper around set adds up lengths, holding nothing).
 */
async function memoryThroughApp(framework, count) {
  const store = memoryStore({ maxBytes: 2 ** 30, maxEntries: count * 2 });
  const cache = createCache({ store, ttl: TTL });
  const drive = await usersApp(framework, cache);
  // Warm-up: the JIT, the route's and the store's one-off structures (the shared head, the interned `g:users`).
  await drive(Array.from({ length: 400 }, (_, i) => `warm${i}`));
  const nominal = { body: 0, key: 0, headers: 0 };
  const set = store.set.bind(store);
  store.set = (key, entry, refused) => {
    nominal.body += entry.body.length;
    nominal.key += key.length;
    nominal.headers += 'etag'.length + entry.etag.length;
    for (const [name, value] of entry.headers) {
      nominal.headers += name.length + (typeof value === 'string' ? value.length : value.join('').length);
    }
    return set(key, entry, refused);
  };
  const entriesBefore = cache.stats().entries;
  const bytesBefore = cache.stats().bytes;
  const before = await outsideHeap();
  const started = Date.now();
  await drive(Array.from({ length: count }, (_, i) => i));
  const fillMs = Date.now() - started;
  const after = await outsideHeap();
  const stored = cache.stats().entries - entriesBefore;
  if (stored !== count) throw new Error(`${framework}: ${stored} of ${count} entries stored`);
  const measuredPerEntry = (after - before) / stored;
  const result = {
    entries: stored,
    fillMs,
    measuredPerEntry,
    bodyPerEntry: nominal.body / stored,
    keyPerEntry: nominal.key / stored,
    headersPerEntry: nominal.headers / stored,
    overheadPerEntry: measuredPerEntry - (nominal.body + nominal.key + nominal.headers) / stored,
    accountedPerEntry: (cache.stats().bytes - bytesBefore) / stored,
  };
  log(
    `  memory through ${framework === 'koa' ? 'Koa 3' : 'Express 5'} (outside view): ${measuredPerEntry.toFixed(0)} B/entry ` +
      `over ${stored} entries (filled in ${fillMs} ms); body ${result.bodyPerEntry.toFixed(0)} B, key ` +
      `${result.keyPerEntry.toFixed(0)} B, headers ${result.headersPerEntry.toFixed(0)} B; above them ` +
      `${result.overheadPerEntry.toFixed(0)} B; store accounts ${result.accountedPerEntry.toFixed(0)} B`,
  );
  await cache.close();
  return result;
}

// heapUsed + arrayBuffers after full GCs: what the process holds in V8's heap and in ArrayBuffer backing stores.
async function outsideHeap() {
  await settledGc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/*
 * Heap bytes per group-expiry record in the memory store (distinct 200-character group names, as a flood of
 * expiries makes them), against what the store counts for them in stats().bytes (lib/stores/entry-size.ts recordSize).
 */
async function memoryPerRecord(count) {
  const store = memoryStore({ maxBytes: 2 ** 30, maxRecordBytes: 2 ** 30, maxRecords: count * 2 });
  const long = 'n'.repeat(190);
  // Flat strings, as names parsed from a request are (a template string would share `long` between records).
  const name = (i) => Buffer.from(`${long}${String(i).padStart(10, '0')}`).toString('latin1');
  const before = await heap();
  for (let i = 0; i < count; i++) store.expire([groupTag(name(i))]);
  const after = await heap();
  const result = {
    records: store.stats().records,
    measuredPerRecord: (after - before) / count,
    accountedPerRecord: store.stats().bytes / count,
  };
  result.accountedOverMeasured = result.accountedPerRecord / result.measuredPerRecord;
  log(
    `  records: ${result.measuredPerRecord.toFixed(0)} B/record measured (200-character group names); ` +
      `store accounts ${result.accountedPerRecord.toFixed(0)} B (${result.accountedOverMeasured.toFixed(2)}x)`,
  );
  return result;
}

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const sizes = [1, 1_000, 100_000];
const rounds = quick ? 5 : 9;
const output = { expiry: {}, memory: undefined, skipped: {} };
if (!memoryOnly) {
  log('micro: expiry cost, memory store');
  output.expiry.memory = await expiryCost(() => memoryStore({ maxBytes: 2 ** 30, maxEntries: 200_000 }), sizes, rounds, 1);
  if (redisUrl) {
    const { redisStore } = await import('group-cache/redis').catch((error) => ({ error }));
    if (!redisStore) {
      output.skipped.redisExpiry = 'group-cache/redis did not load';
    } else {
      const { Redis } = await import('ioredis');
      const clients = [];
      log('micro: expiry cost, Redis store');
      output.expiry.redis = await expiryCost(
        () => {
          const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
          clients.push(client);
          return redisStore({ client, prefix: `bench:micro:${clients.length}:` });
        },
        sizes,
        rounds,
        500,
      );
      for (const client of clients) client.disconnect();
    }
  } else {
    output.skipped.redisExpiry = 'no redis server';
  }
}
log('micro: heap bytes per entry');
output.memory = await memoryPerEntry(quick ? 5_000 : 20_000);
output.memoryViaHttp = await memoryViaHttp(quick ? 3_000 : 10_000);
output.memoryOutside = {
  koa: await memoryThroughApp('koa', quick ? 5_000 : 100_000),
  express: await memoryThroughApp('express', quick ? 5_000 : 100_000),
};
output.memoryPerRecord = await memoryPerRecord(quick ? 20_000 : 100_000);
console.log(JSON.stringify(output));
