/*
 * What a Nest user expects of group-cache/nest beyond the conformance table: guards run before a hit, interceptors
 * around the cache see what Nest users expect, exception filters answer errors that are never stored, the module
 * (forRoot, forRootAsync, the injectable cache), and the write decorators. Run on NestJS 12, 11 and 10, each on
 * Express and on Fastify. The decorators are applied as TypeScript's experimentalDecorators would apply them (the
 * test files are not compiled with that flag; the tarball test compiles an app written with it).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import * as nestCommon from '@nestjs/common';
import * as nestCore from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { expect } from 'chai';
import { createCache, GroupCache, type GroupCacheError } from 'group-cache';
import * as groupCacheNest from 'group-cache/nest';
import { map, type Observable, tap } from 'rxjs';
import type { NestKit } from '../drivers/nest.js';
import { type NestPlatform, nestFixture } from '../helpers/nest-fixtures.js';

type Decorator = MethodDecorator | ((target: object, key: string | symbol, index: number) => void);
type Req = { params: Record<string, string>; headers: Record<string, string | undefined> };

/** Defines `name` on the class with its parameter and method decorators, as `@A() @B() name(@P() p) {}` would. */
function route(
  cls: { prototype: object },
  name: string,
  body: (...args: never[]) => unknown,
  decorators: MethodDecorator[],
  params: Decorator[] = [],
): void {
  const proto = cls.prototype;
  Object.defineProperty(body, 'name', { value: name });
  Object.defineProperty(proto, name, { value: body, writable: true, configurable: true });
  const descriptor = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
  for (const [index, param] of params.entries()) (param as (t: object, k: string, i: number) => void)(proto, name, index);
  for (const decorator of [...decorators].reverse()) decorator(proto, name, descriptor);
}

interface App {
  url: string;
  calls: Record<string, number>;
  seen: string[];
  errors: GroupCacheError[];
  cache: GroupCache;
  app: INestApplication;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; xCache: string | null; body: string }>;
  send(method: string, path: string): Promise<number>;
  /** Holds the next request of GET /users/guarded/:id in its guard, after the guard read the user's version. */
  holdGuard(): { entered: Promise<void>; release(): void };
}

