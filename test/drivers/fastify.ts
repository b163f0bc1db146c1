import type fastify from 'fastify';
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { GroupNames } from 'group-cache';
import { expireGroups, groupCache } from 'group-cache/fastify';
import type { AdapterDriver, RequestView, RouteResponse } from '../helpers/adapter-conformance.js';

const view = (request: FastifyRequest): RequestView => ({
  params: request.params as Record<string, string>,
  method: request.method,
  headers: request.headers,
});

function send(reply: FastifyReply, answer: RouteResponse): FastifyReply {
  if (answer.expireGroups !== undefined) reply.expireGroups = answer.expireGroups as GroupNames;
  // cacheGroups, cacheTtl, cacheSkip: the Fastify adapter reads them off the reply.
  if (answer.locals !== undefined) Object.defineProperties(reply, Object.getOwnPropertyDescriptors(answer.locals));
  reply.code(answer.status);
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    // reply.header() lower-cases names; a handler that wants its case on the wire sets it on reply.raw.
    if (name === name.toLowerCase()) reply.header(name, value);
    else reply.raw.setHeader(name, value);
  }
  // Fastify sends a string or Buffer as is, an object as JSON, nothing as an empty body.
  return reply.send(answer.body);
}

/** The Fastify driver, for any Fastify module with the v4/v5 API (`fastify` and `fastify4`). */
export function fastifyDriver(name: string, createApp: typeof fastify): AdapterDriver {
  return {
    name,
    build({ cache, routes, expire }) {
      const app = createApp();
      void app.register(expireGroups({ ...expire, cache }));
      for (const route of routes) {
        const options: RouteShorthandOptions = {};
        if (route.cached) {
          const { keyFn, options: routeOptions } = route.cached;
          options.onRequest = groupCache((request) => keyFn(view(request)), { ...routeOptions, cache });
        }
        app[route.method](route.path, options, async (request, reply) => send(reply, await route.handle(view(request))));
      }
      const ready = app.ready();
      // Fastify routes only once its plugins have loaded; supertest wants a plain request listener.
      return (req, res) => {
        ready.then(
          () => app.routing(req, res),
          (error: unknown) => res.destroy(error as Error),
        );
      };
    },
  };
}
