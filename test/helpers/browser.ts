import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/**
 * Headless Chromium for the browser tests: Debian's `chromium` (or `CHROMIUM` to point elsewhere) driven by
 * playwright-core. Without a binary the suite warns loudly and skips; under CI (`CI=true`) it fails instead,
 * since `.ci/run` installs Chromium first.
 */
const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  (path): path is string => typeof path === 'string' && path !== '',
);

function findChromium(): string | undefined {
  for (const path of candidates) {
    try {
      execFileSync(path, ['--version'], { stdio: 'ignore' });
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Where browser tests leave their screenshots (ignored by git). */
export const BROWSER_OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'output');

/** Launches Chromium for a suite (call from `before`), or skips it loudly; returns the browser to close in `after`. */
export async function launchChromium(context: Mocha.Context): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    const why = `no Chromium binary (tried ${candidates.join(', ')})`;
    if (process.env.CI === 'true')
      throw new Error(`browser tests cannot run (${why}); CI must run them: apt-get install chromium`);
    console.warn(`\n  !!! SKIPPING browser tests: ${why}. Run apt-get install chromium to run them. !!!\n`);
    context.skip();
  }
  mkdirSync(BROWSER_OUTPUT, { recursive: true });
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}