/** One app with every feature under test: users behind a guard, interceptors around the cache, filters, writes. */
async function build(kit: NestKit, moduleImport: nestCommon.DynamicModule, cache: GroupCache): Promise<App> {
  const { common, core, groupCache: gc } = kit;
  const calls: Record<string, number> = {};
  const seen: string[] = [];
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const versions = new Map<string, number>();

  class UserGuard {
    canActivate(context: { switchToHttp(): { getRequest(): Req } }): boolean {
      seen.push('guard');
      return context.switchToHttp().getRequest().headers['x-user'] !== undefined;
    }
  }
  // Outside the cache (on the controller): runs on hits too; what it made of a miss is what is stored.
  class Wrap {
    intercept(_context: unknown, next: { handle(): Observable<unknown> }): Observable<unknown> {
      seen.push('outer');
      return next.handle().pipe(map((data) => (data === undefined ? data : { data })));
    }
  }
  // Inside (written above @GroupCache()): skipped by a hit, as the handler is.
  class Inner {
    intercept(_context: unknown, next: { handle(): Observable<unknown> }): Observable<unknown> {
      seen.push('inner');
      return next.handle().pipe(tap(() => seen.push('inner after')));
    }
  }
  // A guard that loads what the handler answers (as one that loads the user does), held while a test writes.
  let held: { entered(): void; released: Promise<void> } | undefined;
  class LoadingGuard {
    async canActivate(context: { switchToHttp(): { getRequest(): Req & { version?: number } } }): Promise<boolean> {
      const req = context.switchToHttp().getRequest();
      req.version = versions.get(req.params.id as string) ?? 0;
      const hold = held;
      held = undefined;
      hold?.entered();
      await hold?.released;
      return true;
    }
  }
  class Oops extends Error {}
  // A filter that answers an error with a 200: a thrown handler is never stored, whatever it is answered with.
  class OopsFilter {
    catch(_error: Oops, host: { switchToHttp(): { getResponse(): unknown } }): void {
      const res = host.switchToHttp().getResponse() as {
        status?: (code: number) => { json?: (body: unknown) => void; send?: (body: unknown) => void };
        code?: (code: number) => { send(body: unknown): void };
      };
      if (kit.platform === 'fastify') (res.code as (code: number) => { send(body: unknown): void })(200).send({ error: 'oops' });
      else res.status?.(200).json?.({ error: 'oops' });
    }
  }
  common.Catch(Oops)(OopsFilter);

  class UsersController {}
  const keyFn = (req: Req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] });
  route(
    UsersController,
    'findOne',
    (req: Req) => {
      count('findOne');
      seen.push('handler');
      return { id: req.params.id, version: versions.get(req.params.id as string) ?? 0 };
    },
    // Nest applies stacked decorators bottom-up: an interceptor written above @GroupCache() runs inside it.
    [common.Get(':id'), common.UseGuards(UserGuard), common.UseInterceptors(Inner), gc.GroupCache(keyFn)],
    [common.Req()],
  );
  route(
    UsersController,
    'guarded',
    (req: Req & { version?: number }) => ({ id: req.params.id, version: req.version }),
    [
      common.Get('guarded/:id'),
      common.UseGuards(LoadingGuard),
      gc.GroupCache((req: Req) => ({ key: `guarded_${req.params.id}`, groups: [`user_group_${req.params.id}`] })),
    ],
    [common.Req()],
  );
  route(
    UsersController,
    'oops',
    () => {
      count('oops');
      throw new Oops('oops');
    },
    [common.Get('oops/:id'), common.UseFilters(OopsFilter), gc.GroupCache((req: Req) => `oops_${req.params.id}`)],
    [],
  );
  route(
    UsersController,
    'update',
    (id: string) => {
      versions.set(id, (versions.get(id) ?? 0) + 1);
      return { id };
    },
    [common.Put(':id'), gc.ExpireGroups((_req: Req, result: { id: string }) => [`user_group_${result.id}`])],
    [common.Param('id')],
  );
  route(
    UsersController,
    'rename',
    (req: Req) => {
      gc.addExpireGroups(req, 'users');
      return { ok: true };
    },
    [common.Patch(':id'), gc.ExpireGroups()],
    [common.Req()],
  );
  route(
    UsersController,
    'failedWrite',
    () => {
      throw new common.BadRequestException('invalid');
    },
    [common.Post(':id'), gc.ExpireGroups(() => ['users'])],
    [],
  );
  route(
    UsersController,
    'unmarked',
    (req: Req) => {
      gc.addExpireGroups(req, 'users');
      return { ok: true };
    },
    [common.Delete(':id')],
    [common.Req()],
  );
  route(UsersController, 'badNaming', () => ({ ok: true }), [
    common.Put('naming/:id'),
    gc.ExpireGroups(() => {
      throw new Error('no groups today');
    }),
  ]);
  route(
    UsersController,
    'sendsItself',
    (req: Req, res: { json?(body: unknown): void; send(body: unknown): void }) => {
      gc.addExpireGroups(req, 'users');
      if (kit.platform === 'express') res.json?.({ ok: true });
      else res.send({ ok: true });
    },
    [common.Put('itself/:id'), gc.ExpireGroups()],
    [common.Req(), common.Res()],
  );
  common.UseInterceptors(Wrap)(UsersController);
  common.Controller('users')(UsersController);

  // A service that injects the cache, by its class and by the token.
  class CacheUser {
    constructor(
      readonly byClass: GroupCache,
      readonly byToken: GroupCache,
    ) {}
  }
  common.Injectable()(CacheUser);
  common.Inject(GroupCache)(CacheUser, undefined, 0);
  common.Inject(gc.GROUP_CACHE)(CacheUser, undefined, 1);

  class AppModule {}
  common.Module({ imports: [moduleImport], controllers: [UsersController], providers: [CacheUser] })(AppModule);
  const app = (await core.NestFactory.create(AppModule, kit.adapter(), { logger: false })) as INestApplication;
  await app.listen(0, '127.0.0.1');
  const errors: GroupCacheError[] = [];
  cache.on('error', (error) => errors.push(error));
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const injected = app.get(CacheUser);
  expect(injected.byClass, 'the cache injected by class').to.equal(cache);
  expect(injected.byToken, 'the cache injected by GROUP_CACHE').to.equal(cache);
  return {
    url,
    calls,
    seen,
    errors,
    cache,
    app,
    async get(path, headers = { 'x-user': 'ann' }) {
      const res = await fetch(url + path, { headers });
      return { status: res.status, xCache: res.headers.get('x-cache'), body: await res.text() };
    },
    holdGuard() {
      let entered!: () => void;
      let release!: () => void;
      const hold = {
        entered: new Promise<void>((resolve) => (entered = resolve)),
        released: new Promise<void>((resolve) => (release = resolve)),
      };
      held = { entered, released: hold.released };
      return { entered: hold.entered, release };
    },
    async send(method, path) {
      const res = await fetch(url + path, { method, headers: { 'x-user': 'ann' } });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

const KITS: Array<[string, (platform: NestPlatform) => NestKit]> = [
  [
    'Nest 12',
    (platform) => ({
      common: nestCommon,
      core: nestCore,
      groupCache: groupCacheNest,
      platform,
      adapter: () => (platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()),
      version: (createRequire(import.meta.url)('@nestjs/core/package.json') as { version: string }).version,
    }),
  ],
  ['Nest 11', nestFixture(11)],
  ['Nest 10', nestFixture(10)],
];

for (const [version, load] of KITS) {
  for (const platform of ['express', 'fastify'] as const) {
    describe(`group-cache/nest on ${version} (${platform})`, function () {
      this.timeout(120_000);
      let kit: NestKit;
      let h: App;
      before(async () => {
        kit = load(platform);
        const cache = createCache();
        h = await build(kit, kit.groupCache.GroupCacheModule.forRoot({ cache }), cache);
      });
      after(async () => {
        await h?.app.close();
        await h?.cache.close();
      });
      beforeEach(() => {
        h.seen.length = 0;
      });

      it('runs on the NestJS it names', () => {
        expect(kit.version.split('.')[0]).to.equal(version.split(' ')[1]);
      });

      it('guards run before a hit: a request they refuse gets their 403, never the cached response', async () => {
        expect((await h.get('/users/1')).xCache).to.equal('MISS');
        expect((await h.get('/users/1')).xCache).to.equal('HIT');
        h.seen.length = 0;
        const refused = await h.get('/users/1', {});
        expect(refused.status).to.equal(403);
        expect(refused.xCache).to.equal(null);
        expect(refused.body).to.not.include('version');
        expect(h.seen).to.deep.equal(['guard']);
        expect(h.calls.findOne).to.equal(1);
      });

      it("interceptors around the cache (the controller's) run on a hit; those inside it (written above it) and the handler do not", async () => {
        const miss = await h.get('/users/2');
        expect(miss.xCache).to.equal('MISS');
        expect(h.seen).to.deep.equal(['guard', 'outer', 'inner', 'handler', 'inner after']);
        h.seen.length = 0;
        const hit = await h.get('/users/2');
        expect(hit.xCache).to.equal('HIT');
        expect(h.seen).to.deep.equal(['guard', 'outer']);
        // What the outer interceptor made of the miss is what was stored, and is not made again of the hit.
        expect(JSON.parse(hit.body)).to.deep.equal({ data: { id: '2', version: 0 } });
        expect(hit.body).to.equal(miss.body);
      });

      it('an error the handler throws goes to the exception filters and is never stored, whatever they answer', async () => {
        const first = await h.get('/users/oops/1');
        expect(first.status).to.equal(200);
        expect(JSON.parse(first.body)).to.deep.equal({ error: 'oops' });
        expect(first.xCache).to.equal('MISS');
        expect((await h.get('/users/oops/1')).xCache).to.equal('MISS');
        expect(h.calls.oops).to.equal(2);
      });

      it('@ExpireGroups((req, result) => groups) expires them before the write is answered', async () => {
        await h.get('/users/3');
        expect((await h.get('/users/3')).xCache).to.equal('HIT');
        expect(await h.send('PUT', '/users/3')).to.equal(200);
        const after = await h.get('/users/3');
        expect(after.xCache).to.equal('MISS');
        expect(JSON.parse(after.body)).to.deep.equal({ data: { id: '3', version: 1 } });
      });

      it('a fill is dated from when its request entered the app: data a guard loaded before a write is never a HIT after it', async () => {
        const guard = h.holdGuard();
        const first = h.get('/users/guarded/8');
        await guard.entered;
        expect(await h.send('PUT', '/users/8')).to.equal(200);
        guard.release();
        const stale = await first;
        expect(JSON.parse(stale.body)).to.deep.equal({ data: { id: '8', version: 0 } });
        const next = await h.get('/users/guarded/8');
        expect(next.xCache).to.equal('MISS');
        expect(JSON.parse(next.body)).to.deep.equal({ data: { id: '8', version: 1 } });
      });

      it('addExpireGroups(req, groups) names groups from inside the handler', async () => {
        await h.get('/users/4');
        expect((await h.get('/users/4')).xCache).to.equal('HIT');
        expect(await h.send('PATCH', '/users/4')).to.equal(200);
        expect((await h.get('/users/4')).xCache).to.equal('MISS');
      });

      it('a write that throws expires nothing (its error goes to the filters as thrown)', async () => {
        await h.get('/users/5');
        expect(await h.send('POST', '/users/5')).to.equal(400);
        expect((await h.get('/users/5')).xCache).to.equal('HIT');
      });

      it('an @ExpireGroups() function that throws: EINVALIDGROUP reported, and the write answered 503 (onError: fail)', async () => {
        h.errors.length = 0;
        expect(await h.send('PUT', '/users/naming/1')).to.equal(503);
        expect(h.errors.map((error) => error.code)).to.deep.equal(['EINVALIDGROUP']);
        expect(h.errors[0]?.message).to.include('no groups today');
      });

      it('a write that sends its response itself (@Res()) is expired, and reported as EMISUSE (too late for the client)', async () => {
        await h.get('/users/7');
        h.errors.length = 0;
        expect(await h.send('PUT', '/users/itself/7')).to.equal(200);
        expect(h.errors.map((error) => error.code)).to.deep.equal(['EMISUSE']);
        expect(h.errors[0]?.message).to.include('passthrough');
        expect((await h.get('/users/7')).xCache).to.equal('MISS');
      });

      it('addExpireGroups() on a route without @ExpireGroups() throws EMISUSE (a 500), and expires nothing', async () => {
        await h.get('/users/6');
        expect(await h.send('DELETE', '/users/6')).to.equal(500);
        expect((await h.get('/users/6')).xCache).to.equal('HIT');
      });
    });
  }
}

describe('group-cache/nest: the module and the decorators', () => {
  const kit: NestKit = KITS[0]?.[1]('express') as NestKit;
  const gc = kit.groupCache;

  it('forRootAsync() takes its options from a factory with injected providers; the cache it made closes with the app', async () => {
    const CONFIG = Symbol('config');
    class ConfigModule {}
    nestCommon.Module({ providers: [{ provide: CONFIG, useValue: { ttl: 1234 } }], exports: [CONFIG] })(ConfigModule);
    const made: GroupCache[] = [];
    const module = gc.GroupCacheModule.forRootAsync({
      imports: [ConfigModule],
      inject: [CONFIG],
      useFactory: async (config: { ttl: number }) => ({ ttl: config.ttl }),
    });
    class Probe {
      constructor(readonly cache: GroupCache) {
        made.push(cache);
      }
    }
    nestCommon.Injectable()(Probe);
    nestCommon.Inject(gc.GROUP_CACHE)(Probe, undefined, 0);
    class AppModule {}
    nestCommon.Module({ imports: [module], providers: [Probe] })(AppModule);
    const app = await nestCore.NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    await app.init();
    const cache = made[0] as GroupCache;
    expect(cache.ttl).to.equal(1234);
    let closed = 0;
    const close = cache.close.bind(cache);
    cache.close = () => {
      closed++;
      return close();
    };
    await app.close();
    expect(closed).to.equal(1);
  });

  it('forRoot({ cache }) leaves a cache made elsewhere open when the app closes', async () => {
    const cache = createCache();
    let closed = 0;
    cache.close = async () => {
      closed++;
    };
    class AppModule {}
    nestCommon.Module({ imports: [gc.GroupCacheModule.forRoot({ cache })] })(AppModule);
    const app = await nestCore.NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    await app.init();
    await app.close();
    expect(closed).to.equal(0);
  });

  it('forRoot() refuses a cache given with cache options, and a cache option that does not exist', () => {
    expect(() => gc.GroupCacheModule.forRoot({ cache: createCache(), ttl: 5 })).to.throw(TypeError, /option cache .* ttl/);
    expect(() => gc.GroupCacheModule.forRoot({ tll: 5 } as never)).to.throw(TypeError, /ttl/);
    expect(() => gc.GroupCacheModule.forRootAsync({} as never)).to.throw(TypeError, /useFactory/);
  });

  it('@GroupCache() checks its arguments when the class is defined: a key function, known options', () => {
    expect(() => gc.GroupCache('user' as never)).to.throw(TypeError, /keyFn must be a function/);
    expect(() => gc.GroupCache(() => 'k', { tll: 5 } as never)).to.throw(TypeError, /ttl/);
    expect(() => gc.GroupCache(() => 'k', { ttl: -1 })).to.throw(TypeError, /ttl/);
    expect(() => gc.ExpireGroups('users' as never)).to.throw(TypeError, /groupsOf must be a function/);
    const accessor = { get: () => 1 };
    expect(() => gc.GroupCache(() => 'k')({}, 'x', accessor)).to.throw(TypeError, /decorates a method/);
  });
});
