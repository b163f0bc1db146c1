// Where the heap bytes of a cached response go: fills `--entries=N` (default 20,000) ~1 KB responses through a real
// Koa 3 or Express 5 app (bench/users-app.mjs) and diffs two heap snapshots, before and after, by node type and
// constructor: bytes and count per entry of each kind that grew. Byte counts in a snapshot do not depend on load.
//
//   node --expose-gc bench/heap-per-entry.mjs [--framework=koa|express] [--entries=N] [--top=30]
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createCache, memoryStore } from 'group-cache';
import { settledGc, usersApp } from './users-app.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const framework = option('framework') ?? 'koa';
const count = Number(option('entries') ?? 20_000);
const top = Number(option('top') ?? 30);

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

/** Self size and count of the snapshot's nodes by `type name` (strings by type alone, closures by function name). */
function aggregate(snapshot) {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const sums = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = type.includes('string') || type === 'number' ? '' : strings[nodes[i + nameAt]];
    const kind = `${type} ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
    const sum = sums.get(kind) ?? { bytes: 0, count: 0 };
    sum.bytes += nodes[i + sizeAt];
    sum.count++;
    sums.set(kind, sum);
  }
  return sums;
}

/*
 * The snapshot as a graph: each node's type, name, size, id, edges out (type, name, target) and retainers in (their
 * first few), read from V8's flat arrays.
 */
function graph(snapshot) {
  const meta = snapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const at = (name) => meta.node_fields.indexOf(name);
  const [typeAt, nameAt, idAt, sizeAt, edgesAt] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(at);
  const edgeTypes = meta.edge_fields_types?.[0] ?? meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;
  const count = nodes.length / width;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n] + nodes[n * width + edgesAt] * edgeWidth;
  const retainer = new Int32Array(count).fill(-1);
  const retainerEdge = new Int32Array(count).fill(-1);
  for (let n = 0; n < count; n++) {
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += edgeWidth) {
      const to = edges[e + 2] / width;
      // The first strong retainer found is enough to say what holds a node.
      if (retainer[to] === -1 && edgeTypes[edges[e]] !== 'weak') {
        retainer[to] = n;
        retainerEdge[to] = e;
      }
    }
  }
  const node = (n) => ({
    type: meta.node_types[0][nodes[n * width + typeAt]],
    name: strings[nodes[n * width + nameAt]],
    id: nodes[n * width + idAt],
    size: nodes[n * width + sizeAt],
  });
  const edgeName = (e) => {
    const type = edgeTypes[edges[e]];
    return type === 'element' || type === 'hidden' ? `[${edges[e + 1]}]` : `${strings[edges[e + 1]]}`;
  };
  return {
    count,
    node,
    out(n) {
      const list = [];
      for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += edgeWidth) {
        list.push({ type: edgeTypes[edges[e]], name: edgeName(e), to: edges[e + 2] / width });
      }
      return list;
    },
    path(n, depth = 8) {
      const steps = [];
      for (let k = 0; k < depth && retainer[n] !== -1; k++) {
        const parent = retainer[n];
        const { type, name } = node(parent);
        steps.push(`${edgeName(retainerEdge[n])} of ${type} ${name.slice(0, 40)}`);
        n = parent;
      }
      return steps.join(' <- ');
    },
  };
}

// A snapshot written to a file, read only once both are taken: the reading would otherwise be in the second one.
async function snapshotFile(label) {
  await settledGc();
  return writeHeapSnapshot(join(tmpdir(), `heap-per-entry-${process.pid}-${label}.heapsnapshot`));
}

function read(file) {
  const parsed = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file);
  return parsed;
}

const store = memoryStore({ maxBytes: 2 ** 30, maxEntries: count * 2 });
const cache = createCache({ store, ttl: 600_000 });
const drive = await usersApp(framework, cache);
await drive(Array.from({ length: 400 }, (_, i) => `warm${i}`));
const beforeFile = await snapshotFile('before');
await drive(Array.from({ length: count }, (_, i) => i));
const afterFile = await snapshotFile('after');
const beforeSnapshot = read(beforeFile);
const before = aggregate(beforeSnapshot);
const afterSnapshot = read(afterFile);
const after = aggregate(afterSnapshot);
const rows = [];
let total = 0;
for (const [kind, sum] of after) {
  const old = before.get(kind) ?? { bytes: 0, count: 0 };
  const bytes = (sum.bytes - old.bytes) / count;
  total += bytes;
  rows.push({ kind, bytes, count: (sum.count - old.count) / count });
}
for (const [kind, old] of before) if (!after.has(kind)) total -= old.bytes / count;
rows.sort((a, b) => Math.abs(b.bytes) - Math.abs(a.bytes));
console.log(`${framework}: ${count} entries, ${total.toFixed(1)} B per entry in the snapshot (${cache.stats().entries} stored)`);
for (const row of rows.slice(0, top)) {
  console.log(`${row.bytes.toFixed(1).padStart(9)} B  ${row.count.toFixed(3).padStart(7)} /entry  ${row.kind}`);
}

// One entry as the snapshot has it: each field of a StoredEntry made during the fill, and what it points to.
const g = graph(afterSnapshot);
const oldIds = new Set();
{
  const meta = beforeSnapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const idAt = meta.node_fields.indexOf('id');
  for (let i = idAt; i < beforeSnapshot.nodes.length; i += width) oldIds.add(beforeSnapshot.nodes[i]);
}
const fresh = [];
for (let n = 0; n < g.count; n++) if (!oldIds.has(g.node(n).id)) fresh.push(n);
const entryNode = fresh.find((n) => g.node(n).name === 'StoredEntry');
if (entryNode !== undefined) {
  console.log(`\none StoredEntry (${g.node(entryNode).size} B) and what it points to:`);
  for (const edge of g.out(entryNode)) {
    const to = g.node(edge.to);
    const inner = g
      .out(edge.to)
      .filter((e) => e.type !== 'weak' && !['map', '__proto__'].includes(e.name))
      .slice(0, 6)
      .map((e) => `${e.name}: ${g.node(e.to).type} ${g.node(e.to).name.slice(0, 30)} ${g.node(e.to).size} B`);
    console.log(
      `  ${edge.name} (${edge.type}) -> ${to.type} ${JSON.stringify(to.name.slice(0, 40))} ${to.size} B${inner.length ? `  [${inner.join('; ')}]` : ''}`,
    );
  }
}
// What holds the nodes made during the fill: a few of each kind, by retainer path (V8's own code and Node's natives left out).
const samples = new Map();
for (const n of fresh) {
  const { type, name } = g.node(n);
  const kind = `${type} ${type.includes('string') || type === 'number' ? '' : name.slice(0, 40)}`;
  const list = samples.get(kind) ?? [];
  if (list.length < 3) list.push(n);
  samples.set(kind, list);
}
console.log('\nwhat holds a few of each kind made during the fill:');
for (const [kind, list] of samples) {
  if (/^(code|native|synthetic|hidden)|system \//.test(kind)) continue;
  for (const n of list) {
    const { name, size } = g.node(n);
    const text =
      kind.startsWith('string') || kind.startsWith('concat') || kind.startsWith('sliced')
        ? ` ${JSON.stringify(name.slice(0, 40))}`
        : '';
    console.log(`  ${kind}${text} ${size} B: ${g.path(n, 6)}`);
  }
}
