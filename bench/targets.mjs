// The targets of issue 6, judged on one run's own numbers (ratios within a run, never across runs).

const fmt = (value, digits = 2) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));

export function checkTargets(table, micro) {
  const row = (id) => table.rows.find((candidate) => candidate.id === id);
  const targets = [];
  const add = (name, pass, detail) => targets.push({ name, pass, detail });
  const missing = (...ids) => ids.filter((id) => !row(id));

  for (const [framework, prefix, rivals] of [
    ['Express 5', 'express5', ['apicache', 'route-cache']],
    ['Express 4', 'express4', ['apicache']],
  ]) {
    const hit = row(`${prefix}-gc-memory`);
    if (!hit) add(`${framework} memory hit >= 0.95 of limit`, undefined, `row ${prefix}-gc-memory did not run`);
    else
      add(
        `${framework} memory hit >= 0.95 of limit`,
        hit.ratio >= 0.95,
        `ratio ${fmt(hit.ratio)} (spread ${fmt(hit.ratioMin)}-${fmt(hit.ratioMax)})`,
      );
    for (const rival of rivals) {
      const other = row(`${prefix}-${rival}`);
      if (!hit || !other) {
        add(
          `${framework} memory hit ahead of ${rival}`,
          undefined,
          `missing ${missing(`${prefix}-gc-memory`, `${prefix}-${rival}`)}`,
        );
        continue;
      }
      add(
        `${framework} memory hit ahead of ${rival}`,
        hit.ratio > other.ratio,
        `${Math.round(hit.rps)} vs ${Math.round(other.rps)} req/s (ratios ${fmt(hit.ratio)} vs ${fmt(other.ratio)})`,
      );
    }
  }

  const koaHit = row('koa3-gc-memory');
  const koaCash = row('koa3-koa-cash');
  if (!koaHit) add('Koa memory hit >= 0.95 of limit', undefined, 'row koa3-gc-memory did not run');
  else
    add(
      'Koa memory hit >= 0.95 of limit',
      koaHit.ratio >= 0.95,
      `ratio ${fmt(koaHit.ratio)} (spread ${fmt(koaHit.ratioMin)}-${fmt(koaHit.ratioMax)})`,
    );
  if (!koaHit || !koaCash)
    add('Koa memory hit level with or ahead of koa-cash', undefined, `missing ${missing('koa3-gc-memory', 'koa3-koa-cash')}`);
  else {
    // "Level with": within 1% of koa-cash's ratio counts, anything below that is a miss.
    add(
      'Koa memory hit level with or ahead of koa-cash',
      koaHit.ratio >= koaCash.ratio * 0.99,
      `${Math.round(koaHit.rps)} vs ${Math.round(koaCash.rps)} req/s (ratios ${fmt(koaHit.ratio)} vs ${fmt(koaCash.ratio)}; level = within 1%)`,
    );
  }

  for (const [framework, prefix] of [
    ['Express 5', 'express5'],
    ['Koa 3', 'koa3'],
  ]) {
    const memory = row(`${prefix}-gc-memory`);
    const redis = row(`${prefix}-gc-redis`);
    if (!memory || !redis) {
      add(
        `${framework} Redis hit >= 0.6 of memory hit, p99 < 2x`,
        undefined,
        `missing ${missing(`${prefix}-gc-memory`, `${prefix}-gc-redis`)}`,
      );
      continue;
    }
    const share = redis.rps / memory.rps;
    const p99 = redis.p99 / memory.p99;
    add(
      `${framework} Redis hit >= 0.6 of memory hit, p99 < 2x`,
      share >= 0.6 && p99 < 2,
      `${fmt(share)} of memory's req/s; p99 ${fmt(redis.p99)} vs ${fmt(memory.p99)} ms (${fmt(p99)}x)`,
    );
  }

  for (const store of ['memory', 'redis']) {
    const sizes = micro?.expiry?.[store];
    if (!sizes) {
      add(`Expiry (${store}): 100,000 members within 2x of 1`, undefined, micro?.skipped?.redisExpiry ?? 'not measured');
      continue;
    }
    const one = sizes.find((s) => s.size === 1);
    const big = sizes.find((s) => s.size === 100_000);
    add(
      `Expiry (${store}): 100,000 members within 2x of 1`,
      big.medianUs <= 2 * one.medianUs,
      `median ${fmt(one.medianUs, 1)} µs (1) vs ${fmt(big.medianUs, 1)} µs (100,000): ${fmt(big.medianUs / one.medianUs)}x`,
    );
  }

  const memory = micro?.memory;
  if (!memory) add('Memory overhead <= 300 B per entry', undefined, 'not measured');
  else {
    add(
      'Memory overhead <= 300 B per entry',
      memory.overheadPerEntry <= 300,
      `${fmt(memory.overheadPerEntry, 0)} B beyond body+headers+key (of which the store's own structures ` +
        `${fmt(memory.storeOverheadPerEntry, 0)} B, the body Buffer's pool share ${fmt(memory.bodyCostPerEntry - memory.bodyLength, 0)} B)`,
    );
  }
  return targets;
}
