/*
 * Type tests (issue 27, item 11): what TypeScript users write against the built declarations, checked by the
 * compilers they use. test/types/ holds typed routes on Express 4 and 5, Koa, Fastify 4 and 5, Hono (expect-type and
 * @ts-expect-error lines, so a widened or broken type fails the compile), and every ```ts block of README.md and
 * docs/*.md is compiled too. Each runs under TypeScript 5 (`typescript`) and 7 (`typescript7`, a local package
 * one level down: see test/types/typescript7/package.json). Nothing is run, only compiled.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = join(ROOT, 'test/types');

const COMPILERS = {
  'TypeScript 5': require.resolve('typescript/bin/tsc'),
  // Its package exports no bin path; npm installs it under the local package (the root holds TypeScript 5).
  'TypeScript 7': join(TYPES, 'typescript7/node_modules/typescript/bin/tsc'),
} as const;
type Compiler = keyof typeof COMPILERS;

interface Compile {
  code: number;
  output: string;
}

function tsc(compiler: Compiler, args: readonly string[]): Promise<Compile> {
  return new Promise((resolve) => {
    execFile(process.execPath, [COMPILERS[compiler], ...args], { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}${error && !stdout && !stderr ? error.message : ''}` });
    });
  });
}

/** The ```ts blocks of a Markdown file, with the line each starts on. */
function tsBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] ?? '')) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1] ?? '')) i++;
    blocks.push({ line: start + 1, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return blocks;
}

// Written beside the snippets. readme-env.d.ts: what blocks use without defining it, the reader's own app, handlers
// and data functions (a block's own declarations shadow these; kept out of test/types, where the repository's
// tsconfig.json would make them globals of every test). The rest: modules a block imports from its own project.
const SNIPPET_STUBS: Record<string, string> = {
  'readme-env.d.ts': `import type { Express, Request, RequestHandler } from 'express';
import type { GroupCache, KeyFunction } from 'group-cache';
declare global {
  const app: Express;
  const cache: GroupCache;
  const keyFn: KeyFunction<Request>;
  const showUser: RequestHandler;
  const listUsers: RequestHandler;
  function getUser(id: string): Promise<{ id: string; name: string }>;
  function createUser(input: unknown): Promise<{ id: string; name: string }>;
  function updateUser(id: string, input: unknown): Promise<{ id: string; name: string }>;
  function deleteUser(id: string): Promise<void>;
}
`,
  'my-store.ts': `import { type MemoryStoreOptions, memoryStore } from 'group-cache';
export function myStore(options?: MemoryStoreOptions) {
  return Object.assign(memoryStore(options), { recordCount: () => 0 });
}
`,
  'shared.ts': `import type { CallHandler, CanActivate, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
export declare class AuthGuard implements CanActivate {
  canActivate(): boolean;
}
export declare class TimingInterceptor implements NestInterceptor {
  intercept(context: unknown, next: CallHandler): Observable<unknown>;
}
export declare class EnvelopeInterceptor implements NestInterceptor {
  intercept(context: unknown, next: CallHandler): Observable<unknown>;
}
`,
  'my-driver.ts': `import type { AdapterDriver } from 'group-cache/test-suite';
export declare const myFrameworkDriver: AdapterDriver;
`,
};

const LATEST = 'test/types and the ```ts blocks of README.md and docs/ (Express 5, Koa, Fastify 5, Hono)';
const OLDER = 'test/types on the older majors (Express 4, Fastify 4)';
const LEGACY_DECORATORS = 'test/types/cached.ts under experimentalDecorators + emitDecoratorMetadata';
// NestJS code needs the decorator settings every Nest project has; the blocks that import it are compiled with them.
const NEST = 'test/types/nest.ts and the ```ts blocks using NestJS (experimentalDecorators, emitDecoratorMetadata)';
const isNest = (code: string): boolean => /from '(@nestjs\/|group-cache\/nest')/.test(code);

