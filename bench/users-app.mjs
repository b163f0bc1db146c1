// A real Koa 3 or Express 5 app caching GET /users/:id with group-cache (key `user_<id>`, groups `user_group_<id>` and
// `users`), driven in-process: each request is an IncomingMessage and a ServerResponse over a socket stand-in that
// accepts every write (as bench/inproc.mjs does), so the capture sees the same res.write/res.end calls as on a real
// socket and 100,000 fills take seconds. For the heap measurements (bench/micro.mjs --memory, bench/heap-per-entry.mjs).

import { inProcessGet } from './inproc-request.mjs';
import { user } from './servers/payload.mjs';

const request = (handler, id) => inProcessGet(handler, `/users/${id}`, ['Host', '127.0.0.1']);

const route = (id) => ({ key: `user_${id}`, groups: [`user_group_${id}`, 'users'] });

/**
 * The app of `framework` ('koa' or 'express') on `cache`, as a function that sends a GET for each of `ids`, 16 at a
 * time, and throws unless each is answered 200.
 */
export async function usersApp(framework, cache) {
  let handler;
  if (framework === 'koa') {
    const Koa = (await import('koa')).default;
    const Router = (await import('@koa/router')).default;
    const { groupCache } = await import('group-cache/koa');
    const app = new Koa();
    const router = new Router();
    router.get(
      '/users/:id',
      groupCache((ctx) => route(ctx.params.id), { cache }),
      (ctx) => {
        ctx.body = user(ctx.params.id);
      },
    );
    app.use(router.routes());
    handler = app.callback();
  } else if (framework === 'express') {
    const express = (await import('express')).default;
    const { groupCache } = await import('group-cache/express');
    const app = express();
    app.get(
      '/users/:id',
      groupCache((req) => route(req.params.id), { cache }),
      (req, res) => res.json(user(req.params.id)),
    );
    handler = app;
  } else {
    throw new TypeError(`argument framework must be 'koa' or 'express', got ${framework}`);
  }
  return async function drive(ids) {
    for (let i = 0; i < ids.length; i += 16) {
      const statuses = await Promise.all(ids.slice(i, i + 16).map((id) => request(handler, id)));
      if (statuses.some((status) => status !== 200)) throw new Error(`${framework}: statuses ${statuses}`);
    }
  };
}

/*
 * Full GCs until the heap stops shrinking. V8 frees ArrayBuffer backing stores on a sweeper thread after a GC, so
 * process.memoryUsage() read straight after one may still count buffers already dead.
 */
export async function settledGc() {
  let last = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 6; round++) {
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const usage = process.memoryUsage();
    const now = usage.heapUsed + usage.arrayBuffers;
    if (round >= 1 && now >= last) return;
    last = now;
  }
}
