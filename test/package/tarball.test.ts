/*
 * The tarball is what gets tested: `npm pack`, install the .tgz into scratch projects, type-check a program that
 * uses the public API under every module resolution TypeScript users pick, and run it as ESM and as CommonJS.
 * Real npm, real tsc. The scratch projects take typescript and @types from this repository's node_modules (no
 * download); express, koa, fastify, hono, @hono/node-server and ioredis come from the registry at the versions installed
 * here, so npm's cache answers (--prefer-offline).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = require.resolve('typescript/bin/tsc');
// Its package exports no bin path; npm installs it under the local package (see test/package/types.test.ts).
const TSC7 = join(ROOT, 'test/types/typescript7/node_modules/typescript/bin/tsc');
const TYPES = ['node', 'express', 'koa'];
// What a NestJS app installs (and a platform); @nestjs/core brings reflect-metadata's use, rxjs is Nest's peer.
const NEST_PACKAGES = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'];

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

// A NestJS app on the Express platform, written as Nest projects are (decorators, with their metadata): compiled as
// nest.mts (ESM), nest.cts (CommonJS, which requires NestJS 12's ESM-only packages: Node 20.19+) and nest.ts.
const NEST_PROGRAM = `
import type { AddressInfo } from 'node:net';
import { type CanActivate, Controller, type ExecutionContext, Get, Inject, Injectable, Module, Param, Put, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { GroupCache as Cache, createCache } from 'group-cache';
import { ExpireGroups, GROUP_CACHE, GroupCache, GroupCacheModule } from 'group-cache/nest';

const cache = createCache();

@Injectable()
class UsersService {
  constructor(readonly byClass: Cache, @Inject(GROUP_CACHE) readonly byToken: Cache) {}
}

class SignedIn implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-user'] !== undefined;
  }
}

@Controller('users')
class UsersController {
  @Get(':id')
  @UseGuards(SignedIn)
  @GroupCache((req) => ({ key: \`user_\${req.params.id}\`, groups: ['users'] }))
  findOne(@Param('id') id: string) {
    return { id };
  }

  @Put(':id')
  @ExpireGroups(() => ['users'])
  update() {
    return { ok: true };
  }
}

@Module({ imports: [GroupCacheModule.forRoot({ cache })], controllers: [UsersController], providers: [UsersService] })
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = \`http://127.0.0.1:\${(app.getHttpServer().address() as AddressInfo).port}/users/1\`;
  const seen: string[] = [];
  for (const method of ['GET', 'GET', 'PUT', 'GET']) {
    const response = await fetch(url, { method, headers: { 'x-user': 'ann' } });
    await response.arrayBuffer();
    if (method === 'GET') seen.push(response.headers.get('x-cache') ?? 'none');
  }
  const refused = await fetch(url);
  await refused.arrayBuffer();
  const service = app.get(UsersService);
  console.log(JSON.stringify({
    module: typeof require === 'function' ? 'commonjs' : 'esm',
    nest: seen,
    refused: refused.status,
    injected: service.byClass === cache && service.byToken === cache,
  }));
  await app.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const EXPECTED_NEST = { nest: ['MISS', 'HIT', 'MISS'], refused: 403, injected: true };

const COMMON = {
  target: 'ES2022',
  lib: ['ES2023'],
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  types: ['node'],
  // What a NestJS project compiles with; nothing else here has decorators.
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};

// Our declarations must compile as shipped (ownErrors ignores other packages' own faults). Checking every
// declaration file costs ~2.5x, so it runs where each build's files are read: node16 (both), node10 (CommonJS);
// nodenext and bundler read the same files through the same conditions.
const CHECK_LIBS = { skipLibCheck: false };

/** One tsconfig per resolution mode; those with an outDir are also run. */
const CONFIGS: Record<string, { compilerOptions: Record<string, unknown>; files: string[] }> = {
  node16: {
    compilerOptions: { module: 'node16', moduleResolution: 'node16', outDir: 'out/node16', ...CHECK_LIBS },
    files: ['esm.mts', 'cjs.cts', 'nest.mts'],
  },
  nodenext: {
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', noEmit: true },
    files: ['esm.mts', 'cjs.cts', 'nest.mts', 'nest.cts'],
  },
  'bundler (module esnext)': {
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', noEmit: true },
    files: ['main.ts', 'nest.ts'],
  },
  'bundler (module preserve)': {
    compilerOptions: { module: 'preserve', moduleResolution: 'bundler', noEmit: true },
    files: ['main.ts', 'nest.ts'],
  },
  'commonjs + node10': {
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', outDir: 'out/node10', ...CHECK_LIBS },
    files: ['main.ts', 'nest.ts'],
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
  // Five installs and five compiles side by side (with NestJS's and Hono's typings): minutes on two busy cores.
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
        ...NEST_PACKAGES.map(installed),
        installed('@nestjs/platform-express'),
      ]),
      scratchProject(join(work, 'koa-only'), [tarball, installed('koa')]),
      scratchProject(join(work, 'express-only'), [tarball, installed('express')]),
      scratchProject(join(work, 'nest-only'), [tarball, ...NEST_PACKAGES.map(installed)]),
      scratchProject(join(work, 'hono-only'), [tarball, installed('hono')]),
    ]);
    console.log(`      four scratch installs (npm, --prefer-offline): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    installedPkg = JSON.parse(readFileSync(join(app, 'node_modules/group-cache/package.json'), 'utf8'));

    mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
    for (const name of TYPES) symlinkSync(join(ROOT, 'node_modules/@types', name), join(app, 'node_modules/@types', name), 'dir');
    for (const file of ['esm.mts', 'cjs.cts', 'main.ts']) writeFileSync(join(app, file), PROGRAM);
    for (const file of ['nest.mts', 'nest.cts', 'nest.ts']) writeFileSync(join(app, file), NEST_PROGRAM);
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
    it(`type-checks the public API (root, /express, /fastify, /fetch, /hono, /koa, /nest, /redis, /test-suite) under ${name}`, async () => {
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
          'adapters/nest',
          'lib/stores/redis/index',
        ]) {
          // Under node16 a CommonJS file cannot import NestJS 12 (ESM only, which nodenext allows): ESM there.
          if (name === 'node16' && build === 'cjs' && entry === 'adapters/nest') continue;
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

  it('runs a NestJS app as ESM (node16 .mts) and as CommonJS (commonjs + node10): a guard before the hit, the write expiring', async () => {
    await compiledClean('node16');
    await compiledClean('commonjs + node10');
    for (const [file, module] of [
      ['out/node16/nest.mjs', 'esm'],
      ['out/node10/nest.js', 'commonjs'],
    ] as const) {
      const out = await ok(process.execPath, [file], app);
      expect(JSON.parse(out), file).to.deep.equal({ module, ...EXPECTED_NEST });
    }
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

  it('npx group-cache --help runs from a clean install; nothing but group-cache/opentelemetry needs @opentelemetry/api', async () => {
    const dir = join(work, 'express-only');
    expect(await ok('npx', ['--no-install', 'group-cache', '--help'], dir)).to.match(/^Usage: group-cache <command>/);
    const withoutRedis = await run('npx', ['--no-install', 'group-cache', 'stats'], dir);
    expect(withoutRedis.code).to.equal(2);
    expect(withoutRedis.stderr).to.match(/needs ioredis: npm install ioredis/);
    expect(existsSync(join(dir, 'node_modules/@opentelemetry/api'))).to.equal(false);
    const works = `require('group-cache').createCache().getOrSet('k', () => 41).then((v) => console.log(v + 1))`;
    expect((await ok(process.execPath, ['-e', works], dir)).trim()).to.equal('42');
    const otel = await run(process.execPath, ['-e', "import('group-cache/opentelemetry')"], dir);
    expect(otel.code).to.not.equal(0);
    expect(otel.stderr).to.match(/Cannot find (package|module) '@opentelemetry\/api'/);
  });

  // ---- Peer dependencies stay optional (issue 23, item 4): Fastify alone, and no framework or client at all ----
  describe('peer dependencies stay optional', () => {
    const PEERS = ['express', 'koa', 'fastify', 'ioredis', 'redis'];
    // What a TypeScript user writes first; each key function is the call that must name the missing package.
    const USES = `import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as koaCache } from 'group-cache/koa';
