/*
 * Data read before the lookup is covered by the fill's stamp (issue 14, item 7): a param loader reads the record,
 * a write lands, then the cached route looks its key up. The fill must not be served as fresh after the write,
 * on either store: its stamp is taken when the request entered the app, on the store's clock.
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import type { GroupCache } from 'group-cache';
import { groupCache as expressCache, expireGroups as expressExpire } from 'group-cache/express';
import { groupCache as koaCache, expireGroups as koaExpire } from 'group-cache/koa';
import Koa from 'koa';
import request from 'supertest';
import { express } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';
import { cachesOnEveryStore } from '../helpers/redis-fixtures.js';

interface Db {
  version: number;
}

/** The app a scenario drives: GET /users/:id loads the user in a param loader held by `gate`; PUT writes. */
type Build = (cache: GroupCache, db: Db, gate: { entered(): void; wait: Promise<void> }) => RequestListener;

const buildExpress: Build = (cache, db, gate) => {
  const app = express();
  app.use(expressExpire({ cache }));
  app.param('id', (req: Request, _res: Response, next: NextFunction) => {
    const seen = db.version; // read before the lookup
    gate.entered();
    void gate.wait.then(() => {
      (req as Request & { user?: object }).user = { id: req.params.id, version: seen };
      next();
    });
  });
  app.get(
    '/users/:id',
    expressCache((req) => ({ key: `user_${req.params.id}`, groups: ['users'] }), { cache }),
    (req: Request, res: Response) => {
      res.json((req as Request & { user?: object }).user);
    },
  );
  app.put('/users/:id', (_req: Request, res: Response) => {
    db.version++;
    res.locals.expireGroups = 'users';
    res.json({ version: db.version });
  });
  return app as unknown as RequestListener;
};

const buildKoa: Build = (cache, db, gate) => {
  const app = new Koa();
  app.use(koaExpire({ cache }));
  const router = new Router();
  router.param('id', async (id, ctx, next) => {
    const seen = db.version;
    gate.entered();
    await gate.wait;
    ctx.state.user = { id, version: seen };
    return next();
  });
  router.get(
    '/users/:id',
    koaCache((ctx) => ({ key: `user_${ctx.params.id}`, groups: ['users'] }), { cache }),
    (ctx) => {
      ctx.body = ctx.state.user;
    },
  );
  router.put('/users/:id', (ctx) => {
    db.version++;
    ctx.state.expireGroups = 'users';
    ctx.body = { version: db.version };
  });
  app.use(router.routes());
  return app.callback();
};

const STORES = cachesOnEveryStore('stamp');

for (const [framework, build] of [
  ['Express', buildExpress],
  ['Koa', buildKoa],
] as const) {
  for (const [label, make] of STORES) {
    describe(`${framework}, ${label}: the fill stamp covers what the request read before the lookup`, () => {
      it('a write landing between a param loader and the lookup: the fill is not served as fresh after it', async function () {
        const cache = await make(this);
        try {
          const db: Db = { version: 0 };
          const entered = deferred();
          const hold = deferred();
          let first = true;
          const app = build(cache, db, {
            entered: () => entered.resolve(),
            get wait() {
              if (!first) return Promise.resolve();
              first = false;
              return hold.promise;
            },
          });
          const read = request(app)
            .get('/users/1')
            .then((res) => res);
          await entered.promise;
          expect((await request(app).put('/users/1')).status).to.equal(200);
          hold.resolve();
          const old = await read;
          expect(old.body).to.deep.equal({ id: '1', version: 0 });
          const next = await request(app).get('/users/1');
          expect(next.headers['x-cache'], 'the pre-write page must not be a hit').to.equal('MISS');
          expect(next.body).to.deep.equal({ id: '1', version: 1 });
          const after = await request(app).get('/users/1');
          expect(after.headers['x-cache']).to.equal('HIT');
          expect(after.body).to.deep.equal({ id: '1', version: 1 });
        } finally {
          await cache.clear();
          await cache.close();
        }
      });
    });
  }
}
