import type { ServerResponse } from 'node:http';
import onHeaders from 'on-headers';
import type { StatusHeader } from './cache-status.js';
import type { Outcome } from './cached-route.js';
import { rawHeaderNames } from './headers.js';
import { absorbLateWrites, dropped } from './late-writes.js';
import type { Replay } from './replay.js';
import type { ResponseCapture } from './response-capture.js';
import { abortOnClose, handlerFailed, handlerTimer } from './stale-fallback.js';

type AnyFunction = (...args: unknown[]) => unknown;

/** What a miss hands the Node capture: the capture, and the status headers of a miss (X-Cache, Cache-Status). */
export interface NodeMiss {
  capture: ResponseCapture;
  headers: readonly StatusHeader[];
}

/** Writes a replay (a hit, a stale copy) on a Node response. */
export function sendNodeReplay(res: ServerResponse, replay: Replay): void {
  // Compared first: on Express a store to res.statusCode is slow (its res changes prototype per request), and a
  // response that reaches a hit is nearly always still at Node's 200.
  if (res.statusCode !== replay.status) res.statusCode = replay.status;
  // Indexed loop: this runs on every hit, and destructuring pairs through the iterator is slower.
  const headers = replay.headers;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as Replay['headers'][number];
    res.setHeader(header[0], header[1]);
  }
  res.end(replay.body);
}

/**
 * A miss or a pass on a Node response, before the handler runs: a miss's capture takes the response apart (the
 * handler's `cacheGroups` / `cacheTtl` / `cacheSkip` read off `locals()`), a pass gets its status headers.
 */
export function prepareNodeResponse(
  outcome: Exclude<Outcome, { type: 'hit' }>,
  res: ServerResponse,
  locals: () => unknown,
): void {
  if (outcome.type === 'miss') {
    outcome.capture.readHandlerValues(locals);
    captureNodeResponse(res, outcome);
  } else {
    for (const [name, value] of outcome.headers) res.setHeader(name, value);
  }
}

function captureChunk(capture: ResponseCapture, chunk: unknown, encoding: unknown): void {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
    capture.write(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
  }
}

/*
 * Takes a Node response apart for one fill, for any framework that writes through `res.write` / `res.end`
 * (Express, Fastify). Wraps them the way expressjs/compression does: the originals run first with the caller's
 * arguments untouched (return values, back-pressure and callbacks are theirs), then the chunk is copied; the
 * header-time decision is one on-headers listener.
 *
 * With a stale copy standing by (`staleIfError`), a failure is caught before anything of it is sent: a 5xx head
 * (a throw or next(err) reaches the error handler, which answers 5xx) or `handlerTimeout` passing; the response
 * then becomes the stale copy, and whatever the handler writes after that is dropped.
 */
export function captureNodeResponse(res: ServerResponse, miss: NodeMiss): void {
  for (const [name, value] of miss.headers) res.setHeader(name, value);
  new NodeFill(res, miss.capture).start();
}

class NodeFill {
  readonly #res: ServerResponse;
  readonly #capture: ResponseCapture;
  readonly #write: AnyFunction;
  readonly #end: AnyFunction;
  // The stale copy, once it replaced the handler's head, and whether its body went out.
  #stale: Replay | undefined;
  #staleSent = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, capture: ResponseCapture) {
    this.#res = res;
    this.#capture = capture;
    this.#write = res.write as unknown as AnyFunction;
    this.#end = res.end as unknown as AnyFunction;
  }

  start(): void {
    const res = this.#res;
    const capture = this.#capture;
    onHeaders(res, () => this.#onHead());
    this.#wrapWrites();
    this.#timer = handlerTimer(capture, (why) => {
      if (this.#becomeStale(why)) this.#endStale();
    });
    // Judged again on what was sent: on-headers listeners registered before ours (express-session) run after it.
    res.once('finish', () => {
      clearTimeout(this.#timer);
      if (this.#stale === undefined) void capture.end(res.statusCode, res.getHeaders(), rawHeaderNames(res));
    });
    // After 'finish' this is a no-op; before it, the client went away or the response errored: store nothing.
    abortOnClose(res, capture, () => clearTimeout(this.#timer));
  }

  #onHead(): void {
    const res = this.#res;
    if (this.#stale === undefined && handlerFailed(res.statusCode) && this.#becomeStale()) return;
    if (this.#stale !== undefined) return;
    // A head the policy refuses is never stored: say so to the client rather than a MISS on every request. One
    // that is stored gets the CDN tag header, which is stored with it and so replayed on every hit.
    this.#capture.head(res.statusCode, res.getHeaders());
    for (const [name, value] of this.#capture.headers()) res.setHeader(name, value);
  }

  #wrapWrites(): void {
    const fill = this;
    const write = this.#write;
    const end = this.#end;
    const capture = this.#capture;
    this.#res.write = function writeAndCapture(this: ServerResponse, ...args: unknown[]) {
      if (fill.#standIn()) return dropped(args);
      const result = write.apply(this, args);
      captureChunk(capture, args[0], args[1]);
      return result;
    } as ServerResponse['write'];
    this.#res.end = function endAndCapture(this: ServerResponse, ...args: unknown[]) {
      if (fill.#standIn()) {
        fill.#endStale();
        dropped(args);
        return this;
      }
      const result = end.apply(this, args);
      if (typeof args[0] !== 'function') captureChunk(capture, args[0], args[1]);
      return result;
    } as ServerResponse['end'];
  }

  // True when the stale copy answers: it already does, or the handler's head failed and the copy takes its place.
  #standIn(): boolean {
    const res = this.#res;
    if (this.#stale === undefined && handlerFailed(res.statusCode) && !res.headersSent) this.#becomeStale();
    return this.#stale !== undefined;
  }

  // Swaps the head for the stale copy's; true when there is one. Only while nothing was sent.
  #becomeStale(why?: string): boolean {
    if (this.#stale !== undefined) return true;
    const res = this.#res;
    if (res.headersSent) return false;
    const stale = this.#capture.staleReplay(why);
    if (stale === undefined) return false;
    this.#stale = stale;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = stale.status;
    for (const [name, value] of stale.headers) res.setHeader(name, value);
    return true;
  }

  #endStale(): void {
    if (this.#staleSent || this.#stale === undefined) return;
    this.#staleSent = true;
    this.#end.call(this.#res, this.#stale.body);
    // The cache answered for the handler, which may still be running (a callback that fires after handlerTimeout):
    // whatever it does to this response from now on must neither throw nor reach the client.
    absorbLateWrites(this.#res, (what) => this.#capture.late(what));
  }
}
