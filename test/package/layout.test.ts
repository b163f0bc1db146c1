/*
 * The house shows its rooms: lib/core < lib/stores < lib/engine < lib/http < lib/edge < adapters < cli < test-suite. A module may
 * import from its own room or a lower one, never a higher one; stores never import HTTP code, and nothing the library
 * runs imports the shipped test suites. Seams run one way (no import cycle, no `_` member reached from another
 * module), and every module of the library reads in a sitting (docs/architecture.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOMS = ['lib/core', 'lib/stores', 'lib/engine', 'lib/http', 'lib/edge', 'adapters', 'cli', 'test-suite'];

function rank(file: string): number {
  // The root entry gathers lib's rooms: it ranks as the highest of them.
  if (file === join('lib', 'index.ts')) return ROOMS.indexOf('lib/http');
  const room = ROOMS.findIndex((prefix) => file.startsWith(`${prefix}/`));
  if (room === -1) throw new Error(`${file} is in no room: put it in one of ${ROOMS.join(', ')}`);
  return room;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('layout: rooms', () => {
  const files = [...sources('lib'), ...sources('adapters'), ...sources('cli'), ...sources('test-suite')].filter(
    (file) => file !== join('lib', 'index.ts'),
  );

  it('every module of lib/ (but the root entry), adapters/ and test-suite/ lives in a room', () => {
    for (const file of files) expect(() => rank(file), file).to.not.throw();
    expect(files.length).to.be.above(20);
  });

  it('no module imports from a higher room', () => {
    const upward: string[] = [];
    for (const file of files) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      for (const [, spec] of source.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
        const target = relative(ROOT, normalize(join(ROOT, dirname(file), spec as string))).replace(/\.js$/, '.ts');
        if (rank(target) > rank(file)) upward.push(`${file} imports ${target}`);
      }
    }
    expect(upward).to.deep.equal([]);
  });

  it('the shipped test suites import only Node built-ins and their own package: no chai, supertest or mocha', () => {
    const outside: string[] = [];
    for (const file of sources('test-suite')) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      for (const [, spec] of source.matchAll(/from\s+'([^']+)'/g)) {
        if (!spec?.startsWith('node:') && !spec?.startsWith('.')) outside.push(`${file} imports ${spec}`);
      }
    }
    expect(outside).to.deep.equal([]);
    expect(sources('test-suite').length).to.be.above(5);
  });
});

/** Every relative import of each module of `files`, resolved to a module path (type-only and re-exports included). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    const targets: string[] = [];
    for (const [, spec] of source.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)) {
      targets.push(relative(ROOT, normalize(join(ROOT, dirname(file), spec as string))).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The import cycles of `graph`, each as the path that closes it (`a -> b -> a`). */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') found.push([...path.slice(path.indexOf(target)), target].join(' -> '));
      else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

/** Uses of a `_`-prefixed member declared in one of `sourceOf`'s modules, from another module. */
function crossingMembers(sourceOf: Map<string, string>): string[] {
  const declared = new Map<string, string>();
  for (const [file, source] of sourceOf) {
    for (const [, name] of source.matchAll(/^\s+(?:(?:readonly|static|async|private|protected|public)\s+)*(_\w+)\s*[(:=?<!]/gm)) {
      declared.set(name as string, file);
    }
  }
  const crossing: string[] = [];
  for (const [file, source] of sourceOf) {
    for (const [, name] of source.matchAll(/\.(_\w+)\b/g)) {
      const owner = declared.get(name as string);
      if (owner !== undefined && owner !== file) crossing.push(`${file} uses ${name} of ${owner}`);
    }
  }
  return crossing;
}

describe('layout: one-way seams', () => {
  const files = [...sources('lib'), ...sources('adapters'), ...sources('cli'), ...sources('test-suite')];

  it('no import cycle of any kind, type-only imports and re-exports included', () => {
    expect(cycles(importGraph(files))).to.deep.equal([]);
  });

  it('finds a cycle where there is one (the check itself)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).to.deep.equal(['a.ts -> b.ts -> c.ts -> a.ts']);
  });

  it('no `_`-prefixed member of ours is used outside the module that declares it', () => {
    const sourceOf = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));
    expect(crossingMembers(sourceOf)).to.deep.equal([]);
  });

  it("finds a `_` member used by another module (the check itself), not a framework's own `_router`", () => {
    const sourceOf = new Map([
      ['fill.ts', 'class Fill {\n  _settle(entry: unknown): void {}\n}'],
      ['cache.ts', 'fill._settle(undefined);\nconst stack = app._router.stack;'],
    ]);
    expect(crossingMembers(sourceOf)).to.deep.equal(['cache.ts uses _settle of fill.ts']);
  });
});

/** Modules over `maxLines` lines and functions over `maxFunctionLines`, as `file: what (lines)`. */
function oversized(files: string[], maxLines: number, maxFunctionLines: number): string[] {
  const found: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = text.split('\n').length;
    if (lines > maxLines) found.push(`${file}: module (${lines})`);
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (last - first + 1 > maxFunctionLines) found.push(`${file}:${first + 1}: function (${last - first + 1})`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('layout: modules a reader takes in at once', () => {
  it('no module of lib/, adapters/ or cli/ over 400 lines, and no function over 50', () => {
    expect(oversized([...sources('lib'), ...sources('adapters'), ...sources('cli')], 400, 50)).to.deep.equal([]);
  });
});
