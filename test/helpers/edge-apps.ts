/*
 * The same small app in each framework, for the tests that put Varnish in front of real app instances: GET
 * /items/:id is cached (groups item_group_<id> and items) and answers the item's version from a "database" every
 * instance shares; PUT /items/:id?v=N writes version N (a version never goes back) and expires item_group_<id>.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import express from 'express';
import Fastify from 'fastify';
import type { GroupCache } from 'group-cache';
import { groupCache as expressCache, expireGroups as expressExpire } from 'group-cache/express';
import { groupCache as fastifyCache, expireGroups as fastifyExpire } from 'group-cache/fastify';
import { groupCache as koaCache, expireGroups as koaExpire } from 'group-cache/koa';
import Koa from 'koa';

export type Framework = 'express' | 'koa' | 'fastify';
export const FRAMEWORKS: readonly Framework[] = ['express', 'koa', 'fastify'];

/** What every instance shares: the items' versions, and how long a read of the database takes. */
export interface ItemsDb {
  versions: Map<string, number>;
  /** Milliseconds a GET handler waits after reading, to make fills slow (default none). */
  delay?: () => number;
}

export interface AppInstance {
  readonly port: number;
  close(): Promise<void>;
}

export interface AppOptions {
  onError?: 'fail' | 'continue';
  /** Sent by the handler as it is (Surrogate-Control for a route without `edge`). */
  headers?: Record<string, string>;
}

async function read(db: ItemsDb, id: string): Promise<{ id: string; version: number }> {
  const version = db.versions.get(id) ?? 0;
  const delay = db.delay?.() ?? 0;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  return { id, version };
}

function write(db: ItemsDb, id: string, version: number): void {
  db.versions.set(id, Math.max(db.versions.get(id) ?? 0, version));
}

const keyOf = (id: string) => ({ key: `item_${id}`, groups: [`item_group_${id}`, 'items'] });

function listening(server: Server, close: () => Promise<void>): AppInstance {
  return { port: (server.address() as AddressInfo).port, close };
}

async function expressApp(cache: GroupCache, db: ItemsDb, options: AppOptions): Promise<AppInstance> {
  const app = express();
  app.use(expressExpire({ cache, onError: options.onError ?? 'fail' }));
  app.get(
    '/items/:id',
    expressCache((req) => keyOf(String(req.params.id)), { cache }),
    async (req, res) => {
      res.set(options.headers ?? {}).json(await read(db, String(req.params.id)));
    },
  );
  app.put('/items/:id', (req, res) => {
    write(db, String(req.params.id), Number(req.query.v));
    res.locals.expireGroups = [`item_group_${req.params.id}`];
    res.json({ ok: true });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 60_000;
  return listening(server, () => closeServer(server));
}

async function koaApp(cache: GroupCache, db: ItemsDb, options: AppOptions): Promise<AppInstance> {
  const app = new Koa();
  const router = new Router();
  app.use(koaExpire({ cache, onError: options.onError ?? 'fail' }));
  router.get(
    '/items/:id',
    koaCache((ctx) => keyOf(String(ctx.params.id)), { cache }),
    async (ctx) => {
      ctx.set(options.headers ?? {});
      ctx.body = await read(db, String(ctx.params.id));
    },
  );
  router.put('/items/:id', (ctx) => {
    write(db, String(ctx.params.id), Number(ctx.query.v));
    ctx.state.expireGroups = [`item_group_${ctx.params.id}`];
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 60_000;
  return listening(server, () => closeServer(server));
}

async function fastifyApp(cache: GroupCache, db: ItemsDb, options: AppOptions): Promise<AppInstance> {
  const app = Fastify({ keepAliveTimeout: 60_000 });
  await app.register(fastifyExpire({ cache, onError: options.onError ?? 'fail' }));
  app.get<{ Params: { id: string } }>(
    '/items/:id',
    { onRequest: fastifyCache((req) => keyOf(req.params.id), { cache }) },
    async (req, reply) => {
      reply.headers(options.headers ?? {});
      return read(db, req.params.id);
    },
  );
  app.put<{ Params: { id: string }; Querystring: { v: string } }>('/items/:id', async (req, reply) => {
    write(db, req.params.id, Number(req.query.v));
    reply.expireGroups = [`item_group_${req.params.id}`];
    return { ok: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return listening(app.server, async () => {
    app.server.closeAllConnections();
    await app.close();
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Starts the items app of `framework` on a free loopback port. */
export function startItemsApp(
  framework: Framework,
  cache: GroupCache,
  db: ItemsDb,
  options: AppOptions = {},
): Promise<AppInstance> {
  if (framework === 'koa') return koaApp(cache, db, options);
  if (framework === 'fastify') return fastifyApp(cache, db, options);
  return expressApp(cache, db, options);
}
