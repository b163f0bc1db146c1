/*
 * The tarball is what gets tested: `npm pack`, install the .tgz into scratch projects, type-check a program that
 * uses the public API under every module resolution TypeScript users pick, and run it as ESM and as CommonJS.
 * Real npm, real tsc. The scratch projects take typescript and @types from this repository's node_modules (no
 * download); express, koa, fastify, hono, @hono/node-server and ioredis come from the registry at the versions installed
 * here, so npm's cache answers (--prefer-offline).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = require.resolve('typescript/bin/tsc');
const TYPES = ['node', 'express', 'koa'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Variables npm sets for the `npm test` run it is part of; a child npm would take the repository for its project.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$)/i.test(name),
  ),
);

/** Runs a command to its end; never rejects, so results can be started early and awaited by each test. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 2 ** 20, timeout: 300_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && !stderr ? error.message : stderr });
    });
  });
}

async function ok(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The version installed in this repository, so the scratch install hits npm's cache. */
function installed(name: string): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${version}`;
}

async function scratchProject(dir: string, packages: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'scratch', private: true }, null, 2)}\n`);
  await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', ...packages], dir);
}

interface LsTree {
  version?: string;
  dependencies?: Record<string, LsTree>;
}

/** Names of every installed package in an `npm ls --json` tree (a missing optional peer is listed with no version). */
function installedNames(tree: LsTree): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, sub]) => [
    ...(sub.version ? [name] : []),
    ...installedNames(sub),
  ]);
}

