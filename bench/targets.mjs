// The targets of issue 10 (and 13 for Fastify, 26 for misses, writes and big bodies), judged on one run's own numbers: ratios within a run, never
// across runs. Rows are compared through their framework's limit row, measured back to back with each of them:
// `ratio` is row req/s over limit req/s, `cpuRatio` limit CPU µs/request over the row's, medians over rounds.
// Each line names the measure it is judged on: server CPU per request, req/s, or both. A target counts as met on a
// full run (`npm run bench`), or on three quick runs that agree; in-process numbers (bench/inproc.mjs) are for
// before/after comparisons and are not judged here.

const fmt = (value, digits = 2) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));

export function checkTargets(table, micro) {
  const row = (id) => table.rows.find((candidate) => candidate.id === id);
  const targets = [];
  const add = (name, pass, detail) => targets.push({ name, pass, detail });
  const missing = (...ids) => `missing ${ids.filter((id) => !row(id)).join(', ')}`;
  // CPU per request of `a` over `b`, both taken against the same limit rows (1.05 = a costs 5% more).
  const cpuOver = (a, b) => b.cpuRatio / a.cpuRatio;
  // Not targets (`info`): where a route hit's cost sits. `-limit-headers-mw` is limit-headers behind a route
  // middleware that only calls next(), the least any route middleware costs; `-gc-memory-early` is the cache mounted
  // app-wide ahead of the router, where a hit skips route matching.
  const info = (name, detail) => targets.push({ name, info: true, detail });
  const explainFloor = (framework, prefix, hit, headers) => {
    const floor = row(`${prefix}-limit-headers-mw`);
    if (floor) {
      info(
        `${framework} a no-op route middleware in front of limit-headers (the floor of a hit answered from the route)`,
        `${fmt(cpuOver(floor, headers))}x of limit-headers' CPU/req; the hit ${fmt(cpuOver(hit, floor))}x of that floor ` +
          `(${fmt(hit.cpuUsPerReq, 1)} vs ${fmt(floor.cpuUsPerReq, 1)} µs)`,
      );
    }
    const early = row(`${prefix}-gc-memory-early`);
    if (early) {
      info(
        `${framework} memory hit mounted ahead of the router`,
        `${fmt(cpuOver(early, headers))}x of limit-headers' CPU/req (${fmt(early.cpuUsPerReq, 1)} vs ` +
          `${fmt(headers.cpuUsPerReq, 1)} µs); req/s ratios ${fmt(early.ratio)} vs ${fmt(headers.ratio)}`,
      );
    }
  };

  // The physical limit of a hit: a handler sending the same bytes and headers from a precomputed Buffer.
  for (const [framework, prefix, slack, rivals] of [
    ['Express 5', 'express5', 0.05, ['apicache', 'route-cache']],
    ['Express 4', 'express4', 0.05, ['apicache']],
    ['Koa 3', 'koa3', 0.1, ['koa-cash']],
    ['Koa 2', 'koa2', 0.1, ['koa-cash']],
  ]) {
    const hit = row(`${prefix}-gc-memory`);
    const headers = row(`${prefix}-limit-headers`);
    const name = `${framework} memory hit within ${slack * 100}% of limit-headers (judged on: server CPU/req via the limit pairs)`;
    if (!hit || !headers) add(name, undefined, missing(`${prefix}-gc-memory`, `${prefix}-limit-headers`));
    else {
      const over = cpuOver(hit, headers);
      add(
        name,
        over <= 1 + slack,
        `${fmt(hit.cpuUsPerReq, 1)} vs ${fmt(headers.cpuUsPerReq, 1)} µs (median); through the limit pairs ${fmt(over)}x ` +
          `(req/s ratios ${fmt(hit.ratio)} vs ${fmt(headers.ratio)})`,
      );
      explainFloor(framework, prefix, hit, headers);
    }
    for (const rival of rivals) {
      const other = row(`${prefix}-${rival}`);
      const rivalName = `${framework} memory hit ahead of ${rival} (judged on: req/s ratio and server CPU/req ratio, both)`;
      if (!hit || !other) {
        add(rivalName, undefined, missing(`${prefix}-gc-memory`, `${prefix}-${rival}`));
        continue;
      }
      add(
        rivalName,
        hit.ratio > other.ratio && hit.cpuRatio > other.cpuRatio,
        `req/s ratios ${fmt(hit.ratio)} vs ${fmt(other.ratio)} (${Math.round(hit.rps)} vs ${Math.round(other.rps)}); ` +
          `CPU vs limit ${fmt(hit.cpuRatio)} vs ${fmt(other.cpuRatio)} (${fmt(hit.cpuUsPerReq, 1)} vs ${fmt(other.cpuUsPerReq, 1)} µs)`,
      );
    }
  }

  for (const [framework, prefix] of [
    ['Fastify 5', 'fastify5'],
    ['Fastify 4', 'fastify4'],
    ['Hono 4', 'hono4'],
  ]) {
    const hit = row(`${prefix}-gc-memory`);
    const name = `${framework} memory hit >= 0.9 of limit (judged on: req/s ratio; CPU ratio shown)`;
    if (!hit) add(name, undefined, missing(`${prefix}-gc-memory`));
    else
      add(
        name,
        hit.ratio >= 0.9,
        `ratio ${fmt(hit.ratio)} (spread ${fmt(hit.ratioMin)}-${fmt(hit.ratioMax)}), CPU ${fmt(hit.cpuRatio)}`,
      );
  }

  // Not a target: a Nest hit pays Nest's own request pipeline (guards and interceptors are looked up, the interceptor
  // runs, Nest sends what it returns and the hit is written in its place); the limit row is a handler writing the
  // same bytes itself.
  const nestHit = row('nest-gc-memory');
  if (nestHit) {
    info(
      'Nest 12 (Express) memory hit against its limit (a handler writing the same Buffer)',
      `req/s ratio ${fmt(nestHit.ratio)} (spread ${fmt(nestHit.ratioMin)}-${fmt(nestHit.ratioMax)}), CPU ${fmt(nestHit.cpuRatio)} ` +
        `(${fmt(nestHit.cpuUsPerReq, 1)} µs/req)`,
    );
  }

  // Both rows are paired with the same limit row: their ratios divide out the machine's state between rounds.
  for (const [framework, prefix] of [
    ['Express 5', 'express5'],
    ['Koa 3', 'koa3'],
    ['Fastify 5', 'fastify5'],
    ['Hono 4', 'hono4'],
  ]) {
    const memory = row(`${prefix}-gc-memory`);
    const redis = row(`${prefix}-gc-redis`);
    const name = `${framework} Redis hit >= 0.8 of memory hit (judged on: req/s, through the limit ratios)`;
    if (!memory || !redis) {
      add(name, undefined, missing(`${prefix}-gc-memory`, `${prefix}-gc-redis`));
      continue;
    }
    const share = redis.ratio / memory.ratio;
    add(
      name,
      share >= 0.8,
      `${fmt(share)} (limit ratios ${fmt(redis.ratio)} vs ${fmt(memory.ratio)}; ${Math.round(redis.rps)} vs ` +
        `${Math.round(memory.rps)} req/s); CPU ${fmt(redis.cpuUsPerReq, 1)} vs ${fmt(memory.cpuUsPerReq, 1)} µs; ` +
        `p99 ${fmt(redis.p99)} vs ${fmt(memory.p99)} ms`,
    );
  }

  // Issue 26: misses on a full store. Each miss row is paired with the same route uncached (its group's `limit`
  // row), so `cpuRatio` is the uncached route's µs over the miss's, and 1 / cpuRatio what a miss costs over it.
  for (const [framework, prefix, peers] of [
    ['Express 5', 'express5', ['apicache']],
    ['Koa 3', 'koa3', ['koa-cash']],
    ['Fastify 5', 'fastify5', []],
  ]) {
    for (const [body, size] of [
      ['1k', '1 KB'],
      ['64k', '64 KB'],
    ]) {
      const id = (name) => `${prefix}-miss-${body}-${name}`;
      const uncached = row(id('json'));
      const memory = row(id('gc-memory'));
      const redis = row(id('gc-redis'));
      for (const [store, miss, most] of [
        ['memory', memory, 1.1],
        ['Redis', redis, 1.25],
      ]) {
        const name = `${framework} ${store} miss <= ${most.toFixed(2)}x the uncached route, ${size} (judged on: server CPU/req, paired with it)`;
        if (!miss || !uncached) {
          add(name, undefined, missing(id(store === 'memory' ? 'gc-memory' : 'gc-redis'), id('json')));
          continue;
        }
        const over = 1 / miss.cpuRatio;
        add(
          name,
          over <= most,
          `${fmt(over)}x (${fmt(miss.cpuUsPerReq, 1)} vs ${fmt(uncached.cpuUsPerReq, 1)} µs, medians); req/s ${fmt(miss.ratio)} ` +
            `of uncached (${Math.round(miss.rps)} vs ${Math.round(uncached.rps)})`,
        );
      }
      for (const peer of peers) {
        const other = row(id(peer));
        const name = `${framework} memory and Redis misses cost less than ${peer}'s, ${size} (judged on: server CPU/req, through the uncached pairs)`;
        if (!other || !memory || !redis || !uncached) {
          add(name, undefined, missing(id('gc-memory'), id('gc-redis'), id(peer), id('json')));
          continue;
        }
        add(
          name,
          memory.cpuRatio > other.cpuRatio && redis.cpuRatio > other.cpuRatio,
          `${fmt(1 / memory.cpuRatio)}x and ${fmt(1 / redis.cpuRatio)}x the uncached route against ${fmt(1 / other.cpuRatio)}x ` +
            `(${fmt(memory.cpuUsPerReq, 1)}, ${fmt(redis.cpuUsPerReq, 1)} vs ${fmt(other.cpuUsPerReq, 1)} µs)`,
        );
      }
    }
  }

  // Issue 26: writes. Each write row is paired with the same PUT route without the cache (its group's `limit` row), so
  // 1 / cpuRatio is what the expiry costs a write over it; p99Added the median over pairs of the row's p99 minus the
  // uncached write's in the same pair.
  for (const [framework, prefix] of [
    ['Express 5', 'express5'],
    ['Koa 3', 'koa3'],
    ['Fastify 5', 'fastify5'],
  ]) {
    const uncached = row(`${prefix}-write-uncached`);
    for (const [store, most] of [
      ['memory', 1.05],
      ['redis', 1.25],
    ]) {
      for (const groups of [1, 10]) {
        const id = `${prefix}-write-gc-${store}-${groups}g`;
        const write = row(id);
        const name =
          `${framework} write expiring ${groups} group${groups > 1 ? 's' : ''}, ${store === 'redis' ? 'Redis' : 'memory'} ` +
          `store, <= ${most.toFixed(2)}x the uncached write (judged on: server CPU/req, paired with it)`;
        if (!write || !uncached) {
          add(name, undefined, missing(id, `${prefix}-write-uncached`));
          continue;
        }
        const over = 1 / write.cpuRatio;
        add(
          name,
          over <= most,
          `${fmt(over)}x (${fmt(write.cpuUsPerReq, 1)} vs ${fmt(uncached.cpuUsPerReq, 1)} µs, medians); req/s ${fmt(write.ratio)} ` +
            `of uncached (${Math.round(write.rps)} vs ${Math.round(uncached.rps)})`,
        );
      }
    }
    // Not a target: the issue asks for the latency a Redis expiry adds (one round trip before the response), not a bound.
    const redisRows = [1, 10].map((groups) => [groups, row(`${prefix}-write-gc-redis-${groups}g`)]).filter(([, r]) => r);
    if (uncached && redisRows.length) {
      info(
        `${framework} p99 latency added by the expiry on Redis (write rows, each paired with the uncached write)`,
        redisRows
          .map(
            ([groups, r]) =>
              `${groups} group${groups > 1 ? 's' : ''}: p99 ${fmt(r.p99)} vs ${fmt(uncached.p99)} ms (medians), ` +
              `+${fmt(r.p99Added)} ms per pair (median)`,
          )
          .join('; '),
      );
    }
  }

  // Issue 26: hits of big bodies, each paired with its framework's limit-headers row sending the same bytes from a
  // precomputed Buffer. A stall of the event loop (a copy or a serialisation of the body on the hit path) would show
  // in the p99 as a multiple of the limit's, so the p99 tolerance is 1.25x per pair: the req/s target already lets
  // every request of the closed loop take 1/0.95 = 1.05x as long, and a p99 taken from one short sample (at 1 MB, a
  // few thousand responses) moves by 10-20% between two measurements of the same server.
  for (const [framework, prefix] of [
    ['Express 5', 'express5'],
    ['Koa 3', 'koa3'],
    ['Fastify 5', 'fastify5'],
  ]) {
    for (const [body, size] of [
      ['64k', '64 KB'],
      ['1m', '1 MB'],
    ]) {
      const limitId = `${prefix}-hit-${body}-limit-headers`;
      const hitId = `${prefix}-hit-${body}-gc-memory`;
      const limit = row(limitId);
      const hit = row(hitId);
      const rateName = `${framework} memory hit of ${size} >= 0.95x its limit-headers row (judged on: req/s, paired with it)`;
      const p99Name = `${framework} memory hit of ${size}: p99 <= 1.25x limit-headers' (judged on: p99 latency, paired with it)`;
      if (!limit || !hit) {
        add(rateName, undefined, missing(hitId, limitId));
        add(p99Name, undefined, missing(hitId, limitId));
        continue;
      }
      add(
        rateName,
        hit.ratio >= 0.95,
        `ratio ${fmt(hit.ratio)} (spread ${fmt(hit.ratioMin)}-${fmt(hit.ratioMax)}; ${Math.round(hit.rps)} vs ` +
          `${Math.round(limit.rps)} req/s), CPU ${fmt(hit.cpuRatio)} (${fmt(hit.cpuUsPerReq, 1)} vs ${fmt(limit.cpuUsPerReq, 1)} µs)`,
      );
      add(
        p99Name,
        hit.p99Ratio <= 1.25,
        `${fmt(hit.p99Ratio)}x per pair (median); p99 ${fmt(hit.p99)} vs ${fmt(limit.p99)} ms (medians), worst round ` +
          `${fmt(hit.p99Max)} vs ${fmt(limit.p99Max)} ms`,
      );
    }
  }

  for (const store of ['memory', 'redis']) {
    const sizes = micro?.expiry?.[store];
    if (!sizes) {
      add(
        `Expiry (${store}): 100,000 members within 2x of 1 (judged on: median time per expiry, in-process)`,
        undefined,
        micro?.skipped?.redisExpiry ?? 'not measured',
      );
      continue;
    }
    const one = sizes.find((s) => s.size === 1);
    const big = sizes.find((s) => s.size === 100_000);
    add(
      `Expiry (${store}): 100,000 members within 2x of 1 (judged on: median time per expiry, in-process)`,
      big.medianUs <= 2 * one.medianUs,
      `median ${fmt(one.medianUs, 1)} µs (1) vs ${fmt(big.medianUs, 1)} µs (100,000): ${fmt(big.medianUs / one.medianUs)}x`,
    );
  }

  const memory = micro?.memory;
  if (!memory) {
    add('Memory store structures <= 300 B per entry (judged on: heap growth after full GCs)', undefined, 'not measured');
    add(
      'Memory store accounting within 10% of heap growth (judged on: stats().bytes over heap growth)',
      undefined,
      'not measured',
    );
  } else {
    add(
      'Memory store structures <= 300 B per entry (judged on: heap growth after full GCs)',
      memory.storeOverheadPerEntry <= 300,
      `${fmt(memory.storeOverheadPerEntry, 0)} B beyond body Buffer, headers and key ` +
        `(${fmt(memory.measuredPerEntry, 0)} B measured, the body Buffer ${fmt(memory.bodyCostPerEntry, 0)} B for ${fmt(memory.bodyLength, 0)} B)`,
    );
    const via = micro.memoryViaHttp;
    const within = (x) => x >= 0.9 && x <= 1.1;
    add(
      'Memory store accounting within 10% of heap growth (judged on: stats().bytes over heap growth)',
      within(memory.accountedOverMeasured) && (via === undefined || within(via.accountedOverMeasured)),
      `accounts ${fmt(memory.accountedOverMeasured)}x of the growth (${fmt(memory.accountedPerEntry, 0)} vs ` +
        `${fmt(memory.measuredPerEntry, 0)} B)` +
        (via === undefined
          ? ''
          : `; through Express ${fmt(via.accountedOverMeasured)}x (${fmt(via.accountedPerEntry, 0)} vs ${fmt(via.measuredPerEntry, 0)} B)`),
    );
  }
  memoryOutsideTargets(micro, add);
  return targets;
}

/*
 * The outside view (bench/micro.mjs memoryThroughApp): heapUsed + arrayBuffers after full GCs over 100,000 entries
 * filled through a real app, less each entry's body, key and stored header bytes.
 */
function memoryOutsideTargets(micro, add) {
  for (const [framework, label] of [
    ['koa', 'Koa 3'],
    ['express', 'Express 5'],
  ]) {
    const name = `Memory <= 300 B per entry above body + key + headers (${label}, outside view) (judged on: heapUsed + arrayBuffers after full GCs)`;
    const result = micro?.memoryOutside?.[framework];
    if (!result) {
      add(name, undefined, 'not measured');
      continue;
    }
    add(
      name,
      result.overheadPerEntry <= 300,
      `${fmt(result.overheadPerEntry, 0)} B above them (${fmt(result.measuredPerEntry, 0)} B measured over ` +
        `${result.entries} entries; body ${fmt(result.bodyPerEntry, 0)} B, key ${fmt(result.keyPerEntry, 0)} B, ` +
        `headers ${fmt(result.headersPerEntry, 0)} B)`,
    );
  }
}
