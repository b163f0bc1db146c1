#!/usr/bin/env node
/*
 * `npx group-cache`: the command line for operators (docs/cli.md). Parses, connects, runs one command, prints, and
 * exits with a code a script can test (args.ts, EXIT).
 */
import { EXIT, parseInvocation, USAGE, UsageError } from './args.js';
import { runCommand } from './commands.js';
import { connectTarget, UnreachableError } from './connect.js';

function print(json: boolean, code: number, object: Record<string, unknown>, text: string): void {
  if (json) process.stdout.write(`${JSON.stringify(object, null, 2)}\n`);
  else if (code === EXIT.ok || code === EXIT.notFound) process.stdout.write(`${text}\n`);
  else process.stderr.write(`group-cache: ${text}\n`);
}

function errorAnswer(error: unknown): { code: number; kind: string; message: string } {
  if (error instanceof UsageError) return { code: EXIT.usage, kind: 'EUSAGE', message: error.message };
  if (error instanceof UnreachableError) return { code: EXIT.unreachable, kind: 'EUNREACHABLE', message: error.message };
  return { code: EXIT.failed, kind: 'EFAILED', message: error instanceof Error ? error.message : String(error) };
}

/** Runs the command line on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  let invocation: ReturnType<typeof parseInvocation>;
  try {
    invocation = parseInvocation(argv, process.env);
  } catch (error) {
    const { code, kind, message } = errorAnswer(error);
    print(json, code, { ok: false, error: { code: kind, message } }, `${message}\n\n${USAGE}`);
    return code;
  }
  if (invocation === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  let connection: Awaited<ReturnType<typeof connectTarget>> | undefined;
  try {
    connection = await connectTarget(invocation.target);
    const answer = await runCommand(invocation, connection);
    print(invocation.json, answer.code, answer.json, answer.text);
    return answer.code;
  } catch (error) {
    const { code, kind, message } = errorAnswer(error);
    print(invocation.json, code, { ok: false, command: invocation.command, error: { code: kind, message } }, message);
    return code;
  } finally {
    await connection?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`group-cache: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);
