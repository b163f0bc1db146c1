import type { KeyFunction } from '../core/key-function.js';
import type { GroupCache } from '../engine/cache.js';
import { CachedRoute, type Outcome, type RouteOptions } from './cached-route.js';
import type { RequestInfo } from './request-info.js';
import type { ResponseCapture } from './response-capture.js';
import { handlerFailed, outlasted } from './stale-fallback.js';
import { discardResponse, replayResponse, webHeaderMap, withHeaders } from './web-response.js';

/** One request to a cached fetch-style route, as an adapter hands it over. */
export interface FetchExchange {
  /** The request facts the cache reads (method, headers as a map, where, url, when it entered). */
  readonly info: RequestInfo;
  /** Aborts when the client goes away before the response finished (`request.signal`); read on misses only. */
  signal(): AbortSignal | undefined;
  /** Where the handler leaves `cacheGroups`, `cacheTtl` and `cacheSkip` (Hono's `c.var`). */
  locals(): unknown;
  /** Runs the handler (and whatever runs after the cache); resolves with its response. */
  run(): Promise<Response>;
  /**
   * The response as it was finally sent, read once its body was read to its end: a layer outside the cache may have
   * replaced the cache's (Hono's `c.res` after `hono/compress`). Default: the cache's own.
   */
  sent?(): Response;
}

type Reader = ReadableStreamDefaultReader<Uint8Array>;
type Read = Awaited<ReturnType<Reader['read']>>;

// Two microtask turns: a body made from a string or bytes (c.json(), c.text(), new Response(text)) has its chunk
// ready by then; a producer that is still computing does not.
const notYet = (): Promise<undefined> => Promise.resolve().then(() => Promise.resolve(undefined));

/** What a body had ready before the head was judged, and the read still under way. */
interface ReadAhead {
  chunks: Uint8Array[];
  pending: Promise<Read> | undefined;
}

/*
 * Reads what a body has ready now, never waiting on its producer, up to just past `limit` bytes: the head is then
 * judged knowing whether a body that is all there (most are) fits `maxEntryBytes`, as Content-Length tells the other
 * adapters, and a response too large says so in its Cache-Status.
 */
async function readAhead(reader: Reader, limit: number): Promise<ReadAhead> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let pending: Promise<Read> | undefined = reader.read();
  while (pending !== undefined && size <= limit) {
    const result = await Promise.race([pending, notYet()]);
    if (result === undefined) break;
    if (result.done) pending = undefined;
    else {
      chunks.push(result.value);
      size += result.value.byteLength;
      pending = reader.read();
    }
  }
  return { chunks, pending };
}

/*
 * The body sent for a miss: the chunks read ahead, then the rest as the handler streams it, each copied into the
 * capture as it goes. `ended` runs once it was read to its end; a body cancelled before that (the client went away)
 * or one that errors stores nothing.
 */
