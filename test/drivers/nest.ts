import type { RequestListener } from 'node:http';
import type * as Common from '@nestjs/common';
import type * as Core from '@nestjs/core';
import type * as GroupCacheNest from 'group-cache/nest';
import type { AdapterDriver, RequestView, RouteResponse, RouteSpec } from '../helpers/adapter-conformance.js';

/**
 * One NestJS install: its packages, loaded from where they live (the repository's NestJS 12, or a fixture folder's
 * 10 or 11), and group-cache/nest loaded against them.
 */
export interface NestKit {
  common: typeof Common;
  core: typeof Core;
  /** A new HTTP adapter of the platform (`new ExpressAdapter()`, `new FastifyAdapter()`). */
  adapter(): Core.AbstractHttpAdapter;
  platform: 'express' | 'fastify';
  groupCache: typeof GroupCacheNest;
  /** The version of its @nestjs/core. */
  version: string;
}

type Platform = { params: Record<string, string>; method: string; headers: RequestView['headers'] };
type PlatformResponse = {
  status?(code: number): unknown;
  code?(code: number): unknown;
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
  raw?: { setHeader(name: string, value: string): unknown };
};

const view = (req: Platform): RequestView => ({ params: req.params, method: req.method, headers: req.headers });

/** Writes a handler's answer the Nest way: status and headers on the passthrough response, the body returned. */
function answer(kit: NestKit, req: object, res: PlatformResponse, reply: RouteResponse): unknown {
  const locals = kit.groupCache.cacheLocals(req);
  if (reply.expireGroups !== undefined) (locals as Record<string, unknown>).expireGroups = reply.expireGroups;
  if (reply.locals !== undefined) Object.defineProperties(locals, Object.getOwnPropertyDescriptors(reply.locals));
  if (res.code !== undefined) res.code(reply.status);
  else res.status?.(reply.status);
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    // Fastify's reply.header() lower-cases names: a header that keeps its case goes on the Node response.
    if (kit.platform === 'fastify' && name !== name.toLowerCase()) res.raw?.setHeader(name, value);
    else if (res.header !== undefined && kit.platform === 'fastify') res.header(name, value);
    else res.setHeader?.(name, value);
  }
  const body = reply.body;
  if (Buffer.isBuffer(body)) return new kit.common.StreamableFile(body);
  return body;
}

// A thrown error with a status (the suite's httpError) is answered with it, as Nest's filters answer HttpException.
function nestError(kit: NestKit, error: unknown): unknown {
  const status = (error as { status?: unknown }).status;
  if (typeof status !== 'number') return error;
  return new kit.common.HttpException((error as Error).message, status);
}

function decorateRoute(kit: NestKit, proto: object, name: string, route: RouteSpec): void {
  const { common, groupCache } = kit;
  async function handle(req: Platform, res: PlatformResponse): Promise<unknown> {
    try {
      return answer(kit, req, res, await route.handle(view(req)));
    } catch (error) {
      throw nestError(kit, error);
    }
  }
  Object.defineProperty(handle, 'name', { value: name });
  Object.defineProperty(proto, name, { value: handle, writable: true, configurable: true });
  const descriptor = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
  common.Req()(proto, name, 0);
  common.Res({ passthrough: true })(proto, name, 1);
  const verb = { get: common.Get, put: common.Put, post: common.Post }[route.method];
  const decorators: MethodDecorator[] = [verb(route.path), groupCache.ExpireGroups()];
  const cached = route.cached;
  if (cached) decorators.push(groupCache.GroupCache((req: Platform) => cached.keyFn(view(req)), cached.options));
  // Listed as written over a method, the last one applies first.
  for (const decorator of decorators.reverse()) decorator(proto, name, descriptor);
}

/**
 * The Nest driver: the blueprint's routes as one controller, the cache given through GroupCacheModule.forRoot().
 * `loadKit` loads the NestJS install on the first build (a fixture's is installed then).
 */
export function nestDriver(name: string, loadKit: () => NestKit): AdapterDriver {
  return {
    name,
    async build({ cache, routes, expire }): Promise<RequestListener> {
      const kit = loadKit();
      const { common, core, groupCache } = kit;
      class BlueprintController {}
      for (const [index, route] of routes.entries()) {
        decorateRoute(kit, BlueprintController.prototype, `route${index}`, route);
      }
      common.Controller()(BlueprintController);
      class AppModule {}
      common.Module({
        imports: [groupCache.GroupCacheModule.forRoot({ cache, expire })],
        controllers: [BlueprintController],
      })(AppModule);
      const app = await core.NestFactory.create(AppModule, kit.adapter(), { logger: false });
      await app.init();
      const instance = app.getHttpAdapter().getInstance() as
        | RequestListener
        | { ready(): Promise<unknown>; routing: RequestListener };
      if (kit.platform === 'express') return instance as RequestListener;
      const fastify = instance as { ready(): Promise<unknown>; routing: RequestListener };
      await fastify.ready();
      return (req, res) => fastify.routing(req, res);
    },
  };
}
