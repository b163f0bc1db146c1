/*
 * Every code block of README.md and docs/*.md is checked by a test. ```ts blocks are compiled by
 * test/package/types.test.ts; here: every ```js / ```javascript / ```mjs block parses as an ES module (`node --check`, so
 * a fragment must still be valid JavaScript: import what you use once, no `...` placeholders), and every ```sh
 * block names only npm scripts that package.json has and files that exist.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { docPages, ROOT } from '../helpers/repo.js';

const PAGES = docPages();
const SCRIPTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
// npm's own commands that run a script of the same name.
const LIFECYCLE = new Set(['start', 'test', 'stop', 'restart']);

interface Block {
  source: string;
  lang: string;
  code: string;
}

/** The fenced blocks of a page, with the line each starts on. */
function blocks(page: string): Block[] {
  const result: Block[] = [];
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1] ?? '')) i++;
    result.push({ source: `${page}:${start + 1}`, lang: open[1] as string, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return result;
}

const all = PAGES.flatMap(blocks);
const js = all.filter((b) => ['js', 'javascript', 'mjs'].includes(b.lang));
const sh = all.filter((b) => ['sh', 'bash', 'shell'].includes(b.lang));

function nodeCheck(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--check', file], { timeout: 60_000 }, (error, _stdout, stderr) =>
      resolve(error ? stderr || error.message : ''),
    );
  });
}

describe('code blocks of README.md and docs/', function () {
  this.timeout(120_000);
  const dir = join(ROOT, 'test/output', `doc-blocks-${process.pid}`);
  before(() => mkdirSync(dir, { recursive: true }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has JavaScript and shell blocks to check', () => {
    expect(js.length).to.be.above(0);
    expect(sh.filter((b) => b.source.startsWith('README.md:')).length).to.be.at.least(2);
  });

  it('every js block parses as an ES module (node --check)', async () => {
    const failures = await Promise.all(
      js.map(async (block, index) => {
        const file = join(dir, `${block.source.replace(/\W+/g, '-')}-${index}.mjs`);
        writeFileSync(file, `${block.code}\n`);
        const error = await nodeCheck(file);
        return error ? `${block.source}: ${error.split('\n').slice(0, 5).join('\n')}` : '';
      }),
    );
    expect(failures.filter(Boolean)).to.deep.equal([]);
  });

  it('every npm script a sh block runs is in package.json', () => {
    const missing: string[] = [];
    for (const block of sh) {
      for (const [, script] of block.code.matchAll(/\bnpm run(?:-script)? ([\w:.-]+)/g)) {
        if (!((script as string) in SCRIPTS)) missing.push(`${block.source}: npm run ${script}`);
      }
      for (const [, command] of block.code.matchAll(/\bnpm (start|test|stop|restart)\b/g)) {
        if (LIFECYCLE.has(command as string) && !((command as string) in SCRIPTS)) {
          missing.push(`${block.source}: npm ${command}`);
        }
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('every file a sh block runs with node or bash exists', () => {
    const missing: string[] = [];
    for (const block of sh) {
      for (const [, file] of block.code.matchAll(/\b(?:node|bash) ((?:\.{0,2}\/)?[\w./-]+\.(?:m?js|sh)|\.ci\/run)\b/g)) {
        if (!existsSync(join(ROOT, file as string))) missing.push(`${block.source}: ${file}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
