import type { ServerResponse } from 'node:http';

type AnyFunction = (...args: unknown[]) => unknown;

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

/** A write or end that is swallowed: its callback still runs, as Node would run it. */
export function dropped(args: unknown[]): true {
  const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
  if (callback) process.nextTick(callback);
  return true;
}
