import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { expireGroups, groupCache } from 'group-cache/express';
import type { AdapterDriver, RequestView, RouteResponse } from '../helpers/adapter-conformance.js';

const view = (req: Request): RequestView => ({
  params: req.params as Record<string, string>,
  method: req.method,
  headers: req.headers,
});

function send(res: Response, answer: RouteResponse): void {
  if (answer.expireGroups !== undefined) res.locals.expireGroups = answer.expireGroups;
  if (answer.locals !== undefined) Object.defineProperties(res.locals, Object.getOwnPropertyDescriptors(answer.locals));
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.set(name, value);
  const body = answer.body;
  if (body === undefined) res.end();
  else if (typeof body === 'string' || Buffer.isBuffer(body)) res.send(body);
  else res.json(body);
}

/** The Express driver, for any Express module with the v4/v5 API (`express` and `express4`). */
export function expressDriver(name: string, createApp: typeof express): AdapterDriver {
  return {
    name,
    build({ cache, routes, expire }) {
      const app = createApp();
      app.set('env', 'test');
      app.use(expireGroups({ ...expire, cache }));
      for (const route of routes) {
        const handlers: RequestHandler[] = [];
        if (route.cached) {
          handlers.push(groupCache((req) => route.cached?.keyFn(view(req)), { ...route.cached.options, cache }));
        }
        // Express 4 does not catch rejected promises: pass them on.
        handlers.push((req: Request, res: Response, next: NextFunction) => {
          Promise.resolve(route.handle(view(req))).then((answer) => send(res, answer), next);
        });
        app[route.method](route.path, ...handlers);
      }
      return app;
    },
  };
}
