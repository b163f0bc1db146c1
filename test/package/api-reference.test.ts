/*
 * docs/api.md is the API reference: every name each package entry exports (package.json "exports", read from the
 * entries' sources with the TypeScript compiler, types included) appears in it; every option of the public options
 * interfaces has a row in its option table; and every row of an option table names an option the code has. Each
 * option table is marked with the interfaces it documents, on the line above it: `<!-- options: CacheOptions -->`.
 * Nothing here is a hard-coded list of names: options added to the code fail this test until they are documented.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const API = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');

// The public options interfaces, each held to its table. Their members are read from the code.
const OPTION_INTERFACES = [
  'CacheOptions',
  'RouteOptions',
  'ExpireOptions',
  'InspectorOptions',
  'KoaInspectorOptions',
  'HonoInspectorOptions',
  'DataOptions',
  'CachedOptions',
  'MemoryStoreOptions',
  'RedisStoreOptions',
  'TieredStoreOptions',
  'OpenTelemetryOptions',
  'ConformanceOptions',
  'EdgeOptions',
];
// Smaller option shapes, documented in prose beside their parent's table: each member named somewhere in api.md.
const PROSE_INTERFACES = ['InspectOptions', 'TierOptions', 'StoreFixtureOptions'];

type Conditions = { [condition: string]: string | Conditions };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Conditions | string> };

/** The source module behind an entry: its ESM declarations path, mapped from dist/esm/*.d.ts back to *.ts. */
function sourceOf(subpath: string): string {
  const target = pkg.exports[subpath] as Conditions;
  const types = (target.import as Conditions).types as string;
  return join(ROOT, types.replace(/^\.\/dist\/esm\//, '').replace(/\.d\.ts$/, '.ts'));
}

const entries = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => ({ name: subpath === '.' ? 'group-cache' : `group-cache/${subpath.slice(2)}`, file: sourceOf(subpath) }));

/** Every identifier inside a `code span` of the Markdown (fenced blocks included): what the reference names. */
function namesIn(markdown: string): Set<string> {
  const names = new Set<string>();
  const spans = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`\n]+)`/g)].map((m) => m[1] ?? m[2] ?? '');
  for (const span of spans) for (const [word] of span.matchAll(/[A-Za-z_$][\w$]*/g)) names.add(word);
  return names;
}

interface OptionTable {
  interfaces: string[];
  line: number;
  options: string[];
}

/** The option tables of api.md (a header row `| option | ...`), with the interfaces their marker names. */
function optionTables(markdown: string): { tables: OptionTable[]; unmarked: number[] } {
  const lines = markdown.split('\n');
  const tables: OptionTable[] = [];
  const unmarked: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\|\s*option\s*\|/.test(lines[i] ?? '')) continue;
    const marker = /^<!--\s*options:\s*([\w\s]+?)\s*-->$/.exec(lines[i - 1] ?? '');
    const options: string[] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] ?? '').startsWith('|'); j++) {
      const first = (lines[j] ?? '').split('|')[1] ?? '';
      const name = /`([\w$]+)`/.exec(first)?.[1];
      if (name) options.push(name);
    }
    if (marker) tables.push({ interfaces: (marker[1] ?? '').split(/\s+/), line: i + 1, options });
    else unmarked.push(i + 1);
    i = j;
  }
  return { tables, unmarked };
}