describe('type tests (TypeScript 5 and 7)', function () {
  // Two TypeScript 5 programs side by side take ~20 s on 2 busy cores; a TypeScript 7 one about a second.
  this.timeout(120_000);
  const snippetDir = join(ROOT, 'test/output', `types-snippets-${process.pid}`);
  const snippetFiles: Array<{ file: string; source: string; nest: boolean }> = [];
  const compiles = new Map<string, Promise<Compile>>();

  before(() => {
    // Every block becomes its own module, so that their imports and names do not collide.
    mkdirSync(snippetDir, { recursive: true });
    const docs = existsSync(join(ROOT, 'docs'))
      ? readdirSync(join(ROOT, 'docs'))
          .filter((name) => name.endsWith('.md'))
          .map((name) => `docs/${name}`)
      : [];
    for (const doc of ['README.md', ...docs]) {
      for (const { line, code } of tsBlocks(readFileSync(join(ROOT, doc), 'utf8'))) {
        const file = `${doc.replace(/\W+/g, '-')}-line-${line}.ts`;
        // `export {}` keeps a block with no import a module.
        writeFileSync(join(snippetDir, file), `${code}\nexport {};\n`);
        snippetFiles.push({ file, source: `${doc}:${line}`, nest: isNest(code) });
      }
    }
    for (const [name, code] of Object.entries(SNIPPET_STUBS)) writeFileSync(join(snippetDir, name), code);
    writeFileSync(
      join(snippetDir, 'tsconfig.json'),
      JSON.stringify({
        extends: relative(snippetDir, join(TYPES, 'tsconfig.json')),
        // One program with test/types' own files: a TypeScript 5 program pays seconds for loading the typings.
        files: [
          'readme-env.d.ts',
          ...['express.ts', 'koa.ts', 'fastify.ts', 'cached.ts', 'hono.ts'].map((file) =>
            relative(snippetDir, join(TYPES, file)),
          ),
          ...snippetFiles.filter((s) => !s.nest).map((s) => s.file),
        ],
      }),
    );
    writeFileSync(
      join(snippetDir, 'tsconfig.nest.json'),
      JSON.stringify({
        extends: relative(snippetDir, join(TYPES, 'tsconfig.nest.json')),
        files: [
          'readme-env.d.ts',
          relative(snippetDir, join(TYPES, 'nest.ts')),
          ...snippetFiles.filter((s) => s.nest).map((s) => s.file),
        ],
      }),
    );
    const projects = {
      [LATEST]: ['-p', relative(ROOT, join(snippetDir, 'tsconfig.json'))],
      [OLDER]: ['-p', 'test/types/tsconfig.v4.json'],
      [LEGACY_DECORATORS]: ['-p', 'test/types/tsconfig.decorators-legacy.json'],
      [NEST]: ['-p', relative(ROOT, join(snippetDir, 'tsconfig.nest.json'))],
    };
    for (const compiler of Object.keys(COMPILERS) as Compiler[]) {
      for (const [name, args] of Object.entries(projects)) compiles.set(`${compiler}: ${name}`, tsc(compiler, args));
    }
    // TypeScript 5 under every resolution is test/package/tarball.test.ts's; 7 is fast enough to add here.
    for (const [module, resolution] of [
      ['preserve', 'bundler'],
      ['node16', 'node16'],
    ] as const) {
      compiles.set(
        `TypeScript 7: test/types under module ${module} + ${resolution}`,
        tsc('TypeScript 7', ['-p', 'test/types/tsconfig.json', '--module', module, '--moduleResolution', resolution]),
      );
    }
  });

  after(() => rmSync(snippetDir, { recursive: true, force: true }));

  it('TypeScript 7 is the 7.x the tests mean to run (a local package, not the 5.x every other check uses)', async () => {
    const [five, seven] = await Promise.all([tsc('TypeScript 5', ['--version']), tsc('TypeScript 7', ['--version'])]);
    expect(five.output).to.match(/Version 5\./);
    expect(seven.output).to.match(/Version 7\./);
  });

  it('README.md has TypeScript blocks to check (the TypeScript section, the Redis set-up)', () => {
    expect(snippetFiles.filter((s) => s.source.startsWith('README.md:')).length).to.be.at.least(5);
  });

  it('docs/nest.md has TypeScript blocks to check, compiled as a NestJS project', () => {
    expect(snippetFiles.filter((s) => s.nest && s.source.startsWith('docs/nest.md:')).length).to.be.at.least(4);
  });

  for (const compiler of Object.keys(COMPILERS) as Compiler[]) {
    for (const project of [LATEST, OLDER, LEGACY_DECORATORS, NEST]) {
      it(`${compiler}: ${project} compile with no error`, async () => {
        const result = await compiles.get(`${compiler}: ${project}`);
        // Errors name the generated file, which names the Markdown file and line its block starts on.
        expect(result?.output.trim(), result?.output).to.equal('');
        expect(result?.code).to.equal(0);
      });
    }
  }

  for (const setting of ['module preserve + bundler', 'module node16 + node16']) {
    it(`TypeScript 7: test/types compile under ${setting} (README: 7.0 takes nodenext, node16 and bundler)`, async () => {
      const result = await compiles.get(`TypeScript 7: test/types under ${setting}`);
      expect(result?.output.trim(), result?.output).to.equal('');
      expect(result?.code).to.equal(0);
    });
  }

  it('TypeScript 7 refuses moduleResolution node10, as the README says (5.x takes it: test/package/tarball.test.ts)', async () => {
    const result = await tsc('TypeScript 7', [
      '-p',
      'test/types/tsconfig.json',
      '--module',
      'commonjs',
      '--moduleResolution',
      'node10',
    ]);
    expect(result.code).to.not.equal(0);
    expect(result.output).to.match(/node10/i);
  });
});
