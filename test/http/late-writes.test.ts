/*
 * Issue 27, item 1: a handler that answers late, callback style, after the cache already answered for it (the stale
 * copy, once handlerTimeout passed) must not crash the process. Each framework's app runs in a child process (an
 * uncaught exception there ends it, as it would end a server), with a late write of every kind; the child must
 * keep answering and print nothing on stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const APP = fileURLToPath(new URL('../fixtures/late-writes-app.mjs', import.meta.url));

interface Child {
  process: ChildProcess;
  url: string;
  kinds: string[];
  stderr: () => string;
  /** Resolves once the child reported `{ wrote: kind }`. */
  wrote(kind: string): Promise<void>;
  exited: () => boolean;
}

async function start(framework: string): Promise<Child> {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, FRAMEWORK: framework, DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.once('exit', () => {
    exited = true;
  });
  const wrote = new Set<string>();
  const waiters = new Map<string, () => void>();
  let buffered = '';
  let listening: (value: { port: number; kinds: string[] }) => void = () => {};
  const ready = new Promise<{ port: number; kinds: string[] }>((resolve) => {
    listening = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, end)) as { listening?: number; kinds?: string[]; wrote?: string };
      buffered = buffered.slice(end + 1);
      if (message.listening !== undefined) listening({ port: message.listening, kinds: message.kinds ?? [] });
      if (message.wrote !== undefined) {
        wrote.add(message.wrote);
        waiters.get(message.wrote)?.();
      }
    }
  });
  // One listener for every wait below: each wait races the child's exit.
  const exit = once(child, 'exit');
  const died = (what: string): Promise<never> =>
    exit.then(() => {
      throw new Error(`the ${framework} app exited ${what}: ${stderr}`);
    });
  const failed = died('before listening');
  const { port, kinds } = await Promise.race([ready, failed]);
  return {
    process: child,
    url: `http://127.0.0.1:${port}`,
    kinds,
    stderr: () => stderr,
    exited: () => exited,
    wrote: (kind) => {
      if (wrote.has(kind)) return Promise.resolve();
      const done = new Promise<void>((resolve) => waiters.set(kind, resolve));
      return Promise.race([done, died(`on a late ${kind}`)]);
    },
  };
}

const FRAMEWORKS = ['express', 'express4', 'koa', 'koa2', 'fastify', 'fastify4'];

describe('late writes after the cache answered for the handler (issue 27, item 1)', function () {
  this.timeout(60_000);

  for (const framework of FRAMEWORKS) {
    it(`${framework}: every kind of late write is absorbed; the process lives and logs nothing`, async () => {
      const child = await start(framework);
      try {
        const { url, kinds } = child;
        expect(kinds.length).to.be.above(5);
        for (const kind of kinds) {
          const fresh = await fetch(`${url}/late/${kind}`);
          expect(fresh.headers.get('x-cache'), kind).to.equal('MISS');
          await fresh.arrayBuffer();
        }
        await fetch(`${url}/advance/5000`, { method: 'POST' });
        await fetch(`${url}/late`, { method: 'POST' });
        // Each handler now waits; after handlerTimeout the client gets the stale copy.
        for (const kind of kinds) {
          const stale = await fetch(`${url}/late/${kind}`);
          expect(stale.headers.get('x-cache'), kind).to.equal('STALE');
          expect(await stale.json(), kind).to.deep.equal({ fresh: kind });
        }
        await fetch(`${url}/release`, { method: 'POST' });
        for (const kind of kinds) await child.wrote(kind);
        // Every late write returned, none threw: the server still answers, and said nothing on stderr.
        const ping = await fetch(`${url}/ping`);
        expect(await ping.text()).to.equal('pong');
        expect(child.exited()).to.equal(false);
        expect(child.stderr()).to.equal('');
      } finally {
        child.process.kill();
      }
    });
  }
});
