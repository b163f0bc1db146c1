// Self time by function from a .cpuprofile: `node bench/profile-summary.mjs <file> [top]`.
import { readFileSync } from 'node:fs';

export function summarizeProfile(file, top = 30, requests = undefined) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Weight each sample by its time delta (µs), so totals are CPU time and can be divided by requests served.
  const counts = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const sample = profile.samples[i];
    counts.set(sample, (counts.get(sample) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const perRequest = (us) => (requests ? ` ${(us / requests).toFixed(2).padStart(6)} µs/req` : '');
  for (const [id, count] of counts) {
    const { callFrame } = byId.get(id);
    const where = callFrame.url
      ? `${callFrame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${callFrame.lineNumber + 1}`
      : '';
    const name = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    self.set(name, (self.get(name) ?? 0) + count);
    total += count;
  }
  const lines = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, count]) => `${((100 * count) / total).toFixed(1).padStart(5)}%${perRequest(count)}  ${name}`);
  // Inclusive time of the library's own functions (dist/), counting each sample once per function.
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  for (const [id, count] of counts) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { callFrame } = byId.get(at);
      if (!callFrame.url.includes('/dist/') && !callFrame.url.includes('/bench/servers/')) continue;
      const name = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*\/(dist|bench)\//, '$1/')}:${callFrame.lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + count);
    }
  }
  const library = [...inclusive.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([name, count]) => `${((100 * count) / total).toFixed(1).padStart(5)}%${perRequest(count)}  ${name}`);
  return [
    `self time, ${(total / 1e6).toFixed(1)} s${requests ? ` over ${requests} requests` : ''}:`,
    ...lines,
    '',
    'inclusive time of group-cache functions:',
    ...library,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 30)));
}
