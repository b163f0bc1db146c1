import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The built command line, as `npx group-cache` runs it.
const CLI = fileURLToPath(new URL('../../dist/esm/cli/main.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line with `args`; resolves with its exit code and output, whatever the code. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}