import { groupCache as fastifyCache } from 'group-cache/fastify';
import { redisStore } from 'group-cache/redis';
export const a = expressCache((req) => req.params.id);
export const b = koaCache((ctx) => ctx.params.id);
export const c = fastifyCache((req) => req.url);
export const store = (client: object) => redisStore({ client });
`;
    const MISSING = [
      '\'"group-cache/express types its routes with Express: npm install --save-dev @types/express"\'',
      '\'"group-cache/koa types its middleware with Koa: npm install --save-dev @types/koa"\'',
      '\'"group-cache/fastify types its hooks with Fastify: npm install fastify"\'',
    ];
    let fastifyOnly: string;
    let bare: string;

    before(async () => {
      const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
      if (!tarball) throw new Error('no tarball');
      fastifyOnly = join(work, 'fastify-only');
      bare = join(work, 'no-peers');
      await Promise.all([
        scratchProject(fastifyOnly, [join(work, tarball), installed('fastify')]),
        scratchProject(bare, [join(work, tarball)]),
      ]);
      mkdirSync(join(bare, 'node_modules/@types'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules/@types/node'), join(bare, 'node_modules/@types/node'), 'dir');
      for (const file of ['esm.mts', 'cjs.cts', 'main.ts']) writeFileSync(join(bare, file), USES);
    });

    it('installing for fastify never pulls express, koa or a Redis client in, and group-cache/fastify loads without them', async () => {
      const names = installedNames(JSON.parse((await run('npm', ['ls', '--all', '--json'], fastifyOnly)).stdout) as LsTree);
      expect(names).to.include.members(['group-cache', 'fastify']);
      for (const other of PEERS.filter((name) => name !== 'fastify')) {
        expect(names, other).to.not.include(other);
        expect(existsSync(join(fastifyOnly, 'node_modules', other)), other).to.equal(false);
      }
      const load = `const m = require('group-cache/fastify'); import('group-cache/fastify').then(e => console.log(typeof m.groupCache, typeof e.groupCache))`;
      expect((await ok(process.execPath, ['-e', load], fastifyOnly)).trim()).to.equal('function function');
    });

    it('installing group-cache alone installs no framework and no Redis client', async () => {
      const names = installedNames(JSON.parse((await run('npm', ['ls', '--all', '--json'], bare)).stdout) as LsTree);
      expect(names).to.include('group-cache');
      expect(names.filter((name) => PEERS.includes(name))).to.deep.equal([]);
    });

    for (const entry of ['express', 'koa', 'fastify', 'redis']) {
      it(`with no peer installed, group-cache/${entry} loads as ESM and as CommonJS (it imports its framework's types only)`, async () => {
        const esm = `const m = await import('group-cache/${entry}'); console.log(Object.keys(m).sort().join())`;
        const cjs = `console.log(Object.keys(require('group-cache/${entry}')).sort().join())`;
        const [fromImport, fromRequire] = await Promise.all([
          ok(process.execPath, ['--input-type=module', '-e', esm], bare),
          ok(process.execPath, ['-e', cjs], bare),
        ]);
        expect(fromImport.trim()).to.equal(fromRequire.trim());
        expect(fromImport.trim().split(',')).to.include(entry === 'redis' ? 'redisStore' : 'groupCache');
      });
    }

    it('with no Redis client installed, redisStore() names the packages to install', async () => {
      const script = `try { require('group-cache/redis').redisStore({ client: {} }) } catch (error) { console.log(error.message) }`;
      expect((await ok(process.execPath, ['-e', script], bare)).trim()).to.equal(
        'option client must be an ioredis or node-redis client: npm install ioredis (new Redis(url)) or redis (createClient({ url })), got an object with keys []',
      );
    });

    for (const [name, compiler, settings, files] of [
      ['TypeScript 5, nodenext', TSC, ['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['esm.mts', 'cjs.cts']],
      [
        'TypeScript 5, commonjs + node10',
        TSC,
        ['--module', 'commonjs', '--moduleResolution', 'node10', '--ignoreDeprecations', '5.0'],
        ['main.ts'],
      ],
      ['TypeScript 7, nodenext', TSC7, ['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['esm.mts', 'cjs.cts']],
    ] as const) {
      it(`${name}, skipLibCheck: a key function given without the framework's types fails to compile, naming the package`, async () => {
        const common = ['--noEmit', '--strict', '--target', 'es2022', '--types', 'node', '--skipLibCheck'];
        const result = await run(process.execPath, [compiler, ...common, ...settings, ...files], bare);
        const errors = result.stdout.split('\n').filter((line) => /error TS/.test(line));
        for (const file of files) {
          for (const line of [5, 6, 7]) {
            const call = errors.filter((error) => error.startsWith(`${file}(${line},`) && /TS2345|TS2769/.test(error));
            expect(call, `${file}:${line}\n${result.stdout}`).to.have.length(1);
          }
          // The Redis store needs no client's types to compile: node-redis users have no ioredis.
          expect(errors.filter((error) => error.startsWith(`${file}(8,`))).to.deep.equal([]);
        }
        for (const message of MISSING) {
          expect(result.stdout.split(message).length - 1, message).to.be.at.least(files.length);
        }
        expect(result.code).to.not.equal(0);
      });
    }
  });

  it('installing for NestJS never pulls Express, Koa or Fastify in, and group-cache/nest loads (ESM and CommonJS)', async () => {
    const dir = join(work, 'nest-only');
    const names = installedNames(JSON.parse((await run('npm', ['ls', '--all', '--json'], dir)).stdout) as LsTree);
    expect(names).to.include.members(['group-cache', '@nestjs/common', '@nestjs/core']);
    for (const other of ['express', 'koa', 'fastify']) expect(names, other).to.not.include(other);
    const load = `console.log(typeof require('group-cache/nest').GroupCache); import('group-cache/nest').then(m => console.log(typeof m.GroupCacheModule.forRoot))`;
    expect((await ok(process.execPath, ['-e', load], dir)).trim().split('\n')).to.deep.equal(['function', 'function']);
  });

  it('group-cache/nest without NestJS installed fails naming the package to install (ESM and CommonJS)', async () => {
    const dir = join(work, 'express-only');
    for (const load of [
      `require('group-cache/nest')`,
      `import('group-cache/nest').catch((e) => { console.error(e.message); process.exit(1); })`,
    ]) {
      const result = await run(process.execPath, ['-e', load], dir);
      expect(result.code, load).to.not.equal(0);
      expect(result.stderr, load).to.match(/@nestjs\/common/);
    }
  });

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
