/*
 * @cached (issue 23, item 3): the seed's decorator on the data API. The fixtures in test/fixtures/cached-method are
 * compiled by the real TypeScript compiler twice, with standard decorators (TS 5+, no flag) and with
 * experimentalDecorators + emitDecoratorMetadata (NestJS's settings), and the same tests run on both outputs, on the
 * memory store and on a real Redis store.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { cached, type GroupCache, type GroupCacheError } from 'group-cache';
import ts from 'typescript';
import type * as Fixture from '../fixtures/cached-method/services.js';
import { sharedRedis } from '../helpers/redis-fixtures.js';
import { uniquePrefix } from '../helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/cached-method');
// Inside the package, so that the compiled files' `import 'group-cache'` resolves to this package's build.
const OUT = join(ROOT, 'test/output', `cached-method-${process.pid}`);

const COMPILATIONS = {
  'standard decorators': {},
  'experimentalDecorators + emitDecoratorMetadata': { experimentalDecorators: true, emitDecoratorMetadata: true },
} as const satisfies Record<string, ts.CompilerOptions>;
type Compilation = keyof typeof COMPILATIONS;

// What a NestJS app does under experimentalDecorators: reflect-metadata loaded, a decorator that keeps its metadata on
// the method itself (as @Get() does), applied before @cached (decorators apply bottom-up).
const METADATA_SOURCE = `
import 'reflect-metadata';
import { cached, createCache } from 'group-cache';

function route(path: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata('test:route', path, descriptor.value as object);
  };
}

class Controller {
  @cached({ cache: createCache({ expireFromCodeOnly: true }), key: (id: string) => \`c_\${id}\` })
  @route('/users/:id')
  async get(id: string): Promise<{ id: string }> {
    return { id };
  }
}

const method = Controller.prototype.get;
console.log(JSON.stringify({
  route: Reflect.getMetadata('test:route', method) ?? null,
  name: method.name,
  returnType: (Reflect.getMetadata('design:returntype', Controller.prototype, 'get') as { name: string }).name,
  paramTypes: (Reflect.getMetadata('design:paramtypes', Controller.prototype, 'get') as Array<{ name: string }>).map((t) => t.name),
  value: await new Controller().get('7'),
}));
`;

/** Compiles `files` with the real compiler into `OUT/<dir>`, failing on any diagnostic. */
function compile(dir: string, files: string[], rootDir: string, extra: ts.CompilerOptions): void {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
    rootDir,
    outDir: join(OUT, dir),
    ...extra,
  };
  const program = ts.createProgram(files, options);
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
  expect(ts.formatDiagnostics(diagnostics, host), `${dir}: compile errors`).to.equal('');
}