function teeBody(reader: Reader, ahead: ReadAhead, capture: ResponseCapture, ended: () => void): ReadableStream<Uint8Array> {
  let pending = ahead.pending;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const early = ahead.chunks.shift();
        if (early !== undefined) {
          controller.enqueue(early);
          return;
        }
        if (pending === undefined) {
          controller.close();
          ended();
          return;
        }
        let chunk: Read;
        try {
          chunk = await pending;
        } catch (error) {
          capture.abort(`the response body errored: ${error instanceof Error ? error.message : String(error)}`);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          pending = undefined;
          controller.close();
          ended();
          return;
        }
        pending = reader.read();
        capture.write(chunk.value);
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        capture.abort('the response body was cancelled before its end');
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

type Miss = Extract<Outcome, { type: 'miss' }>;

/**
 * One cached route for handlers that answer a Web `Request` with a `Response`: a hit is a new `Response` replayed
 * from the entry, a miss runs the handler and stores its response as its body is read (once, as it goes to the
 * client). The rules are {@link CachedRoute}'s; this only speaks fetch.
 */
export class FetchRoute<Req> {
  readonly #route: CachedRoute<Req>;

  constructor(keyFn: KeyFunction<Req>, options?: RouteOptions<GroupCache, Req>) {
    this.#route = new CachedRoute(keyFn, options);
  }

  get cache(): GroupCache {
    return this.#route.cache;
  }

  /** The response to send. A hit is answered without a promise when the store answers synchronously. */
  respond(req: Req, exchange: FetchExchange): Response | Promise<Response> {
    const outcome = this.#route.begin(req, exchange.info);
    if (outcome instanceof Promise) return outcome.then((value) => this.#answer(value, exchange));
    return this.#answer(outcome, exchange);
  }

  #answer(outcome: Outcome, exchange: FetchExchange): Response | Promise<Response> {
    if (outcome.type === 'hit') return replayResponse(outcome.replay);
    if (outcome.type === 'pass') return exchange.run().then((response) => withHeaders(response, outcome.headers));
    return this.#fill(outcome, exchange);
  }

  async #fill(miss: Miss, exchange: FetchExchange): Promise<Response> {
    const capture = miss.capture;
    capture.readHandlerValues(() => exchange.locals());
    const signal = exchange.signal();
    const closed = (): void => capture.abort('connection closed before the response finished');
    if (signal?.aborted) closed();
    else signal?.addEventListener('abort', closed, { once: true });
    const downstream = exchange.run();
    let response: Response;
    try {
      const outcome = await outlasted(downstream, capture);
      if (!outcome.done) {
        const stale = capture.staleReplay(outcome.why);
        // The handler still runs: its response, when it comes, is nobody's to send.
        downstream.then(
          (late) => {
            capture.late('its response');
            discardResponse(late);
          },
          () => {},
        );
        if (stale !== undefined) return replayResponse(stale);
      }
      response = await downstream;
    } catch (error) {
      const stale = capture.staleReplay();
      if (stale !== undefined) return replayResponse(stale);
      capture.threw(500);
      throw error;
    }
    if (handlerFailed(response.status)) {
      const stale = capture.staleReplay();
      if (stale !== undefined) {
        discardResponse(response);
        return replayResponse(stale);
      }
    }
    return this.#captured(response, miss, exchange);
  }

  // The handler's response as a new one that stores itself once its body was read to its end.
  async #captured(response: Response, miss: Miss, exchange: FetchExchange): Promise<Response> {
    const capture = miss.capture;
    const headers = new Headers(response.headers);
    const status = response.status;
    const body = response.body;
    const stored = capture.head(status, webHeaderMap(headers));
    const reader = stored && body !== null ? body.getReader() : undefined;
    // Read ahead before the status headers are set: a body over maxEntryBytes refuses the entry, and says so.
    const ahead = reader === undefined ? undefined : await readAhead(reader, capture.maxEntryBytes);
    for (const chunk of ahead?.chunks ?? []) capture.write(chunk);
    // The status headers of a miss, then those of the head just judged (a refusal's, the CDN tags).
    for (const [name, value] of miss.headers) headers.set(name, value);
    for (const [name, value] of capture.headers()) headers.set(name, value);
    const init = { status, statusText: response.statusText, headers };
    if (!stored) return new Response(body, init);
    let ours: Response | undefined;
    const ended = (): void => {
      // Judged again on what was sent: a layer outside the cache may have added a Set-Cookie, or encoded the body.
      const sent = exchange.sent?.() ?? ours ?? response;
      void capture.end(sent.status, webHeaderMap(sent === ours ? headers : sent.headers));
    };
    if (reader === undefined || ahead === undefined) {
      ours = new Response(null, init);
      ended();
      return ours;
    }
    // A body read whole ahead has a length: sent as the handler's would be, not chunked.
    if (ahead.pending === undefined && !headers.has('content-length')) {
      headers.set('content-length', String(ahead.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)));
    }
    ours = new Response(teeBody(reader, ahead, capture, ended), init);
    return ours;
  }
}