describe('docs/api.md: the API reference matches the code', function () {
  // Loading the framework typings for a program takes a few seconds on a busy machine.
  this.timeout(120_000);
  const exportsByEntry = new Map<string, string[]>();
  const members = new Map<string, string[]>();
  const documented = namesIn(API);

  before(() => {
    const program = ts.createProgram(
      entries.map((e) => e.file),
      {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
      },
    );
    const checker = program.getTypeChecker();
    for (const entry of entries) {
      const source = program.getSourceFile(entry.file);
      const module = source && checker.getSymbolAtLocation(source);
      if (!module) throw new Error(`${entry.name}: no module at ${entry.file}`);
      const symbols = checker.getExportsOfModule(module);
      exportsByEntry.set(
        entry.name,
        symbols.map((s) => s.getName()),
      );
      for (const symbol of symbols) {
        const name = symbol.getName();
        if (members.has(name) || ![...OPTION_INTERFACES, ...PROSE_INTERFACES].includes(name)) continue;
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        const type = checker.getDeclaredTypeOfSymbol(target);
        members.set(
          name,
          checker.getPropertiesOfType(type).map((p) => p.getName()),
        );
      }
    }
  });

  it('reads every entry of package.json "exports" from its source', () => {
    expect(entries.map((e) => e.name)).to.include.members(['group-cache', 'group-cache/express', 'group-cache/redis']);
    const missing = entries.filter((e) => !existsSync(e.file)).map((e) => `${e.name}: ${e.file}`);
    expect(missing).to.deep.equal([]);
  });

  it('names every export of every entry, types included', () => {
    const undocumented: string[] = [];
    for (const [entry, names] of exportsByEntry) {
      expect(names.length, `${entry} exports nothing?`).to.be.above(0);
      for (const name of names) if (!documented.has(name)) undocumented.push(`${entry}: ${name}`);
    }
    expect(undocumented, 'exported but not in docs/api.md').to.deep.equal([]);
  });

  it('names every value export the entries have at run time', async () => {
    const undocumented: string[] = [];
    for (const entry of entries) {
      const module = (await import(entry.file)) as Record<string, unknown>;
      const names = Object.keys(module).filter((name) => name !== 'default' && name !== 'module.exports');
      expect(names, `${entry.name} at run time`).to.include.members(
        names.filter((n) => exportsByEntry.get(entry.name)?.includes(n)),
      );
      for (const name of names) if (!documented.has(name)) undocumented.push(`${entry.name}: ${name}`);
    }
    expect(undocumented).to.deep.equal([]);
  });

  it('finds every options interface in the code', () => {
    const found = [...OPTION_INTERFACES, ...PROSE_INTERFACES].filter((name) => (members.get(name) ?? []).length > 0);
    expect(found).to.deep.equal([...OPTION_INTERFACES, ...PROSE_INTERFACES]);
  });

  it('every option table says which interfaces it documents', () => {
    const { tables, unmarked } = optionTables(API);
    expect(unmarked, 'option tables of docs/api.md (line numbers) with no <!-- options: Name --> above').to.deep.equal([]);
    const unknown = tables.flatMap((t) => t.interfaces).filter((name) => !members.has(name));
    expect(unknown, 'markers naming an interface the code does not export').to.deep.equal([]);
  });

  it('every option of the public options interfaces has a row in its table', () => {
    const { tables } = optionTables(API);
    const missing: string[] = [];
    for (const name of OPTION_INTERFACES) {
      const rows = new Set(tables.filter((t) => t.interfaces.includes(name)).flatMap((t) => t.options));
      if (rows.size === 0) missing.push(`${name}: no table`);
      for (const option of members.get(name) ?? []) if (!rows.has(option)) missing.push(`${name}.${option}`);
    }
    expect(missing, 'options in the code missing from docs/api.md').to.deep.equal([]);
  });

  it('every row of an option table names an option of the code', () => {
    const { tables } = optionTables(API);
    const stale: string[] = [];
    for (const table of tables) {
      const known = new Set(table.interfaces.flatMap((name) => members.get(name) ?? []));
      for (const option of table.options) {
        if (!known.has(option)) stale.push(`line ${table.line} (${table.interfaces.join(', ')}): ${option}`);
      }
    }
    expect(stale, 'options documented in docs/api.md that the code does not have').to.deep.equal([]);
  });

  it('names every member of the smaller option shapes', () => {
    const missing = PROSE_INTERFACES.flatMap((name) =>
      (members.get(name) ?? []).filter((option) => !documented.has(option)).map((option) => `${name}.${option}`),
    );
    expect(missing).to.deep.equal([]);
  });
});
