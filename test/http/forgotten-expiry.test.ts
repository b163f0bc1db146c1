/*
 * Issue 27, item 9: an app that caches routes and never mounts expireGroups() serves pre-write data after every
 * write, and said nothing. Now the first miss of a route says so (EMISUSE: a process warning and an error event),
 * once per process, unless an expireGroups() was made (app-wide or on a route) or the cache says
 * `expireFromCodeOnly`. Each app runs in a fresh child process: the check is per process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const APP = fileURLToPath(new URL('../fixtures/forgotten-expiry-app.mjs', import.meta.url));

interface Run {
  /** X-Cache and body of GET, GET, PUT, GET. */
  answers: string[];
  errors: string[];
  warnings: string[];
}

async function run(framework: string, mount: string): Promise<Run> {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, FRAMEWORK: framework, MOUNT: mount, DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const errors: string[] = [];
  let buffered = '';
  let listening: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => {
    listening = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, end)) as { listening?: number; error?: string };
      buffered = buffered.slice(end + 1);
      if (message.listening !== undefined) listening(message.listening);
      if (message.error !== undefined) errors.push(message.error);
    }
  });
  const closed = once(child, 'close');
  const exited = closed.then(() => {
    throw new Error(`the ${framework} app exited: ${stderr}`);
  });
  try {
    const url = `http://127.0.0.1:${await Promise.race([port, exited])}/users/1`;
    const answers: string[] = [];
    for (const method of ['GET', 'GET', 'PUT', 'GET']) {
      const res = await fetch(url, { method });
      answers.push(`${method} ${res.headers.get('x-cache') ?? '-'} ${await res.text()}`);
    }
    child.kill();
    await closed; // stdout and stderr read to their end
    const warnings = stderr.split('\n').filter((line) => line.includes('GroupCacheWarning'));
    return { answers, errors, warnings };
  } finally {
    child.kill();
  }
}

const FRAMEWORKS = ['express', 'express4', 'koa', 'koa2', 'fastify', 'fastify4', 'hono'];

describe('a forgotten expireGroups() is reported (issue 27, item 9)', function () {
  this.timeout(60_000);

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      it('none mounted: the first miss warns once (EMISUSE, process warning and error event), naming the fix', async () => {
        const { answers, errors, warnings } = await run(framework, 'none');
        // The mistake itself: the write is not seen by the next read.
        expect(answers).to.deep.equal([
          'GET MISS {"version":0}',
          'GET HIT {"version":0}',
          'PUT - {"version":1}',
          'GET HIT {"version":0}',
        ]);
        expect(errors).to.deep.equal(['EMISUSE']);
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.include('[EMISUSE]');
        expect(warnings[0]).to.include('made no expireGroups() middleware');
        expect(warnings[0]).to.include('GET /users/:id');
        expect(warnings[0]).to.include('expireFromCodeOnly');
      });

      it('mounted app-wide: no warning, and the write is seen', async () => {
        const { answers, errors, warnings } = await run(framework, 'app');
        expect(answers[3]).to.equal('GET MISS {"version":1}');
        expect(errors).to.deep.equal([]);
        expect(warnings).to.deep.equal([]);
      });

      if (!framework.startsWith('fastify')) {
        it('mounted on the write route only: no warning, and the write is seen', async () => {
          const { answers, errors, warnings } = await run(framework, 'route');
          expect(answers[3]).to.equal('GET MISS {"version":1}');
          expect(errors).to.deep.equal([]);
          expect(warnings).to.deep.equal([]);
        });
      }

      it('createCache({ expireFromCodeOnly: true }): no warning', async () => {
        const { errors, warnings } = await run(framework, 'code-only');
        expect(errors).to.deep.equal([]);
        expect(warnings).to.deep.equal([]);
      });
    });
  }
});
