// Text tables for the console and bench/README.md.

const pad = (value, width, right = false) => (right ? String(value).padStart(width) : String(value).padEnd(width));
const fixed = (value, digits) => (value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits));

/** A Markdown table (readable as plain text too): req/s, spread, p50/p99 and the ratio to the limit row. */
export function formatTable(table) {
  const header = [
    'Framework',
    'Row',
    'req/s (median)',
    'spread (min-max)',
    'p50 ms',
    'p99 ms',
    'vs limit',
    'CPU µs/req',
    'CPU vs limit',
  ];
  const lines = table.rows.map((row) => [
    row.group,
    row.label,
    Math.round(row.rps).toLocaleString('en-US'),
    `${Math.round(row.rpsMin).toLocaleString('en-US')}-${Math.round(row.rpsMax).toLocaleString('en-US')}`,
    fixed(row.p50, 2),
    fixed(row.p99, 2),
    row.limit
      ? '1.00'
      : row.ratio === undefined
        ? ''
        : `${fixed(row.ratio, 2)} (${fixed(row.ratioMin, 2)}-${fixed(row.ratioMax, 2)})`,
    fixed(row.cpuUsPerReq, 1),
    row.limit ? '1.00' : fixed(row.cpuRatio, 2),
  ]);
  for (const skip of table.skipped) lines.push([skip.group, skip.label, 'skipped', skip.reason.slice(0, 60), '', '', '', '', '']);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  const numeric = [false, false, true, true, true, true, true, true, true];
  const render = (cells) => `| ${cells.map((cell, i) => pad(cell, widths[i], numeric[i])).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (numeric[i] ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}

export function formatMicro(micro, mixed) {
  const out = [];
  if (micro.error) return `micro measurements failed: ${micro.error}`;
  out.push('| Group expiry (expireGroups, one group) | 1 member | 1,000 members | 100,000 members |');
  out.push('|---|---:|---:|---:|');
  for (const [store, sizes] of Object.entries(micro.expiry)) {
    const cell = (size) => {
      const found = sizes.find((s) => s.size === size);
      return found ? `${found.medianUs.toFixed(1)} µs (first ${found.firstUs.toFixed(1)})` : '';
    };
    out.push(`| ${store} store, median | ${cell(1)} | ${cell(1_000)} | ${cell(100_000)} |`);
  }
  for (const [what, reason] of Object.entries(micro.skipped ?? {})) if (reason) out.push(`(${what} skipped: ${reason})`);
  const memory = micro.memory;
  if (memory) {
    out.push('');
    out.push(
      `Memory store, ${memory.entries.toLocaleString('en-US')} entries of a ${Math.round(memory.bodyLength)} B body: ` +
        `${Math.round(memory.measuredPerEntry)} B of heap per entry (heapUsed + external). ` +
        `Body Buffer ${Math.round(memory.bodyCostPerEntry)} B as allocated, headers+key ${Math.round(memory.headersAndKeyPerEntry)} B; ` +
        `overhead beyond body+headers+key ${Math.round(memory.overheadPerEntry)} B, of which the store's own structures ` +
        `${Math.round(memory.storeOverheadPerEntry)} B. The store accounts ${Math.round(memory.accountedPerEntry)} B per entry ` +
        `(${memory.accountedOverMeasured.toFixed(2)}x the measured growth).`,
    );
  }
  const viaHttp = micro.memoryViaHttp;
  if (viaHttp) {
    out.push(
      `Through a real Express app filled over HTTP (${viaHttp.entries.toLocaleString('en-US')} entries): ` +
        `${Math.round(viaHttp.measuredPerEntry)} B of heap per entry; the store accounts ${Math.round(viaHttp.accountedPerEntry)} B ` +
        `(${viaHttp.accountedOverMeasured.toFixed(2)}x).`,
    );
  }
  if (mixed?.rows?.length) {
    out.push('');
    out.push('| Mixed workload (90% GET over 10,000 keys, 10% PUT expiring a group) | req/s | hit ratio | p50 ms | p99 ms |');
    out.push('|---|---:|---:|---:|---:|');
    for (const row of mixed.rows) {
      out.push(
        `| ${row.label} | ${Math.round(row.rps).toLocaleString('en-US')} | ${(row.hitRatio * 100).toFixed(1)}% | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} |`,
      );
    }
  }
  for (const skip of mixed?.skipped ?? []) out.push(`(${skip.id} skipped: ${skip.reason})`);
  return out.join('\n');
}