/** tsc's errors, less those inside other packages' typings (@types/koa, for one, fails its own check today). */
function ownErrors(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    .filter((line) => !/node_modules\//.test(line.split('(')[0] ?? '') || /node_modules\/group-cache\//.test(line));
}

// One program over the whole public API, compiled as .mts (ESM), .cts (CommonJS) and .ts (bundler, node10).
const PROGRAM = `
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import Koa from 'koa';
import {
  type CacheStats,
  type CacheStore,
  createCache,
  defaultCache,
  type GroupCache,
  GroupCacheError,
  type KeyFunction,
  memoryStore,
  type RouteOptions,
} from 'group-cache';
import { expireGroups as expressExpire, groupCache as expressCache, inspector as expressInspector } from 'group-cache/express';
import { expireGroups as fastifyExpire, groupCache as fastifyCache, inspector as fastifyInspector } from 'group-cache/fastify';
import { expireGroups as fetchExpire, groupCache as fetchCache, requestLocals } from 'group-cache/fetch';
import { expireGroups as honoExpire, groupCache as honoCache, inspector as honoInspector } from 'group-cache/hono';
import { expireGroups as koaExpire, groupCache as koaCache, inspector as koaInspector } from 'group-cache/koa';
import { redisStore } from 'group-cache/redis';
import { type AdapterDriver, adapterConformance, storeConformance, type TestRunner } from 'group-cache/test-suite';

/** Runs the memoryStore through the shipped store suite with a runner of its own; registers the adapter table. */
async function testSuite(): Promise<{ storeTests: boolean; failed: string[]; adapterTests: boolean }> {
  type Hook = () => Promise<void>;
  const tests: Array<[string, Hook]> = [];
  const hooks: Record<'before' | 'after' | 'beforeEach' | 'afterEach', Hook[]> = { before: [], after: [], beforeEach: [], afterEach: [] };
  const runner: TestRunner = {
    describe: (_name, body) => body(),
    it: (name, body) => tests.push([name, body]),
    before: (hook) => hooks.before.push(() => hook.call(undefined)),
    after: (hook) => hooks.after.push(hook),
    beforeEach: (hook) => hooks.beforeEach.push(hook),
    afterEach: (hook) => hooks.afterEach.push(hook),
  };
  const all = async (list: Hook[]) => {
    for (const hook of list) await hook();
  };
  storeConformance('memoryStore', {
    create: (options) => {
      const store = memoryStore(options);
      return { store, records: async () => store.stats().records };
    },
  }, { runner });
  const failed: string[] = [];
  await all(hooks.before);
  for (const [name, body] of tests) {
    await all(hooks.beforeEach);
    await body().catch((error: Error) => failed.push(\`\${name}: \${error.message}\`));
    await all(hooks.afterEach);
  }
  await all(hooks.after);
  const storeTests = tests.length > 20;
  tests.length = 0;
  const driver: AdapterDriver = { name: 'none', build: () => (_req, res) => res.end() };
  adapterConformance(driver, { runner });
  return { storeTests, failed, adapterTests: tests.length > 100 };
}

/** X-Cache of each GET, after a PUT that expires 'users' in the middle. */
async function xCache(handler: RequestListener): Promise<string[]> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = \`http://127.0.0.1:\${(server.address() as AddressInfo).port}/users/1\`;
  const seen: string[] = [];
  for (const method of ['GET', 'GET', 'PUT', 'GET']) {
    const response = await fetch(url, { method });
    await response.arrayBuffer();
    if (method === 'GET') seen.push(response.headers.get('x-cache') ?? 'none');
  }
  server.closeAllConnections();
  server.close();
  return seen;
}

async function main(): Promise<void> {
  const cache: GroupCache = createCache({ store: memoryStore({ maxBytes: 2 ** 20 }), ttl: 60_000 });
  cache.on('error', (error: GroupCacheError) => console.error(error.code, error.message));
  const route: RouteOptions = { cache, ttl: 5_000 };

  const byId: KeyFunction<express.Request> = (req) => ({ key: \`user_\${req.params.id}\`, groups: ['users'] });
  const app = express();
  app.use(expressExpire({ cache }));
  app.use('/_cache', expressInspector({ cache, showBodies: false }));
  app.get('/users/:id', expressCache(byId, route), (req, res) => {
    res.json({ id: req.params.id });
  });
  app.put('/users/:id', (_req, res) => {
    res.locals.expireGroups = ['users'];
    res.json({ ok: true });
  });

  const koaKey: KeyFunction<Koa.Context> = (ctx) => [\`koa_\${ctx.path}\`, ['users']];
  const koa = new Koa();
  koa.use(koaExpire({ cache }));
  koa.use(koaInspector({ cache, prefix: '/_cache' }));
  koa.use(async (ctx, next) => {
    if (ctx.method === 'PUT') {
      ctx.state.expireGroups = 'users';
      ctx.body = { ok: true };
    } else await next();
  });
  koa.use(koaCache(koaKey, route));
  koa.use((ctx) => {
    ctx.body = { path: ctx.path };
  });

  type UserRequest = FastifyRequest<{ Params: { id: string } }>;
  const fastify = Fastify();
  await fastify.register(fastifyExpire({ cache }));
  await fastify.register(fastifyInspector({ cache }), { prefix: '/_cache' });
  const fastifyKey: KeyFunction<UserRequest> = (req) => ({ key: \`fastify_\${req.params.id}\`, groups: ['users'] });
  fastify.get<{ Params: { id: string } }>('/users/:id', { onRequest: fastifyCache(fastifyKey, route) }, async (req) => ({
    id: req.params.id,
  }));
  fastify.put('/users/:id', async (_req, reply) => {
    reply.expireGroups = ['users'];
    return { ok: true };
  });
  await fastify.ready();

  const hono = new Hono();
  hono.use(honoExpire({ cache }));
  hono.use('/_cache/*', honoInspector({ cache, prefix: '/_cache' }));
  hono.get('/users/:id', honoCache((c) => ({ key: \`hono_\${c.req.param('id')}\`, groups: ['users'] }), route), (c) =>
    c.json({ id: c.req.param('id') }),
  );
  hono.put('/users/:id', (c) => {
    c.set('expireGroups', ['users']);
    return c.json({ ok: true });
  });

  const readPlain = fetchCache((request) => ({ key: \`fetch_\${request.url}\`, groups: ['users'] }), () => Response.json({ ok: 1 }), route);
  const plain = fetchExpire(async (request: Request) => {
    if (request.method === 'GET') return readPlain(request);
    requestLocals(request).expireGroups = 'users';
    return new Response('done');
  }, { cache });

  const client = new Redis({ lazyConnect: true });
  const shared: CacheStore = redisStore({ client, prefix: 'gc:' });
  client.disconnect();

  const stats: CacheStats = cache.stats();
  const result = {
    module: typeof require === 'function' ? 'commonjs' : 'esm',
    express: await xCache(app),
    koa: await xCache(koa.callback()),
    fastify: await xCache((req, res) => fastify.routing(req, res)),
    hono: await xCache(getRequestListener(hono.fetch)),
    fetch: await xCache(getRequestListener(plain)),
    store: shared.name,
    stats: typeof stats.hits,
    defaultCache: defaultCache() === defaultCache(),
    error: new GroupCacheError('ESTORE', 'test', {}) instanceof Error,
    testSuite: await testSuite(),
  };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const COMMON = {
  target: 'ES2022',
  lib: ['ES2023'],
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  types: ['node'],
};

// Our declarations must compile as shipped (ownErrors ignores other packages' own faults). Checking every
// declaration file costs ~2.5x, so it runs where each build's files are read: node16 (both), node10 (CommonJS);
// nodenext and bundler read the same files through the same conditions.
const CHECK_LIBS = { skipLibCheck: false };

/** One tsconfig per resolution mode; those with an outDir are also run. */
const CONFIGS: Record<string, { compilerOptions: Record<string, unknown>; files: string[] }> = {
  node16: {
    compilerOptions: { module: 'node16', moduleResolution: 'node16', outDir: 'out/node16', ...CHECK_LIBS },
    files: ['esm.mts', 'cjs.cts'],
  },
  nodenext: {
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', noEmit: true },
    files: ['esm.mts', 'cjs.cts'],
  },
  'bundler (module esnext)': {
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', noEmit: true },
    files: ['main.ts'],
  },
  'bundler (module preserve)': {
    compilerOptions: { module: 'preserve', moduleResolution: 'bundler', noEmit: true },
    files: ['main.ts'],
  },
  'commonjs + node10': {
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', outDir: 'out/node10', ...CHECK_LIBS },
    files: ['main.ts'],
  },
};

const EXPECTED_RUN = {
  express: ['MISS', 'HIT', 'MISS'],
  koa: ['MISS', 'HIT', 'MISS'],
  fastify: ['MISS', 'HIT', 'MISS'],
  hono: ['MISS', 'HIT', 'MISS'],
  fetch: ['MISS', 'HIT', 'MISS'],
  store: 'redis',
  stats: 'number',
  defaultCache: true,
  error: true,
  testSuite: { storeTests: true, failed: [], adapterTests: true },
};

describe('the packed tarball', function () {
  // Five compiles side by side over six frameworks' typings: minutes on two busy cores.
  this.timeout(360_000);
  let work: string;
  let app: string;
  let files: string[];
  let installedPkg: { scripts?: Record<string, string> };
  const compiled = new Map<string, Promise<Run>>();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'group-cache-tarball-'));
    // The build is pretest's; --ignore-scripts keeps npm pack from rebuilding dist/ under the other tests' feet.
    const packed = JSON.parse(
      await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT),
    ) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
      files: Array<{ path: string }>;
    }>;
    const info = packed[0];
    if (!info) throw new Error('npm pack printed no tarball');
    files = info.files.map((file) => file.path);
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    console.log(`      ${info.filename}: ${kib(info.size)} packed, ${kib(info.unpackedSize)} unpacked, ${info.entryCount} files`);

    const started = performance.now();
    const tarball = join(work, info.filename);
    app = join(work, 'app');
    await Promise.all([
      scratchProject(app, [
        tarball,
        installed('express'),
        installed('koa'),
        installed('fastify'),
        installed('hono'),
        installed('@hono/node-server'),
        installed('ioredis'),
      ]),
      scratchProject(join(work, 'koa-only'), [tarball, installed('koa')]),
      scratchProject(join(work, 'express-only'), [tarball, installed('express')]),
      scratchProject(join(work, 'hono-only'), [tarball, installed('hono')]),
    ]);
    console.log(`      four scratch installs (npm, --prefer-offline): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    installedPkg = JSON.parse(readFileSync(join(app, 'node_modules/group-cache/package.json'), 'utf8'));

    mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
    for (const name of TYPES) symlinkSync(join(ROOT, 'node_modules/@types', name), join(app, 'node_modules/@types', name), 'dir');
    for (const file of ['esm.mts', 'cjs.cts', 'main.ts']) writeFileSync(join(app, file), PROGRAM);
    // Every compile starts now, side by side; each test awaits its own.
    for (const [name, config] of Object.entries(CONFIGS)) {
      const file = `tsconfig.${name.replace(/\W+/g, '-')}.json`;
      writeFileSync(
        join(app, file),
        JSON.stringify({ compilerOptions: { ...COMMON, ...config.compilerOptions }, files: config.files }),
      );
      compiled.set(name, run(process.execPath, [TSC, '-p', file, '--listFiles'], app));
    }
  });

  /** Waits for a compile and checks it emitted without errors of ours (tsc emits despite third-party ones). */
  async function compiledClean(name: string): Promise<void> {
    const result = await compiled.get(name);
    expect(result && ownErrors(result.stdout + result.stderr), name).to.deep.equal([]);
  }

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the builds, README, CHANGELOG and LICENSE; no sources, tests or declaration maps', () => {
    for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/cjs/package.json'])
      expect(files).to.include(file);
    const strays = files.filter(
      (file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(file),
    );
    expect(strays).to.deep.equal([]);
    expect(files.filter((file) => /(?<!\.d)\.ts$|\.d\.ts\.map$/.test(file))).to.deep.equal([]);
  });

  it('runs no script at install; the build runs from prepack', () => {
    const scripts = installedPkg.scripts ?? {};
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts, hook).not.to.have.property(hook);
    expect(scripts.prepack).to.be.a('string');
  });

  it('source maps carry their sources (the .ts files are not shipped)', () => {
    const maps = files.filter((file) => file.endsWith('.js.map'));
    expect(maps).to.not.be.empty;
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(app, 'node_modules/group-cache', file), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      expect(map.sourcesContent?.length, file).to.equal(map.sources.length);
      for (const content of map.sourcesContent ?? []) expect(content, file).to.be.a('string');
    }
  });

  for (const name of Object.keys(CONFIGS)) {
    it(`type-checks the public API (root, /express, /fastify, /fetch, /hono, /koa, /redis, /test-suite) under ${name}`, async () => {
      const result = await compiled.get(name);
      if (!result) throw new Error(`no compile for ${name}`);
      const listed = result.stdout.split('\n');
      expect(ownErrors(result.stdout + result.stderr)).to.deep.equal([]);
      expect(
        listed.filter((line) => line.endsWith('.d.ts') && line.includes('node_modules/group-cache/')),
        `files (tsc said: ${result.stderr.slice(0, 500)})`,
      ).to.not.be.empty;
      const picked = (build: string, entry: string) =>
        listed.some((line) => line.endsWith(`/node_modules/group-cache/dist/${build}/${entry}.d.ts`));
      // The require branch must get the CommonJS declarations (TS1479 otherwise), import the ESM ones.
      const builds =
        name.startsWith('node1') || name.startsWith('nodenext') ? ['esm', 'cjs'] : name.startsWith('bundler') ? ['esm'] : ['cjs'];
      for (const build of builds) {
        for (const entry of [
          'lib/index',
          'adapters/express',
          'adapters/fastify',
          'adapters/fetch',
          'adapters/hono',
          'adapters/koa',
          'lib/stores/redis/index',
        ]) {
          expect(picked(build, entry), `${build}/${entry}`).to.equal(true);
        }
      }
      for (const build of ['esm', 'cjs'].filter((build) => !builds.includes(build))) {
        expect(picked(build, 'lib/index'), `not ${build}/lib/index`).to.equal(false);
      }
    });
  }

  it('runs as ESM', async () => {
    await compiledClean('node16');
    const out = await ok(process.execPath, ['out/node16/esm.mjs'], app);
    expect(JSON.parse(out)).to.deep.equal({ module: 'esm', ...EXPECTED_RUN });
  });

  it('runs as CommonJS (node16 .cts and commonjs + node10)', async () => {
    await compiledClean('node16');
    await compiledClean('commonjs + node10');
    for (const file of ['out/node16/cjs.cjs', 'out/node10/main.js']) {
      const out = await ok(process.execPath, [file], app);
      expect(JSON.parse(out), file).to.deep.equal({ module: 'commonjs', ...EXPECTED_RUN });
    }
  });

  const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const;
  for (const framework of ['koa', 'express', 'hono'] as const) {
    const others = FRAMEWORKS.filter((name) => name !== framework);
    it(`installing for ${framework} never pulls ${others.join(', ')} in, and group-cache/${framework} loads without them`, async () => {
      const dir = join(work, `${framework}-only`);
      const listed = await run('npm', ['ls', '--all', '--json'], dir);
      const names = installedNames(JSON.parse(listed.stdout) as LsTree);
      expect(names).to.include.members(['group-cache', framework]);
      for (const other of others) {
        expect(names).to.not.include(other);
        expect(existsSync(join(dir, 'node_modules', other))).to.equal(false);
      }
      const load = `require('group-cache'); require('group-cache/${framework}'); import('group-cache/${framework}').then(m => console.log(typeof m.groupCache))`;
      expect((await ok(process.execPath, ['-e', load], dir)).trim()).to.equal('function');
    });
  }

  it('without hono installed, group-cache/hono fails to load naming the package to install (ESM and CommonJS)', async () => {
    const dir = join(work, 'express-only');
    const esm = await run(process.execPath, ['--input-type=module', '-e', "await import('group-cache/hono')"], dir);
    expect(esm.code).to.not.equal(0);
    expect(esm.stderr).to.include("Cannot find package 'hono'");
    const cjs = await run(process.execPath, ['-e', "require('group-cache/hono')"], dir);
    expect(cjs.code).to.not.equal(0);
    expect(cjs.stderr).to.match(/Cannot find module 'hono\//);
    // The fetch entry needs no framework at all.
    const fetch = await run(process.execPath, ['-e', "console.log(typeof require('group-cache/fetch').groupCache)"], dir);
    expect(fetch.stdout.trim()).to.equal('function');
  });
});
