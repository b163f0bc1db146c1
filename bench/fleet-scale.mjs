// The fleet at scale (issue 26, item 6): `node bench/fleet-scale.mjs [--quick]` after a build, and the last part of
// `node bench/fleet.mjs`, which hands it the redis-server and the 3-master cluster it started.
// - N Express app instances (child processes, N = 4 then 2) on one Redis and on a Redis Cluster of 3 masters, for
//   the Redis store, the tiered store and tiered strict: 12 rows.
// - A client in this process spreads requests over the instances round robin (`--connections` per instance, 1 by
//   default: one request in flight per instance, so that a lookup is never batched with another and each call the
//   cost model counts is one call). Keys follow Zipf (s = 1) over 100,000 items from a fixed seed; 95% are
//   `GET /items/:id` (key item_<id>, groups item_<id>, cat_<id % 100> and items), 5% `PUT /items/:id`, which
//   expires the group item_<id>.
// - Per row, over the measured window: requests/s, hit ratio (X-Cache), p50/p99 latency, Redis calls (commands a
//   client sent: scripts, XREAD, ...), Redis operations (every command Redis ran, those inside scripts included)
//   and bytes in + out per request, from `INFO stats` and `INFO commandstats` on every node, before and after.
// - Stale reads: every body carries the time its fill started; a read sent after a write's response must come from
//   a fill started after that write was sent. Judged on the Redis store and strict (never), and on the tiered store
//   beyond `maxLag` (never); reads on the writing instance right after its write (read-your-writes) never.
// - Propagation (tiered, tiered strict): a write on instance 0, then every other instance polled until none answers
//   the old copy: p50/p99/max from the write's response.
// - The cost model of docs/scaling.md, per row: the calls and bytes it predicts from the requests' outcomes (the
//   instances' own counters, and on a cluster the poll scripts their clients sent) against what Redis counted, PASS
//   within ±20%.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { httpCall } from './http-call.mjs';
import { hasTaskset, startCluster, startRedis, track } from './redis-servers.mjs';

const SELF = fileURLToPath(import.meta.url);
const ITEMS = 100_000;
const CATEGORIES = 100;
const WRITE_SHARE = 0.05;
const MAX_LAG = 1_000;
const PAD = 'x'.repeat(900);

// ---- one app instance -----------------------------------------------------------------------------------------

