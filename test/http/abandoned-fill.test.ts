/*
 * A client that leaves while its lookup is still running (a slow store) has fired its 'close' before the capture
 * listens for it: the fill must still be released at once, or the next request on the key waits waitTimeout.
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import express from 'express';
import { type CacheStore, createCache, type GroupCache, memoryStore } from 'group-cache';
import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as koaCache } from 'group-cache/koa';
import Koa from 'koa';
import { listen } from '../helpers/http.js';

/** A memory store whose first lookup answers after `ms`. */
function slowFirstLookup(ms: number): CacheStore {
  const inner = memoryStore();
  let first = true;
  return {
    name: 'slow-first-lookup',
    get: (key) => {
      if (!first) return inner.get(key);
      first = false;
      return new Promise((resolve) => setTimeout(() => resolve(inner.get(key)), ms));
    },
    set: (key, entry) => inner.set(key, entry),
    expire: (tags) => inner.expire(tags),
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
  };
}

const APPS: Array<[name: string, build: (cache: GroupCache) => RequestListener]> = [
  [
    'Express',
    (cache) => {
      const app = express();
      app.get(
        '/r',
        expressCache(() => 'r', { cache }),
        (_req, res) => {
          res.status(404).send('not stored');
        },
      );
      return app as unknown as RequestListener;
    },
  ],
  [
    'Koa',
    (cache) => {
      const app = new Koa();
      const router = new Router();
      router.get(
        '/r',
        koaCache(() => 'r', { cache }),
        (ctx) => {
          ctx.status = 404;
          ctx.body = 'not stored';
        },
      );
      app.use(router.routes());
      return app.callback();
    },
  ],
];

for (const [name, build] of APPS) {
  describe(`${name}: a client gone before its lookup answered`, () => {
    it('releases the fill at once: the next request on the key does not wait', async () => {
      const cache = createCache({ store: slowFirstLookup(150), waitTimeout: 5_000, expireFromCodeOnly: true });
      const server = await listen(build(cache));
      try {
        const abort = new AbortController();
        const gone = fetch(`${server.url}/r`, { signal: abort.signal }).catch(() => 'aborted');
        await new Promise((resolve) => setTimeout(resolve, 30));
        abort.abort();
        expect(await gone).to.equal('aborted');
        await new Promise((resolve) => setTimeout(resolve, 200)); // the lookup answers, the capture attaches
        const started = Date.now();
        const next = await fetch(`${server.url}/r`);
        expect(next.status).to.equal(404);
        expect(Date.now() - started, 'waited for a fill nobody will finish').to.be.below(1_000);
      } finally {
        await server.close();
        await cache.close();
      }
    });
  });
}
