/*
 * An app of test/fixtures run in a process of its own (an instance of a fleet), known by the JSON lines it prints:
 * `{"listening": port}` once it serves, `{"run": id}` per handler start, `{"error": message}` per error event.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { createInterface } from 'node:readline';

export interface AppProcess<Stats> {
  readonly url: string;
  /** Handler starts reported so far, by id. */
  readonly runs: string[];
  /** Error events reported so far. */
  readonly errors: string[];
  /** The app's counters (its GET /stats). */
  stats(): Promise<Stats>;
  /** SIGKILLs the process (a crash) and waits until it is gone. */
  kill(): Promise<void>;
}

/** Starts `script` with `env` added to this process's environment; resolves once it listens. */
export function startAppProcess<Stats>(script: string, env: Record<string, string>): Promise<AppProcess<Stats>> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const runs: string[] = [];
  const errors: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the app process exited (${code}) before it listened`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let message: { listening?: number; run?: string; error?: string };
      try {
        message = JSON.parse(line);
      } catch {
        return; // not a report of the fixture
      }
      if (message.run !== undefined) runs.push(message.run);
      if (message.error !== undefined) errors.push(message.error);
      if (message.listening === undefined) return;
      const url = `http://127.0.0.1:${message.listening}`;
      resolve({ url, runs, errors, stats: () => getJson(`${url}/stats`), kill: () => kill(child) });
    });
  });
}

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    }).on('error', reject);
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}
