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

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
// The .js and .d.ts files under dist/cjs are CommonJS: Node and TypeScript (node16/nodenext) both read this.
mkdirSync('dist/cjs', { recursive: true });
writeFileSync(STAMP, '{ "type": "commonjs" }\n');
