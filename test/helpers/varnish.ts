import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';
import { ROOT } from './repo.js';

/**
 * A varnishd the tests start themselves, with the VCL of examples/varnish in front of one app port: a free loopback
 * port, a private working directory (-n), malloc storage. It can be stopped and started again on the same port.
 */
export interface Varnish {
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM, waits for the exit): requests and purges to it now fail. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty, and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

const BINARY = process.env.VARNISHD ?? '/usr/sbin/varnishd';
const VMODS = process.env.VARNISH_VMODS ?? '/usr/lib/x86_64-linux-gnu/varnish/vmods';
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function hasBinary(): boolean {
  try {
    execFileSync(BINARY, ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The example VCL with its backend pointed at `backendPort`. */
export function exampleVcl(backendPort: number): string {
  const vcl = readFileSync(join(ROOT, 'examples/varnish/group-cache.vcl'), 'utf8');
  const pointed = vcl.replace('.port = "3000";', `.port = "${backendPort}";`);
  if (pointed === vcl) throw new Error('examples/varnish/group-cache.vcl: no `.port = "3000";` to point at the app');
  return pointed;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'PURGE', path: '/', timeout: 500 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts a varnishd in front of 127.0.0.1:`backendPort`. Without the binary it warns loudly and skips the suite;
 * under CI (`CI=true`) it fails instead. Call from a `before` hook.
 */
export async function startVarnishOrSkip(context: Mocha.Context, backendPort: number, port?: number): Promise<Varnish> {
  if (!hasBinary()) {
    if (process.env.CI === 'true')
      throw new Error(`Varnish tests cannot run: no ${BINARY}; CI must run them (apt install varnish varnish-modules)`);
    console.warn(`\n  !!! SKIPPING Varnish tests: no ${BINARY}. Install varnish and varnish-modules to run them. !!!\n`);
    context.skip();
  }
  return startVarnish(backendPort, port);
}

/** True when varnishd can run here. */
export function varnishInstalled(): boolean {
  return hasBinary();
}

/** Starts a varnishd in front of 127.0.0.1:`backendPort`, on `port` (default: a free one). */
export async function startVarnish(backendPort: number, chosenPort?: number): Promise<Varnish> {
  const dir = mkdtempSync(join(tmpdir(), 'group-cache-varnish-'));
  const vcl = join(dir, 'group-cache.vcl');
  writeFileSync(vcl, exampleVcl(backendPort));
  const port = chosenPort ?? (await freePort());
  let child: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    // -j none: no privilege separation (the tests may run as root or not); -F: stay in the foreground, our child.
    const args = ['-F', '-j', 'none', '-n', join(dir, 'work'), '-a', `127.0.0.1:${port}`, '-f', vcl, '-s', 'malloc,32m'];
    args.push('-T', 'none', '-p', `vmod_path=${VMODS}`, '-p', 'first_byte_timeout=5', '-p', 'thread_pool_min=10');
    const spawned = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.stdout?.on('data', (data: Buffer) => (output += data.toString()));
    spawned.stderr?.on('data', (data: Buffer) => (output += data.toString()));
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    child = spawned;
    const deadline = Date.now() + 20_000;
    while (!(await answers(port))) {
      if (spawned.exitCode !== null) throw new Error(`varnishd exited at once (port ${port}): ${output.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`varnishd did not answer on port ${port}: ${output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => current.kill('SIGKILL'), 5_000);
      current.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      current.kill('SIGTERM');
    });
  };
  await launch();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