async function serve() {
  const { default: express } = await import('express');
  const { createCache } = await import('group-cache');
  const { expireGroups, groupCache } = await import('group-cache/express');
  const { redisStore, tieredStore } = await import('group-cache/redis');
  const { Cluster, Redis } = await import('ioredis');
  const kind = process.env.KIND;
  const ports = process.env.REDIS_PORTS.split(',').map(Number);
  let client;
  if (ports.length > 1) {
    client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
  } else client = new Redis({ host: '127.0.0.1', port: ports[0], maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  // On a cluster, the tiered reader's poll scripts sent (keys: a bucket's records, sequence counter, stream, run id):
  // the model takes their number from here, as it takes hits and misses from the cache's counters.
  let polls = 0;
  if (ports.length > 1) {
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command, ...rest) => {
      if (/^eval(sha)?$/i.test(command.name) && String(command.args[3]).endsWith('}q')) polls++;
      return send(command, ...rest);
    };
  }
  // Every node runs on this machine, on one clock.
  const redis = redisStore({ client, prefix: process.env.PREFIX, clockSkew: 0 });
  const store = kind === 'redis' ? redis : tieredStore({ redis, strict: kind === 'strict', maxLag: MAX_LAG });
  const cache = createCache({ store, ttl: 600_000, storeTimeout: 2_000 });
  const app = express();
  app.use(expireGroups({ cache }));
  app.get(
    '/items/:id',
    groupCache(
      (req) => ({
        key: `item_${req.params.id}`,
        groups: [`item_${req.params.id}`, `cat_${Number(req.params.id) % CATEGORIES}`, 'items'],
      }),
      { cache },
    ),
    // `at` first: the client reads it without parsing the body.
    (req, res) => res.json({ at: performance.timeOrigin + performance.now(), id: req.params.id, pad: PAD }),
  );
  app.put('/items/:id', (req, res) => {
    res.locals.expireGroups = [`item_${req.params.id}`];
    res.json({ ok: true });
  });
  app.get('/stats', (_req, res) => {
    const { user, system } = process.cpuUsage();
    res.json({ cache: cache.stats(), tier: store.tierStats?.(), polls, rss: process.memoryUsage().rss, cpu: user + system });
  });
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  server.keepAliveTimeout = 60_000;
}

async function startInstance(kind, ports, prefix, pinned) {
  const env = { ...process.env, KIND: kind, REDIS_PORTS: ports.join(','), PREFIX: prefix };
  const [command, args] = pinned
    ? ['taskset', ['-c', '0', process.execPath, SELF, 'serve']]
    : [process.execPath, [SELF, 'serve']];
  const child = track(spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance ${kind} exited (${code})`)));
    child.stdout.once('data', (data) => resolve(JSON.parse(data.toString()).port));
  });
  return {
    port,
    agent: new Agent({ keepAlive: true, maxSockets: 8 }),
    stop() {
      this.agent.destroy();
      child.kill('SIGKILL');
    },
  };
}

// ---- the workload ----------------------------------------------------------------------------------------------

// mulberry32: a small seeded generator, so every run draws the same sequence.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Zipf(s) over 1..n by inversion of its cumulative distribution (binary search in a table of n doubles).
function zipf(n, s, random) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / k ** s;
    cdf[k - 1] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

const call = (instance, method, path) =>
  httpCall({ host: '127.0.0.1', port: instance.port, path, method, agent: instance.agent });

const now = () => performance.timeOrigin + performance.now();
const filledAt = (body) => Number(/^\{"at":([\d.]+)/.exec(body)?.[1] ?? Number.NaN);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the workload for `seconds` over `instances`, round robin, `connections` requests in flight per instance.
 * `writes` (per id: the send time of the latest write answered, and when it was answered) persists across calls.
 */
async function drive(instances, seconds, connections, draw, random, writes) {
  const out = { gets: 0, puts: 0, hits: 0, errors: 0, latencies: [], stale: 0, staleBeyondLag: 0, ownStale: 0, ownReads: 0 };
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  async function worker() {
    while (performance.now() < deadline) {
      const at = next++ % instances.length;
      const instance = instances[at];
      const id = draw();
      const path = `/items/${id}`;
      const started = performance.now();
      if (random() < WRITE_SHARE) {
        const sent = now();
        const res = await call(instance, 'PUT', path);
        out.latencies.push(performance.now() - started);
        out.puts++;
        if (res.status !== 200) {
          out.errors++;
          continue;
        }
        const answered = now();
        const last = writes.get(id);
        if (last === undefined || last.sent < sent) writes.set(id, { sent, answered });
        // Read-your-writes: the writing instance, at once.
        const own = await call(instance, 'GET', path);
        out.ownReads++;
        if (own.status !== 200 || !(filledAt(own.body) >= sent)) out.ownStale++;
        continue;
      }
      const written = writes.get(id);
      const sentAt = now();
      const res = await call(instance, 'GET', path);
      out.latencies.push(performance.now() - started);
      out.gets++;
      if (res.status !== 200) {
        out.errors++;
        continue;
      }
      if (res.cache === 'HIT') out.hits++;
      if (written !== undefined && written.answered < sentAt && filledAt(res.body) < written.sent) {
        out.stale++;
        if (sentAt - written.answered > MAX_LAG) out.staleBeyondLag++;
      }
    }
  }
  await Promise.all(Array.from({ length: instances.length * connections }, worker));
  return out;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
}

// A write on instance 0, then every other instance polled until none answers the old copy (ms from the write's answer).
async function propagation(instances, rounds) {
  const times = [];
  let ownStale = 0;
  for (let i = 0; i < rounds; i++) {
    const path = `/items/${ITEMS + 1 + i}`;
    const old = (await call(instances[0], 'GET', path)).body;
    for (const instance of instances) {
      for (let j = 0; j < 200 && (await call(instance, 'GET', path)).cache !== 'HIT'; j++) await sleep(2);
    }
    const sent = now();
    await call(instances[0], 'PUT', path);
    const answered = performance.now();
    if (filledAt((await call(instances[0], 'GET', path)).body) < sent) ownStale++;
    const each = await Promise.all(
      instances.slice(1).map(async (instance) => {
        for (;;) {
          const read = await call(instance, 'GET', path);
          if (read.body !== old) return performance.now() - answered;
          if (performance.now() - answered > 5 * MAX_LAG) return Number.POSITIVE_INFINITY;
        }
      }),
    );
    times.push(Math.max(...each));
  }
  times.sort((x, y) => x - y);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.at(-1), ownStale, rounds };
}

// ---- Redis's own counts ----------------------------------------------------------------------------------------

// Commands only scripts run here; everything else (EVALSHA, EVAL, XREAD, CLUSTER, ...) a client sent.
const INSIDE_SCRIPTS = new Set(
  'info time zscore zadd zrem zmscore hmget hget hset pexpire unlink del get set incr xadd xrange xrevrange zrevrange zremrangebyscore zcard zpopmin'.split(
    ' ',
  ),
);

async function nodeClients(ports) {
  const { Redis } = await import('ioredis');
  return ports.map((port) => new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 }));
}

async function snapshot(clients) {
  const nodes = await Promise.all(
    clients.map((client) => client.call('INFO', 'stats', 'commandstats', 'memory', 'keyspace', 'cpu')),
  );
  let calls = 0;
  let ops = 0;
  let bytes = 0;
  let memory = 0;
  let keys = 0;
  let probe = 0;
  let cpu = 0;
  const byCommand = {};
  for (const info of nodes) {
    const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    bytes += field('total_net_input_bytes') + field('total_net_output_bytes');
    memory += field('used_memory');
    // Seconds, as decimals: the Redis main thread's CPU (its I/O included, since Redis 6 runs I/O there by default).
    for (const name of ['used_cpu_sys', 'used_cpu_user'])
      cpu += Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    for (const [, n] of info.matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(n);
    for (const [, name, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const count = Number(n);
      ops += count;
      byCommand[name] = (byCommand[name] ?? 0) + count;
      if (!INSIDE_SCRIPTS.has(name.toLowerCase())) calls += count;
    }
    probe += Buffer.byteLength(info) + 64;
  }
  return { calls, ops, bytes, memory, keys, byCommand, probe, cpu, nodes: clients.length };
}

// The difference of two snapshots, less what the first snapshot's own INFO added (one call a node, its reply).
function delta(before, after) {
  const byCommand = {};
  for (const [name, n] of Object.entries(after.byCommand)) byCommand[name] = n - (before.byCommand[name] ?? 0);
  byCommand.info -= before.nodes;
  return {
    calls: after.calls - before.calls,
    ops: after.ops - before.ops - before.nodes,
    bytes: after.bytes - before.bytes - before.probe,
    cpu: after.cpu - before.cpu,
    byCommand,
  };
}

async function instanceStats(instances) {
  const all = await Promise.all(instances.map(async (instance) => JSON.parse((await call(instance, 'GET', '/stats')).body)));
  const sum = (pick) => all.reduce((total, one) => total + (pick(one) ?? 0), 0);
  return {
    hits: sum((s) => s.cache.hits),
    misses: sum((s) => s.cache.misses),
    invalidated: sum((s) => s.cache.invalidated),
    stores: sum((s) => s.cache.stores),
    waits: sum((s) => s.cache.waits),
    expires: sum((s) => s.cache.expires),
    tierHits: sum((s) => s.tier?.tierHits),
    confirmed: sum((s) => s.tier?.confirmed),
    redisReads: sum((s) => s.tier?.redisReads),
    messages: sum((s) => s.tier?.messages),
    polls: sum((s) => s.polls),
    tierBytes: sum((s) => s.cache.bytes),
    tierEntries: sum((s) => s.cache.entries),
    rss: sum((s) => s.rss),
    cpu: sum((s) => s.cpu),
  };
}

function statsDelta(before, after) {
  return Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - before[key]]));
}

// ---- the cost model (docs/scaling.md) --------------------------------------------------------------------------

// The size of a RESP value: numbers as integers, strings and blobs (bytes of a known length) as bulk strings, arrays
// nested.
function resp(value) {
  if (typeof value === 'number') return String(Math.round(value)).length + 3;
  if (Array.isArray(value)) return String(value.length).length + 3 + value.reduce((sum, item) => sum + resp(item), 0);
  const length = typeof value === 'string' ? Buffer.byteLength(value) : value.bytes;
  return String(length).length + 5 + length;
}
const blob = (bytes) => ({ bytes: Math.round(bytes) });

// FNV-1a over UTF-16 code units, as lib/stores/redis/cluster.ts's bucketOf (16 buckets).
function bucketOf(name) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 16;
}

const tagsOf = (id) => [`g:item_${id}`, `g:cat_${id % CATEGORIES}`, 'g:items', `k:item_${id}`];
// Buckets of an entry's tags other than its own bucket (the key's).
export function otherBuckets(id) {
  const home = bucketOf(`k:item_${id}`);
  return new Set(
    tagsOf(id)
      .map(bucketOf)
      .filter((n) => n !== home),
  ).size;
}

const STAMP = 1_764_800_000_000_000; // a 16-digit µs stamp
const SHA = 'f'.repeat(40);
const evalsha = (keys, args) => resp(['EVALSHA', SHA, String(keys.length), ...keys, ...args]);

/**
 * Per-event costs (calls, bytes) of one row, from the scripts' arguments and replies in lib/stores/redis. `entry` is
 * the bytes of an entry's metadata and body as stored, `idLength` the mean length of an id's digits, `p` the prefix.
 */
export function eventCosts(cluster, p, entry, idLength, k) {
  const id = `k:item_${'9'.repeat(idLength)}`;
  const tags = [`g:item_${'9'.repeat(idLength)}`, 'g:cat_99', 'g:items', id];
  const encodedTags = tags.map((t) => `${t.length}:${t}`).join('');
  const found = (extra) => [STAMP, 0, [STAMP, String(STAMP), blob(entry.meta), blob(entry.body)], ...extra];
  const b = (n) => `{${p}${n}}`;
  if (!cluster) {
    const lookupAsk = evalsha([`${p}expiries`, `${p}run`], [`${p}e:${id}`]);
    return {
      lookupHit: { calls: 1, bytes: lookupAsk + resp([STAMP, 0, [STAMP, String(STAMP), blob(entry.meta), blob(entry.body)]]) },
      lookupMiss: { calls: 1, bytes: lookupAsk + resp([STAMP, 0, 0]) },
      // lock, then set and unlock in one script (test/stores/redis/round-trips.test.ts)
      fill: {
        calls: 2,
        bytes:
          evalsha([`${p}lock:${id}`], ['x'.repeat(32), '600000', String(STAMP)]) +
          resp(1) +
          evalsha(
            [`${p}e:${id}`, `${p}expiries`, `${p}ttl`, `${p}run`, `${p}lock:${id}`],
            [String(STAMP), '600000', blob(entry.meta), blob(entry.body), 'x'.repeat(32), ...tags],
          ) +
          resp(1),
      },
      expire: {
        calls: 1,
        bytes:
          evalsha([`${p}expiries`, `${p}ttl`, `${p}seq`, `${p}stream`, `${p}run`], ['100000', '10000', tags[0]]) + resp(STAMP),
      },
      confirm: {
        calls: 1,
        bytes: evalsha([`${p}e:${id}`, `${p}expiries`, `${p}run`], [String(STAMP), ...tags]) + resp([STAMP, 1]),
      },
      // Each reader, for each message: XREAD (answering the message), then the stream state script.
      follow: {
        calls: 2,
        bytes:
          resp(['XREAD', 'COUNT', '1000', 'BLOCK', '250', 'STREAMS', `${p}stream`, '1764800000000-0']) +
          resp([[`${p}stream`, [['1764800000000-0', ['n', '1000', 's', String(STAMP), 'e', String(STAMP), 't', tags[0]]]]]]) +
          evalsha([`${p}expiries`, `${p}seq`, `${p}stream`, `${p}run`], []) +
          resp([STAMP, STAMP, 1000, '1764800000000-0']),
      },
      // Each reader with nothing to read: the XREAD times out after maxLag / 4, then the state script.
      idle: {
        calls: 2,
        bytes:
          resp(['XREAD', 'COUNT', '1000', 'BLOCK', '250', 'STREAMS', `${p}stream`, '1764800000000-0']) +
          5 +
          evalsha([`${p}expiries`, `${p}seq`, `${p}stream`, `${p}run`], []) +
          resp([STAMP, STAMP, 1000, '1764800000000-0']),
      },
      encodedTags,
    };
  }
  const records = (n) => evalsha([`${b(n)}r`, `${b(n)}u`], ['0', tags[n % tags.length]]) + resp(STAMP);
  const ask = evalsha([`${b(0)}e:${id}`, `${b(0)}r`, `${b(0)}u`], ['0']);
  return {
    lookupHit: { calls: 1 + k, bytes: ask + resp(found([])) + k * records(1) },
    lookupMiss: { calls: 1, bytes: ask + resp([STAMP, 0, 0]) },
    // lock; the other buckets checked; the entry written in its bucket; the lock released
    fill: {
      calls: 3 + k,
      bytes:
        evalsha([`${p}lock:${id}`], ['x'.repeat(32), '600000', String(STAMP)]) +
        resp(1) +
        k * (evalsha([`${b(1)}r`, `${b(1)}t`, `${b(1)}u`], ['0', String(STAMP), '600000', tags[1]]) + resp(1)) +
        evalsha(
          [`${b(0)}e:${id}`, `${b(0)}r`, `${b(0)}t`, `${b(0)}u`],
          [String(STAMP), '600000', blob(entry.meta), blob(entry.body), '0', ...tags],
        ) +
        resp(1) +
        evalsha([`${p}lock:${id}`], ['x'.repeat(32)]) +
        resp(1),
    },
    expire: {
      calls: 1,
      bytes:
        evalsha([`${b(0)}r`, `${b(0)}t`, `${b(0)}q`, `${b(0)}s`, `${b(0)}u`], ['6250', '0', '0', '600000', '625', tags[0]]) +
        resp(STAMP),
    },
    confirm: {
      calls: 1 + k,
      bytes:
        evalsha([`${b(0)}e:${id}`, `${b(0)}r`, `${b(0)}u`], [String(STAMP), tags[3]]) +
        resp([STAMP, 1]) +
        k * (evalsha([`${b(1)}r`, `${b(1)}u`], [String(STAMP), tags[1]]) + resp([STAMP, 1])),
    },
    // One poll round: a script per bucket, answering its state (and the messages after the cursor, counted apart).
    pollRound: {
      calls: 16,
      bytes:
        16 *
        (evalsha([`${b(0)}r`, `${b(0)}q`, `${b(0)}s`, `${b(0)}u`], ['1764800000000-0', '1000']) +
          resp([STAMP, STAMP, 10, '1764800000000-0', []])),
    },
    message: { bytes: resp(['1764800000000-0', ['n', '1000', 's', String(STAMP), 'e', String(STAMP), 't', tags[0]]]) },
    encodedTags,
  };
}

/**
 * What the model predicts for a row's window, from the instances' counters: lookups sent to Redis (hit or not),
 * fills, expiries, confirmations, and for the readers the messages and (on a cluster) the poll rounds of `seconds`.
 */
function predict(row, costs, counts, seconds, instances) {
  const tiered = row.kind !== 'redis';
  const lookups = tiered ? counts.redisReads : counts.hits + counts.misses;
  // Lookups that found an entry in Redis: the hits the tier did not answer, and those that found one invalidated.
  const found = Math.max(0, counts.hits - (tiered ? counts.tierHits : 0)) + counts.invalidated;
  const parts = { lookups: 0, fills: 0, expiries: 0, confirms: 0, readers: 0 };
  let calls = 0;
  let bytes = 0;
  const add = (part, n, cost) => {
    calls += n * (cost.calls ?? 0);
    bytes += n * cost.bytes;
    parts[part] += n * (cost.calls ?? 0);
  };
  add('lookups', found, costs.lookupHit);
  add('lookups', Math.max(0, lookups - found), costs.lookupMiss);
  // Every miss that ran its handler took the fill lock and wrote (or was refused) with its release.
  add('fills', counts.misses, costs.fill);
  add('expiries', counts.expires, costs.expire);
  if (row.kind === 'strict') add('confirms', counts.confirmed, costs.confirm);
  if (tiered && !row.cluster) {
    // Every reader reads every message (N x expiries); a reader's XREAD with nothing to read times out every
    // maxLag / 4 (tau): with expiries arriving at e a second, a reader has e * exp(-e tau) / (1 - exp(-e tau)) such
    // timeouts a second (T / tau when none arrive).
    const tau = MAX_LAG / 4 / 1000;
    const e = counts.expires / seconds;
    const idle = e > 0 ? (seconds * e * Math.exp(-e * tau)) / (1 - Math.exp(-e * tau)) : seconds / tau;
    add('readers', instances * counts.expires, costs.follow);
    add('readers', instances * idle, costs.idle);
  }
  if (tiered && row.cluster) {
    // Poll rounds of 16 scripts, counted by the instances (at most one every 25 ms each: the ceiling is 40 a second,
    // reached when a round answers at once), plus each message once per reader.
    add('readers', counts.polls / 16, costs.pollRound);
    bytes += instances * counts.expires * costs.message.bytes;
  }
  return { calls, bytes, parts };
}

// ---- the rows --------------------------------------------------------------------------------------------------

async function measureRow(row, ports, options, entrySize) {
  const prefix = `bench:scale:${row.kind}:${randomBytes(3).toString('hex')}:`;
  const nodes = await nodeClients(ports);
  // What Redis held before this row: the memory line is this row's own.
  const empty = await snapshot(nodes);
  const instances = [];
  try {
    // One at a time: each stays on the list to be stopped, whichever fails to start.
    for (let i = 0; i < row.instances; i++) instances.push(await startInstance(row.kind, ports, prefix, options.pinned));
    const random = seeded(26);
    const draw = zipf(ITEMS, 1, random);
    const writes = new Map();
    await sleep(300); // every reader follows the stream
    await drive(instances, options.warmup, options.connections, draw, random, writes);
    const redisBefore = await snapshot(nodes);
    const before = await instanceStats(instances);
    const started = performance.now();
    const load = await drive(instances, options.seconds, options.connections, draw, random, writes);
    const seconds = (performance.now() - started) / 1000;
    const after = await instanceStats(instances);
    const redisAfter = await snapshot(nodes);
    const redis = delta(redisBefore, redisAfter);
    const counts = statsDelta(before, after);
    if (entrySize.meta === 0 && !row.cluster) {
      const [key] = await nodes[0].keys(`${prefix}e:*`);
      if (key !== undefined) {
        entrySize.meta = await nodes[0].hstrlen(key, 'm');
        entrySize.body = await nodes[0].hstrlen(key, 'b');
      }
    }
    const prop = row.kind === 'redis' ? undefined : await propagation(instances, options.rounds);
    const requests = load.gets + load.puts + load.ownReads;
    load.latencies.sort((x, y) => x - y);
    return {
      ...row,
      seconds,
      requests,
      rps: requests / seconds,
      hitRatio: load.hits / load.gets,
      p50: percentile(load.latencies, 0.5),
      p99: percentile(load.latencies, 0.99),
      callsPerRequest: redis.calls / requests,
      opsPerRequest: redis.ops / requests,
      bytesPerRequest: redis.bytes / requests,
      cpuPerRequest: counts.cpu / requests,
      redisCpuPerRequest: (redis.cpu * 1e6) / requests,
      redis,
      counts,
      load,
      prop,
      memory: {
        redis: redisAfter.memory - empty.memory,
        keys: redisAfter.keys - empty.keys,
        rss: after.rss / row.instances,
        tierBytes: after.tierBytes / row.instances,
      },
    };
  } finally {
    for (const node of nodes) node.disconnect();
    for (const instance of instances) instance.stop();
  }
}

const LABEL = { redis: 'Redis store', tiered: 'tiered', strict: 'tiered strict' };

/** Runs every row on `single` (one port) and `cluster` (the masters' ports), prints the table and the checks. */
export async function runFleetScale({ quick, single, cluster, connections = 1, instances = [4, 2], pinned = false }) {
  const options = {
    quick,
    pinned,
    connections,
    warmup: quick ? 1.5 : 8,
    seconds: quick ? 2 : 15,
    rounds: quick ? 10 : 50,
  };
  const rows = [];
  for (const n of instances) {
    for (const topology of [false, true]) {
      for (const kind of ['redis', 'tiered', 'strict']) rows.push({ kind, cluster: topology, instances: n });
    }
  }
  const entrySize = { meta: 0, body: 0 };
  const results = [];
  for (const row of rows) {
    results.push(await measureRow(row, row.cluster ? cluster : single, options, entrySize));
  }
  const entry = { meta: entrySize.meta || 420, body: entrySize.body || 960 };
  console.log(
    `\nFleet at scale: Zipf(1) over ${ITEMS.toLocaleString('en')} items, ${WRITE_SHARE * 100}% writes, round robin, ` +
      `${connections} request(s) in flight per instance, ${options.seconds} s a row after ${options.warmup} s of warm-up` +
      `${quick ? ' (quick)' : ''}\n`,
  );
  console.log(
    '| Instances | Redis | Store | req/s | hit ratio | p50 ms | p99 ms | calls/req | ops/req | bytes/req | Redis CPU µs/req | app CPU µs/req | propagation p50 / p99 / max ms |',
  );
  console.log('| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const prop = r.prop ? `${r.prop.p50.toFixed(1)} / ${r.prop.p99.toFixed(1)} / ${r.prop.max.toFixed(1)}` : '-';
    console.log(
      `| ${r.instances} | ${r.cluster ? 'cluster (3 masters)' : 'one node'} | ${LABEL[r.kind]} | ${Math.round(r.rps).toLocaleString('en')} | ` +
        `${r.hitRatio.toFixed(3)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.callsPerRequest.toFixed(2)} | ` +
        `${r.opsPerRequest.toFixed(1)} | ${Math.round(r.bytesPerRequest).toLocaleString('en')} | ${Math.round(r.redisCpuPerRequest)} | ` +
        `${Math.round(r.cpuPerRequest)} | ${prop} |`,
    );
  }
  // The model, per row.
  console.log(
    `\nCost model (docs/scaling.md) against Redis's counts; entry as stored: ${entry.meta} B metadata + ${entry.body} B body\n`,
  );
  console.log('| Instances | Redis | Store | calls/req model | measured | ratio | bytes/req model | measured | ratio |');
  console.log('| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const checks = [];
  for (const r of results) {
    const ids = [];
    const sample = zipf(ITEMS, 1, seeded(7));
    for (let i = 0; i < 2000; i++) ids.push(sample());
    const idLength = Math.round(ids.reduce((sum, id) => sum + String(id).length, 0) / ids.length);
    let k = 0;
    for (let id = 1; id <= ITEMS; id += 97) k += otherBuckets(id);
    k /= Math.ceil(ITEMS / 97);
    const costs = eventCosts(r.cluster, `bench:scale:${r.kind}:000000:`, entry, idLength, k);
    const model = predict(r, costs, r.counts, r.seconds, r.instances);
    const callsRatio = r.redis.calls / model.calls;
    const bytesRatio = r.redis.bytes / model.bytes;
    r.model = { calls: model.calls / r.requests, bytes: model.bytes / r.requests, callsRatio, bytesRatio, k, parts: model.parts };
    console.log(
      `| ${r.instances} | ${r.cluster ? 'cluster' : 'one node'} | ${LABEL[r.kind]} | ${r.model.calls.toFixed(2)} | ${r.callsPerRequest.toFixed(2)} | ` +
        `${callsRatio.toFixed(2)} | ${Math.round(r.model.bytes).toLocaleString('en')} | ${Math.round(r.bytesPerRequest).toLocaleString('en')} | ${bytesRatio.toFixed(2)} |`,
    );
    const name = `${r.instances} instances, ${r.cluster ? 'cluster' : 'one node'}, ${LABEL[r.kind]}`;
    checks.push([`model within ±20% of measured calls (${name})`, Math.abs(callsRatio - 1) <= 0.2, `${callsRatio.toFixed(2)}x`]);
    checks.push([`model within ±20% of measured bytes (${name})`, Math.abs(bytesRatio - 1) <= 0.2, `${bytesRatio.toFixed(2)}x`]);
  }
  console.log('\nMemory at the end of each row: what the row added to Redis (every node), and per instance\n');
  console.log('| Instances | Redis | Store | Redis used_memory added MB | Redis keys added | instance RSS MB | tier bytes MB |');
  console.log('| ---: | --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const mb = (n) => (n / 2 ** 20).toFixed(1);
    console.log(
      `| ${r.instances} | ${r.cluster ? 'cluster' : 'one node'} | ${LABEL[r.kind]} | ${mb(r.memory.redis)} | ${r.memory.keys.toLocaleString('en')} | ` +
        `${mb(r.memory.rss)} | ${r.kind === 'redis' ? '-' : mb(r.memory.tierBytes)} |`,
    );
  }
  console.log('\nWhere the modelled calls go, per request (tier hits and fills as shares of the GETs)\n');
  console.log(
    '| Instances | Redis | Store | tier hits | fills | lookups | fill calls | expiry calls | confirm calls | reader calls |',
  );
  console.log('| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const per = (n) => (n / r.requests).toFixed(2);
    const gets = r.counts.hits + r.counts.misses;
    console.log(
      `| ${r.instances} | ${r.cluster ? 'cluster' : 'one node'} | ${LABEL[r.kind]} | ${(r.counts.tierHits / gets).toFixed(3)} | ` +
        `${(r.counts.misses / gets).toFixed(3)} | ${per(r.model.parts.lookups)} | ${per(r.model.parts.fills)} | ${per(r.model.parts.expiries)} | ` +
        `${per(r.model.parts.confirms)} | ${per(r.model.parts.readers)} |`,
    );
  }
  // On a cluster the readers' poll rounds are the one term timed by the clock: 25 ms apart, each a round trip long.
  for (const r of results.filter((one) => one.cluster && one.kind !== 'redis')) {
    const rounds = r.counts.polls / 16 / r.instances / r.seconds;
    console.log(
      `${r.instances} instances, cluster, ${LABEL[r.kind]}: ${rounds.toFixed(1)} poll rounds a second per instance ` +
        `(a round every ${(1000 / rounds).toFixed(1)} ms; at most 40, one every 25 ms, when a round answers at once)`,
    );
  }
  console.log('');
  for (const r of results) {
    const name = `${r.instances} instances, ${r.cluster ? 'cluster' : 'one node'}, ${LABEL[r.kind]}`;
    const ownStale = r.load.ownStale + (r.prop?.ownStale ?? 0);
    checks.push([
      `read-your-writes: the writing instance never answers stale (${name})`,
      ownStale === 0,
      `${ownStale} of ${r.load.ownReads + (r.prop?.rounds ?? 0)}`,
    ]);
    if (r.kind === 'tiered') {
      checks.push([
        `no stale read later than maxLag (${MAX_LAG} ms) after a write's answer (${name})`,
        r.load.staleBeyondLag === 0,
        `${r.load.staleBeyondLag}; ${r.load.stale} within it`,
      ]);
      checks.push([`propagation p99 within maxLag (${name})`, r.prop.p99 <= MAX_LAG, `${r.prop.p99.toFixed(1)} ms`]);
    } else {
      checks.push([`no stale read after a write's answer on any instance (${name})`, r.load.stale === 0, `${r.load.stale}`]);
    }
    checks.push([`no errors or non-2xx answers (${name})`, r.load.errors === 0, `${r.load.errors}`]);
  }
  for (const [what, ok, value] of checks) console.log(`${ok ? 'PASS' : 'FAIL'} ${what} (${value})`);
  return results;
}

// ---- stand-alone ------------------------------------------------------------------------------------------------

async function main() {
  const quick = process.argv.includes('--quick');
  const connections = Number(
    /^--connections=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--connections=')) ?? '')?.[1] ?? 1,
  );
  const only = /^--instances=([\d,]+)$/.exec(process.argv.find((a) => a.startsWith('--instances=')) ?? '')?.[1];
  const redis = await startRedis();
  const cluster = await startCluster();
  try {
    await runFleetScale({
      quick,
      connections,
      single: [Number(new URL(redis.url).port)],
      cluster: cluster.url.split(',').map(Number),
      instances: only ? only.split(',').map(Number) : [4, 2],
      pinned: hasTaskset(),
    });
  } finally {
    redis.stop();
    cluster.stop();
  }
}

// Last, so that every constant above is initialised.
// Run as a script (not imported by the other fleet script); the path may go through a symbolic link.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === SELF) {
  if (process.argv[2] === 'serve') await serve();
  else await main();
}
