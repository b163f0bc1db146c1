import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMap } from './headers.js';
import { requestIdOf, type WriteRequest } from './write-expiry.js';

/** The request facts the core needs, as an adapter reads them off its framework. */
export interface RequestInfo {
  readonly method: string;
  readonly headers: HeaderMap;
  /** Where the request is handled, for messages: `GET /users/:id`. */
  readonly where: string;
  /** `performance.now()` when the request entered the app (`enteredAt()` of its Node request). */
  readonly enteredAt: number;
  /** The path and query as the client sent them (`req.originalUrl`, `ctx.originalUrl`), for the default key. */
  readonly url: string;
}

/** How an adapter reads the two facts a hit does not need off its framework's request. */
export interface RequestDescriber<Source> {
  /** `GET /users/:id`: the method and the matched route's pattern, else the path. */
  where(source: Source): string;
  /** The path and query as the client sent them. */
  url(source: Source): string;
}

/*
 * A RequestInfo whose `where` and `url` are read off the framework's request only when something asks: names in
 * messages, events and debug logs, and the key of a key function that gave groups only. A hit asks for neither:
 * Express swaps `req`'s prototype per request, so each read of `req.route`, `req.baseUrl`, `req.originalUrl` or
 * `req.app` defeats V8's property caches and is slow on every request.
 */
export class LazyRequestInfo<Source> implements RequestInfo {
  readonly method: string;
  readonly headers: HeaderMap;
  readonly enteredAt: number;
  readonly #source: Source;
  readonly #describer: RequestDescriber<Source>;
  #where: string | undefined;

  constructor(source: Source, describer: RequestDescriber<Source>, method: string, headers: HeaderMap, enteredAt: number) {
    this.method = method;
    this.headers = headers;
    this.enteredAt = enteredAt;
    this.#source = source;
    this.#describer = describer;
  }

  get where(): string {
    if (this.#where === undefined) this.#where = this.#describer.where(this.#source);
    return this.#where;
  }

  get url(): string {
    return this.#describer.url(this.#source);
  }
}

/**
 * A write named for its expiry's trigger from how `describer` names it (`PUT /users/:id`) and the request id its
 * headers carry (see `requestIdOf`).
 */
export function writeRequestOf<Source extends { method: string; headers: IncomingHttpHeaders }>(
  describer: RequestDescriber<Source>,
  req: Source,
  responseRequestId: unknown,
): WriteRequest {
  return {
    method: req.method,
    route: describer.where(req).slice(req.method.length + 1),
    requestId: requestIdOf(req.headers, responseRequestId),
  };
}
