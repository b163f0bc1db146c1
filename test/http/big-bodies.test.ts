/*
 * Hits of big bodies (64 KiB and 1 MiB) cost no copy of the body: the Buffer each hit hands to Node's `res.end`, on
 * every framework, is the one Buffer the store holds. A 1 MiB body is stored under the default limits (the cache's
 * maxEntryBytes is 1 MiB, the memory store takes entries up to an eighth of its 64 MiB).
 */
import type { RequestListener, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import Router from '@koa/router';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import { type CacheStore, createCache, type GroupCache, memoryStore } from 'group-cache';
import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as fastifyCache } from 'group-cache/fastify';
import { groupCache as honoCache } from 'group-cache/hono';
import { groupCache as koaCache } from 'group-cache/koa';
import { type Listening, listen, send } from 'group-cache/test-suite';
import { Hono } from 'hono';
import Koa from 'koa';

/** A memory store (default limits) that keeps every body it is given to store, to compare hits against. */
function recordingStore(): { store: CacheStore; stored: Buffer[] } {
  const store = memoryStore();
  const stored: Buffer[] = [];
  const set = store.set.bind(store);
  store.set = (key, entry, refused) => {
    stored.push(entry.body);
    return set(key, entry, refused);
  };
  return { store, stored };
}

/** A body of `size` bytes, not all alike. */
function bodyOf(size: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 10)) & 0xff;
  return body;
}

type App = (cache: GroupCache, body: Buffer) => Promise<{ listener: RequestListener; close?: () => Promise<void> }>;

const APPS: Array<[name: string, App]> = [
  [
    'Express 5',
    async (cache, body) => {
      const app = express();
      app.get(
        '/r',
        expressCache(() => 'r', { cache }),
        (_req, res) => {
          res.type('bin').send(body);
        },
      );
      return { listener: app as unknown as RequestListener };
    },
  ],
  [
    'Koa 3',
    async (cache, body) => {
      const app = new Koa();
      const router = new Router();
      router.get(
        '/r',
        koaCache(() => 'r', { cache }),
        (ctx) => {
          ctx.type = 'bin';
          ctx.body = body;
        },
      );
      app.use(router.routes());
      return { listener: app.callback() };
    },
  ],
  [
    'Fastify 5',
    async (cache, body) => {
      const app = Fastify();
      app.get('/r', { onRequest: fastifyCache(() => 'r', { cache }) }, (_request, reply) => {
        reply.type('application/octet-stream').send(body);
      });
      await app.ready();
      return { listener: app.routing as unknown as RequestListener, close: () => app.close() };
    },
  ],
  [
    'Hono 4',
    async (cache, body) => {
      const app = new Hono();
      app.get(
        '/r',
        honoCache(() => 'r', { cache }),
        // Buffer's type allows a SharedArrayBuffer beneath, Hono's Data does not; this one is an ArrayBuffer.
        (c) => c.body(body as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' }),
      );
      return { listener: getRequestListener(app.fetch) };
    },
  ],
];

for (const [name, build] of APPS) {
  describe(`${name}: hits of big bodies`, () => {
    let server: Listening | undefined;
    let close: (() => Promise<void>) | undefined;
    let cache: GroupCache | undefined;
    afterEach(async () => {
      await server?.close();
      await close?.();
      await cache?.close();
      server = undefined;
      close = undefined;
      cache = undefined;
    });

    for (const [label, size] of [
      ['64 KiB', 64 * 1024],
      ['1 MiB', 2 ** 20],
    ] as const) {
      it(`a ${label} body: every hit ends the response with the stored Buffer itself, never a copy`, async () => {
        const body = bodyOf(size);
        const { store, stored } = recordingStore();
        cache = createCache({ store });
        const app = await build(cache, body);
        close = app.close;
        // The Buffer each response hands to Node's res.end, the last call before its socket.
        const ends: unknown[] = [];
        server = await listen((req, res: ServerResponse) => {
          const end = res.end;
          res.end = function recorded(this: ServerResponse, ...args: unknown[]) {
            ends.push(args[0]);
            return (end as (...rest: unknown[]) => ServerResponse).apply(this, args);
          } as ServerResponse['end'];
          app.listener(req, res);
        });
        const replies = [];
        for (let i = 0; i < 3; i++) replies.push(await send(server.url, 'GET', '/r'));
        expect(replies.map((reply) => reply.headers['x-cache'])).to.deep.equal(['MISS', 'HIT', 'HIT']);
        for (const reply of replies) expect(reply.body.equals(body)).to.equal(true);
        expect(stored).to.have.length(1);
        const hits = ends.slice(-2);
        // Compared as booleans: a diff of two 1 MiB Buffers would take the reporter seconds.
        expect(hits[0] === stored[0], 'the first hit’s body is the stored Buffer').to.equal(true);
        expect(hits[1] === stored[0], 'the second hit’s body is the stored Buffer').to.equal(true);
      });
    }
  });
}