function runNode(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

function outDir(compilation: Compilation): string {
  return compilation.startsWith('standard') ? 'standard' : 'legacy';
}

function errorsOf(cache: GroupCache): GroupCacheError[] {
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  return errors;
}

// A fill is dated a little early, on the safe side (store-clock.ts): a call right after an expiry waits past that.
const pastExpiry = () => new Promise((resolve) => setTimeout(resolve, 5));

type Make = (context: Mocha.Context, fixture: typeof Fixture) => Promise<GroupCache>;

describe('@cached: a method decorator on the data API', function () {
  this.timeout(120_000);
  const modules = new Map<Compilation, typeof Fixture>();
  const redis = sharedRedis();
  const stores: Array<[label: string, make: Make]> = [
    ['memory store', async (_context, fixture) => fixture.createCache({ expireFromCodeOnly: true })],
    [
      'Redis store',
      async (context, fixture) => {
        // As test/helpers/redis-fixtures.ts's caches, on the fixture's own build: generous store timeouts for a busy
        // machine, and the prefix's epoch made well before the first fill is dated.
        const store = fixture.redisStore({ client: await redis(context), prefix: uniquePrefix('cached-method') });
        const cache = fixture.createCache({ store, storeTimeout: 5_000, expireFromCodeOnly: true });
        await cache.store.get('warm');
        await new Promise((resolve) => setTimeout(resolve, 500));
        return cache;
      },
    ],
  ];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    const sources = ['services.ts', 'default-cache.ts'].map((file) => join(FIXTURES, file));
    for (const [compilation, extra] of Object.entries(COMPILATIONS) as Array<[Compilation, ts.CompilerOptions]>) {
      compile(outDir(compilation), sources, FIXTURES, extra);
      modules.set(
        compilation,
        (await import(pathToFileURL(join(OUT, outDir(compilation), 'services.js')).href)) as typeof Fixture,
      );
    }
  });

  after(() => rmSync(OUT, { recursive: true, force: true }));

  for (const compilation of Object.keys(COMPILATIONS) as Compilation[]) {
    for (const [label, make] of stores) {
      describe(`compiled with ${compilation}, ${label}`, () => {
        let cache: GroupCache;
        let errors: GroupCacheError[];
        let db: Fixture.Db;
        let services: ReturnType<typeof Fixture.defineServices>;

        beforeEach(async function () {
          const fixture = modules.get(compilation);
          if (fixture === undefined) throw new Error(`${compilation}: not compiled`);
          cache = await make(this, fixture);
          errors = errorsOf(cache);
          db = new fixture.Db();
          services = fixture.defineServices(cache, db);
        });

        afterEach(async () => {
          await cache?.close();
        });

        it('an async method: the first call loads, the next returns the cached value, with `this` kept', async () => {
          const { users } = services;
          expect(await users.get('1')).to.deep.equal({ id: '1', version: 1 });
          db.version = 2;
          expect(await users.get('1')).to.deep.equal({ id: '1', version: 1 });
          expect(db.calls).to.equal(1);
          expect(cache.stats()).to.include({ hits: 1, misses: 1, stores: 1 });
          expect(errors).to.deep.equal([]);
        });

        it('a synchronous method returns a Promise of its value, cached with its options (groups, ttl)', async () => {
          const { users } = services;
          const first = users.sum(1, 2);
          expect(first).to.be.an.instanceOf(Promise);
          expect(await first).to.equal(3);
          expect(await users.sum(1, 2)).to.equal(3);
          expect(db.calls).to.equal(1);
          const entry = await cache.inspect('sum_1_2', { data: true });
          expect(entry?.groups).to.include('sums');
          expect((entry?.freshUntil ?? 0) - (entry?.storedAt ?? 0)).to.equal(5_000);
        });

        it('a synchronous method that throws rejects its Promise (it never throws at the call), and nothing is cached', async () => {
          const { users } = services;
          let call: Promise<number> | undefined;
          expect(() => {
            call = Promise.resolve(users.fails('x'));
          }).to.not.throw();
          let rejected: unknown;
          await call?.catch((error: unknown) => {
            rejected = error;
          });
          expect((rejected as Error).message).to.equal('no number for x');
          await Promise.resolve(users.fails('x')).catch(() => {});
          expect(db.calls).to.equal(2);
          expect(await cache.inspect('fails_x', { data: true })).to.equal(undefined);
        });

        it('a value is a getOrSet value of the same key: one slot, one store, one name space', async () => {
          expect(await services.users.get('1')).to.deep.equal({ id: '1', version: 1 });
          expect(await cache.getOrSet('user_1', () => 'loaded again')).to.deep.equal({ id: '1', version: 1 });
          expect(db.calls).to.equal(1);
        });

        it("expireGroups() of one of the call's groups loads it again; other keys keep their values", async () => {
          const { users } = services;
          await users.get('1');
          await users.get('2');
          db.version = 2;
          await cache.expireGroups('user_group_1');
          await pastExpiry();
          expect(await users.get('1')).to.deep.equal({ id: '1', version: 2 });
          expect(await users.get('2')).to.deep.equal({ id: '2', version: 1 });
          await cache.expireGroups('users');
          await pastExpiry();
          expect(await users.get('2')).to.deep.equal({ id: '2', version: 2 });
          expect(db.calls).to.equal(4);
        });

        it('expireKey(key) loads that key again', async () => {
          await services.users.get('1');
          db.version = 2;
          await cache.expireKey('user_1');
          await pastExpiry();
          expect(await services.users.get('1')).to.deep.equal({ id: '1', version: 2 });
        });

        it('a call that started before an expiry of its groups never has its value served afterwards', async () => {
          const { users } = services;
          const held = db.hold();
          const early = users.get('1');
          await held.entered; // it read version 1
          db.version = 2;
          await cache.expireGroups('users');
          held.release();
          expect(await early).to.deep.equal({ id: '1', version: 1 }); // its own caller gets it
          await pastExpiry();
          expect(await users.get('1')).to.deep.equal({ id: '1', version: 2 });
        });

        it('concurrent calls of one key run the method once', async () => {
          const held = db.hold();
          const calls = [services.users.get('9'), services.users.get('9'), services.users.get('9')];
          await held.entered;
          held.release();
          const values = await Promise.all(calls);
          expect(values).to.deep.equal([1, 2, 3].map(() => ({ id: '9', version: 1 })));
          expect(db.calls).to.equal(1);
        });

        it("the key function gets the method's `this`", async () => {
          expect(await services.users.ofTenant('1')).to.deep.equal({ id: 'acme/1', version: 1 });
          expect(await cache.inspect('acme:user_1', { data: true })).to.not.equal(undefined);
        });

        it("a key spec { key, groups, ttl }: its groups add to the options', its ttl wins", async () => {
          await services.users.spec('1');
          const entry = await cache.inspect('spec_1', { data: true });
          expect(entry?.groups).to.include.members(['specs', 'more']);
          expect((entry?.freshUntil ?? 0) - (entry?.storedAt ?? 0)).to.equal(7_000);
        });

        it('a falsy key runs the method uncached, counted as a bypass', async () => {
          await services.users.maybe('live');
          await services.users.maybe('live');
          expect(db.calls).to.equal(2);
          expect(cache.stats().bypassReasons['no-key']).to.equal(2);
          expect(errors).to.deep.equal([]);
        });

        it('a static method, with the class as `this`', async () => {
          expect(await services.Users.config()).to.deep.equal({ name: 'Users' });
          expect(await services.Users.config()).to.deep.equal({ name: 'Users' });
          expect(cache.stats().hits).to.equal(1);
        });

        for (const [method, message] of [
          ['keyThrows', /^@cached Users\.keyThrows: key function threw: no key for 1$/],
          ['keyJunk', /^@cached Users\.keyJunk: key function returned number 42: expected a key string/],
          [
            'groupsJunk',
            /^@cached Users\.groupsJunk: groups function returned an array of length 2: groups must contain non-empty strings only, got number 42$/,
          ],
          [
            'groupsNotList',
            /^@cached Users\.groupsNotList: groups function returned number 7: groups must be a string or an array of strings/,
          ],
          ['groupsThrow', /^@cached Users\.groupsThrow: groups function threw: no groups today$/],
        ] as const) {
          it(`${method}: reported as EKEYFUNCTION naming the method and what was wrong; the method runs uncached`, async () => {
            const users = services.users as unknown as Record<string, (id: string) => Promise<Fixture.User>>;
            expect(await users[method]?.call(services.users, '1')).to.deep.equal({ id: '1', version: 1 });
            expect(await users[method]?.call(services.users, '1')).to.deep.equal({ id: '1', version: 1 });
            expect(db.calls).to.equal(2);
            expect(errors.map((e) => e.code)).to.deep.equal(['EKEYFUNCTION', 'EKEYFUNCTION']);
            expect(errors[0]?.message).to.match(message);
            expect(errors[0]?.details).to.include({ where: `@cached Users.${method}` });
            expect(cache.stats().bypassReasons['key-function']).to.equal(2);
            expect(cache.stats().stores).to.equal(0);
          });
        }
      });
    }

    it(`compiled with ${compilation}: with no cache option, the default cache is taken at the first call`, async () => {
      const out = await runNode(join(OUT, outDir(compilation), 'default-cache.js'));
      expect(JSON.parse(out)).to.deep.equal({ calls: [1, 1, 2], isDefault: true, hits: 1 });
    });
  }

  it('experimentalDecorators + reflect-metadata: metadata other decorators put on the method stays on it', async () => {
    const dir = join(OUT, 'metadata-src');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'metadata.ts'), METADATA_SOURCE);
    compile('metadata', [join(dir, 'metadata.ts')], dir, COMPILATIONS['experimentalDecorators + emitDecoratorMetadata']);
    const out = await runNode(join(OUT, 'metadata', 'metadata.js'));
    expect(JSON.parse(out)).to.deep.equal({
      route: '/users/:id',
      name: 'get',
      returnType: 'Promise',
      paramTypes: ['String'],
      value: { id: '7' },
    });
  });

  it("more groups than the cache's maxGroups: EKEYFUNCTION naming the method and the limit, the method runs uncached", async () => {
    const fixture = modules.get('standard decorators') as typeof Fixture;
    const cache = fixture.createCache({ maxGroups: 1, expireFromCodeOnly: true });
    const errors = errorsOf(cache);
    const db = new fixture.Db();
    const { users } = fixture.defineServices(cache, db);
    expect(await users.spec('1')).to.deep.equal({ id: '1', version: 1 });
    expect(await users.get('1')).to.deep.equal({ id: '1', version: 1 });
    expect(errors.map((e) => e.message)).to.deep.equal([
      '@cached Users.spec: key and groups functions: the groups of the call has 2 groups, more than the limit of 1',
      '@cached Users.get: groups function returned an array of length 2: groups has 2 groups, more than the limit of 1',
    ]);
    expect(cache.stats().stores).to.equal(0);
  });

  it("a process that loaded both builds: @cached of the ESM build on a CommonJS build's cache shares its values and error codes", async () => {
    const fixture = modules.get('standard decorators') as typeof Fixture; // compiled as ESM: the ESM build
    const commonjs = createRequire(import.meta.url)(join(ROOT, 'dist/cjs/lib/index.js')) as typeof Fixture;
    expect(commonjs.createCache).to.not.equal(fixture.createCache);
    const cache = commonjs.createCache({ expireFromCodeOnly: true });
    const errors = errorsOf(cache);
    const db = new fixture.Db();
    const { users } = fixture.defineServices(cache, db);
    expect(await users.get('1')).to.deep.equal({ id: '1', version: 1 });
    expect(await cache.getOrSet('user_1', () => 'loaded again')).to.deep.equal({ id: '1', version: 1 });
    await users.keyJunk('1');
    expect(errors.map((e) => e.code)).to.deep.equal(['EKEYFUNCTION']);
    expect(cache.stats().stores).to.equal(1);
  });

  describe('set-up mistakes throw a TypeError at class definition', () => {
    const bad = (options: unknown) => () => cached(options as Parameters<typeof cached>[0]);

    it('cached() without an options object, or without a key function', () => {
      expect(bad(undefined)).to.throw(TypeError, '@cached() takes an options object { key, groups?, ttl? }, got undefined');
      expect(bad('user')).to.throw(TypeError, 'got the string "user"');
      expect(bad({ groups: ['users'] })).to.throw(
        TypeError,
        "option key of @cached() must be a function of the method's arguments",
      );
      expect(bad({ key: 'user_1' })).to.throw(TypeError, 'option key of @cached() must be a function');
    });

    it('an unknown option names the closest known one', () => {
      expect(bad({ key: () => 'k', tll: 5 })).to.throw(TypeError, 'unknown option tll for @cached() (did you mean ttl?)');
    });

    it('a bad ttl, staleWhileRevalidate, serializer, fixed groups or cache', () => {
      expect(bad({ key: () => 'k', ttl: -1 })).to.throw(TypeError, 'option ttl must be a positive number');
      expect(bad({ key: () => 'k', ttl: 2 * 31_536_000_000 })).to.throw(TypeError, 'option ttl must be at most');
      expect(bad({ key: () => 'k', staleWhileRevalidate: 'long' })).to.throw(TypeError, 'option staleWhileRevalidate');
      expect(bad({ key: () => 'k', serializer: 'xml' })).to.throw(TypeError, 'serializer');
      expect(bad({ key: () => 'k', groups: ['users', 42] })).to.throw(
        TypeError,
        'option groups must contain non-empty strings only',
      );
      expect(bad({ key: () => 'k', groups: 42 })).to.throw(TypeError, 'option groups must be a string or an array of strings');
      expect(bad({ key: () => 'k', cache: {} })).to.throw(
        TypeError,
        'option cache of @cached() must be a cache made by createCache()',
      );
    });

    it('decorating what is not a method (standard: a getter, a field; experimental: an accessor, a property)', () => {
      const decorator = cached({ key: () => 'k' }) as unknown as (...args: unknown[]) => unknown;
      const context = (kind: string) => ({ kind, name: 'x', static: false, private: false, metadata: {} });
      expect(() => decorator(() => 1, context('getter'))).to.throw(TypeError, '@cached() decorates methods, not a getter (x)');
      expect(() => decorator(undefined, context('field'))).to.throw(TypeError, '@cached() decorates methods, not a field (x)');
      expect(() => decorator({}, 'x', { get: () => 1, configurable: true })).to.throw(
        TypeError,
        '@cached() decorates methods, not an accessor (x)',
      );
      expect(() => decorator({}, 'x', undefined)).to.throw(TypeError, '@cached() decorates methods, not a property (x)');
    });
  });
});
