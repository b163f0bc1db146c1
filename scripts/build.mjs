// Builds the ESM and CommonJS outputs, each with its own declarations, into dist/.
// `--if-needed` skips the build when dist/ is newer than every source (used by `prestart` and `pretypecheck`,
// which a fresh clone reaches without a build now that `prepare` no longer runs one at install).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Written last, so its presence means a build completed.
const STAMP = 'dist/cjs/package.json';
const INPUTS = [
  'lib',
  'adapters',
  'cli',
  'test-suite',
  'tsconfig.json',
  'tsconfig.build.json',
  'tsconfig.cjs.json',
  'scripts/build.mjs',
];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function upToDate() {
  if (!existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  return INPUTS.every((input) => !existsSync(input) || newestMtime(input) < built);
}

if (process.argv.includes('--if-needed') && upToDate()) process.exit(0);

// A build takes ~20 s (two tsc runs) and tsc prints nothing on success: say what is happening, on stderr so that
// nothing reading a script's stdout gets these lines.
const say = (line) => process.stderr.write(`build: ${line}\n`);
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const started = performance.now();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const [project, what] of [
  ['tsconfig.build.json', 'dist/esm (ESM and its declarations)'],
  ['tsconfig.cjs.json', 'dist/cjs (CommonJS and its declarations)'],
]) {
  const step = performance.now();
  say(`compiling ${what} with tsc -p ${project} ...`);
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  say(`${what.split(' ')[0]} done in ${seconds(step)}`);
}
// The .js and .d.ts files under dist/cjs are CommonJS: Node and TypeScript (node16/nodenext) both read this.
mkdirSync('dist/cjs', { recursive: true });
writeFileSync(STAMP, '{ "type": "commonjs" }\n');
say(`built dist/ in ${seconds(started)}`);
