import type { ServerResponse } from 'node:http';
import onHeaders from 'on-headers';
import type { StatusHeader } from './cache-status.js';
import { rawHeaderNames } from './headers.js';
import type { Replay } from './replay.js';
import type { ResponseCapture } from './response-capture.js';

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * What a miss hands the Node capture: the capture, and the status headers of a miss (`headers`: X-Cache and
 * Cache-Status; `header`, X-Cache alone, when a caller predates `headers`). A refusal's come from the capture.
 */
export interface NodeMiss {
  capture: ResponseCapture;
  headers?: readonly StatusHeader[];
  header: StatusHeader | undefined;
  bypass?: StatusHeader | undefined;
}

/** Writes a replay (a hit, a stale copy) on a Node response. */
export function sendNodeReplay(res: ServerResponse, replay: Replay): void {
  // Compared first: a store to res.statusCode misses V8's stub cache on Express (its res changes prototype per
  // request), and a response that reaches a hit is nearly always still at Node's 200.
  if (res.statusCode !== replay.status) res.statusCode = replay.status;
  // Indexed loop: this runs on every hit, and pair destructuring through the iterator shows in profiles.
  const headers = replay.headers;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as Replay['headers'][number];
    res.setHeader(header[0], header[1]);
  }
  res.end(replay.body);
}

function captureChunk(capture: ResponseCapture, chunk: unknown, encoding: unknown): void {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
    capture.write(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
  }
}

/*
 * Takes a Node response apart for one fill, for any framework that writes through `res.write` / `res.end`
 * (Express; one piece, in lib/, so the next adapter gets it too). Wraps them the way expressjs/compression does:
 * the originals run first with the caller's arguments untouched (return values, back-pressure and callbacks are
 * theirs), then the chunk is copied; the header-time decision is one on-headers listener.
 *
 * With a stale copy standing by (`staleIfError`), a failure is caught before anything of it is sent: a 5xx head
 * (a throw or next(err) reaches the error handler, which answers 5xx) or `handlerTimeout` passing; the response
 * then becomes the stale copy, and whatever the handler writes after that is dropped.
 */
export function captureNodeResponse(res: ServerResponse, miss: NodeMiss): void {
  const { capture, header } = miss;
  for (const [name, value] of miss.headers ?? (header === undefined ? [] : [header])) res.setHeader(name, value);
  const write = res.write as unknown as AnyFunction;
  const end = res.end as unknown as AnyFunction;
  let stale: Replay | undefined;
  let staleSent = false;

  // Swaps the head for the stale copy's; true when there is one. Only while nothing was sent.
  const becomeStale = (why?: string): boolean => {
    if (stale !== undefined) return true;
    if (res.headersSent) return false;
    stale = capture.staleReplay(why);
    if (stale === undefined) return false;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = stale.status;
    for (const [name, value] of stale.headers) res.setHeader(name, value);
    return true;
  };
  const endStale = (): void => {
    if (staleSent || stale === undefined) return;
    staleSent = true;
    end.call(res, stale.body);
    // The cache answered for the handler, which may still be running (a callback that fires after handlerTimeout):
    // whatever it does to this response from now on must neither throw nor reach the client.
    absorbLateWrites(res, (what) => capture.late(what));
  };
  const failed = (): boolean => res.statusCode >= 500 && !res.headersSent;

  onHeaders(res, function onResponseHeaders(this: ServerResponse) {
    if (stale === undefined && this.statusCode >= 500 && becomeStale()) return;
    if (stale !== undefined) return;
    // A head the policy refuses is never stored: say so to the client rather than a MISS on every request. One
    // that is stored gets the CDN tag header, which is stored with it and so replayed on every hit.
    capture.head(this.statusCode, this.getHeaders());
    for (const [name, value] of capture.headers()) this.setHeader(name, value);
  });
  res.write = function writeAndCapture(this: ServerResponse, ...args: unknown[]) {
    if (stale === undefined && failed()) becomeStale();
    if (stale !== undefined) return dropped(args);
    const result = write.apply(this, args);
    captureChunk(capture, args[0], args[1]);
    return result;
  } as ServerResponse['write'];
  res.end = function endAndCapture(this: ServerResponse, ...args: unknown[]) {
    if (stale === undefined && failed()) becomeStale();
    if (stale !== undefined) {
      endStale();
      dropped(args);
      return this;
    }
    const result = end.apply(this, args);
    if (typeof args[0] !== 'function') captureChunk(capture, args[0], args[1]);
    return result;
  } as ServerResponse['end'];

  const timeout = capture.handlerTimeout;
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          if (becomeStale(`the handler outlasted handlerTimeout ${timeout} ms`)) endStale();
        }, timeout);
  timer?.unref();
  // Judged again on what was sent: on-headers listeners registered before ours (express-session) run after it.
  res.once('finish', () => {
    clearTimeout(timer);
    if (stale === undefined) void capture.end(res.statusCode, res.getHeaders(), rawHeaderNames(res));
  });
  // After 'finish' this is a no-op; before it, the client went away or the response errored: store nothing.
  const closed = (): void => {
    clearTimeout(timer);
    capture.abort('connection closed before the response finished');
  };
  // A client that left while the lookup ran has fired its 'close' already: release the fill now, not never.
  if (res.destroyed || res.socket?.destroyed === true) closed();
  else res.once('close', closed);
}

// What a handler may call on a Node response that changes its head: Node's own, and those of newer Node versions
// when present. Express's res.set, res.status().json(), res.redirect... all end in these, write and end.
const HEAD_METHODS = [
  'setHeader',
  'setHeaders',
  'appendHeader',
  'removeHeader',
  'writeHead',
  'flushHeaders',
  'addTrailers',
  'writeContinue',
  'writeProcessing',
  'writeEarlyHints',
] as const;

/**
 * Makes a response that the cache answered for its handler (a stale copy in place of a handler that failed or
 * outlasted `handlerTimeout`) absorb what the handler does to it afterwards: a head change once the head was sent,
 * a write or end once it ended, is dropped instead of throwing `ERR_HTTP_HEADERS_SENT` (or erroring the stream)
 * from a callback nobody catches. `late` hears each dropped call's name. Calls that are still valid (a framework
 * sending the stale copy itself, as Koa does after its middleware) pass through. Only ever on such a response:
 * other responses keep Node's methods.
 */
export function absorbLateWrites(res: ServerResponse, late: (what: string) => void): void {
  const methods = res as unknown as Record<string, unknown>;
  for (const name of HEAD_METHODS) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = function absorbHeadChange(this: ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) return (original as AnyFunction).apply(this, args);
      late(name);
      return this;
    };
  }
  for (const name of ['write', 'end'] as const) {
    const original = methods[name] as AnyFunction;
    methods[name] = function absorbBody(this: ServerResponse, ...args: unknown[]) {
      if (!this.writableEnded) return original.apply(this, args);
      late(name);
      dropped(args);
      return name === 'write' ? true : this;
    };
  }
}

// A write after the stale copy went out is swallowed; its callback still runs, as Node would run it.
function dropped(args: unknown[]): true {
  const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
  if (callback) process.nextTick(callback);
  return true;
}
