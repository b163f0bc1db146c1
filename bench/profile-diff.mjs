// Where two rows' CPU per request differs, function by function (self time, µs per request):
// `node bench/profile-diff.mjs <a.cpuprofile> <b.cpuprofile> [top]`. Request counts come from the `.json` files that
// `node bench/run.mjs --profile=<row>` writes beside each profile. Idle time is left out.
import { readFileSync } from 'node:fs';

function selfPerRequest(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const { requests, row } = JSON.parse(readFileSync(`${file}.json`, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const { callFrame } = byId.get(profile.samples[i]);
    if (callFrame.functionName === '(idle)') continue;
    const where = callFrame.url ? ` ${callFrame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}` : '';
    const name = `${callFrame.functionName || '(anonymous)'}${where}`;
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / requests);
  }
  return { row, requests, self };
}

const [fileA, fileB, top = '40'] = process.argv.slice(2);
const a = selfPerRequest(fileA);
const b = selfPerRequest(fileB);
const sum = (map) => [...map.values()].reduce((x, y) => x + y, 0);
const names = new Set([...a.self.keys(), ...b.self.keys()]);
const rows = [...names]
  .map((name) => ({ name, a: a.self.get(name) ?? 0, b: b.self.get(name) ?? 0 }))
  .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
  .slice(0, Number(top));
console.log(`${a.row} (a): ${sum(a.self).toFixed(2)} µs/req busy over ${a.requests} requests`);
console.log(`${b.row} (b): ${sum(b.self).toFixed(2)} µs/req busy over ${b.requests} requests`);
console.log('   b - a      a      b  function (self time, µs per request)');
for (const row of rows) {
  const diff = row.b - row.a;
  console.log(
    `${(diff >= 0 ? '+' : '') + diff.toFixed(2).padStart(6)} ${row.a.toFixed(2).padStart(6)} ${row.b.toFixed(2).padStart(6)}  ${row.name}`,
  );
}
