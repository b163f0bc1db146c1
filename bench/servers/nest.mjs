// NestJS rows (the repository's NestJS, on @nestjs/platform-express), for the servers (bench/server.mjs). Each builder
// takes `{ lib?, redisUrl?, prefix?, oneRoute? }` and returns `{ app, cache? }` (a Nest application, initialised);
// build() hands the caller its Express request listener. Plain JavaScript applies the decorators as TypeScript's
// experimentalDecorators would.
import { groupCacheBuilders, part, store } from './library.mjs';
import { bodies, user, userKey } from './payload.mjs';

async function nest() {
  const [common, core, { ExpressAdapter }] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('@nestjs/platform-express'),
  ]);
  return { common, core, ExpressAdapter };
}

/** Defines `method` on the controller with its route, parameter and method decorators (the last listed applies first). */
function route(Controller, name, method, decorators, params = []) {
  Object.defineProperty(Controller.prototype, name, { value: method, writable: true, configurable: true });
  const descriptor = Object.getOwnPropertyDescriptor(Controller.prototype, name);
  for (const [index, param] of params.entries()) param(Controller.prototype, name, index);
  for (const decorator of [...decorators].reverse()) decorator(Controller.prototype, name, descriptor);
}

async function application(controller, imports, n) {
  class AppModule {}
  n.common.Module({ imports, controllers: [controller] })(AppModule);
  const app = await n.core.NestFactory.create(AppModule, new n.ExpressAdapter(), { logger: false });
  await app.init();
  return app;
}

async function groupCacheApp(storeKind, { lib, redisUrl, prefix, oneRoute = false }) {
  const n = await nest();
  const { createCache } = await part(lib, 'core');
  const { GroupCache, GroupCacheModule, ExpireGroups } = await part(lib, 'nest');
  const cache = createCache({ store: await store(storeKind, { lib, redisUrl, prefix }), ttl: 600_000 });
  class Users {}
  route(
    Users,
    'findOne',
    (id) => user(id),
    [n.common.Get(':id'), GroupCache((req) => userKey(req.params.id))],
    [n.common.Param('id')],
  );
  if (!oneRoute) {
    route(
      Users,
      'update',
      (id) => user(id),
      [n.common.Put(':id'), ExpireGroups((_req, body) => [`user_group_${body.id}`])],
      [n.common.Param('id')],
    );
  }
  n.common.Controller('users')(Users);
  return { app: await application(Users, [GroupCacheModule.forRoot({ cache })], n), cache };
}

export const builders = {
  // The same bytes from a precomputed Buffer, written on the response by a Nest handler (`@Res()`): Nest's router,
  // no interceptor, no serialising.
  async limit() {
    const n = await nest();
    const precomputed = bodies();
    class Users {}
    route(
      Users,
      'findOne',
      (id, res) => {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(precomputed.get(id));
      },
      [n.common.Get(':id')],
      [n.common.Param('id'), n.common.Res()],
    );
    n.common.Controller('users')(Users);
    return { app: await application(Users, [], n) };
  },
  ...groupCacheBuilders(groupCacheApp),
};

export async function build(kind, options) {
  if (!Object.hasOwn(builders, kind)) throw new Error(`no Nest row of kind ${kind}`);
  const { app, cache } = await builders[kind](options);
  return { handler: app.getHttpAdapter().getInstance(), cache };
}
