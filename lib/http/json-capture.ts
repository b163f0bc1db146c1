import type { ServerResponse } from 'node:http';
import type { ResponseCapture } from './response-capture.js';

/*
 * A JSON body that a framework serialises itself as it sends it (Koa's `ctx.body = object`): captured once, from
 * the bytes sent, never serialised a second time for the store.
 */

/**
 * Reads a JSON body where the framework sends it, `res.end(JSON.stringify(body))` (Koa's respond()), rather than
 * serialising it here too: one serialisation per miss, and the handler's object stays as it is for every middleware
 * further up. The stored bytes are then the bytes sent, as with every Node capture. `unchanged` says whether the
 * body is still the handler's. Returns whether the bytes were read: not when the framework failed to serialise the
 * body, or sent another one (an encoder outside).
 */
export function readJsonAtEnd(res: ServerResponse, unchanged: () => boolean, capture: ResponseCapture): () => boolean {
  const end = res.end;
  // Koa's error response (its own serialisation threw) also ends in res.end(text), with the body still set: it is
  // told apart by the status and type it sets.
  const status = res.statusCode;
  const type = res.getHeader('content-type');
  let read = false;
  let called = false;
  // Left in place once called (never deleted: a deleted property would turn the response into a slow dictionary
  // object for the rest of its life).
  res.end = function endAndRead(this: typeof res, ...args: unknown[]) {
    const chunk = args[0];
    if (
      !called &&
      typeof chunk === 'string' &&
      unchanged() &&
      res.statusCode === status &&
      res.getHeader('content-type') === type
    ) {
      capture.write(chunk);
      read = true;
    }
    called = true;
    return (end as (...rest: unknown[]) => typeof res).apply(this, args);
  } as typeof res.end;
  return () => read;
}

/**
 * A JSON body the framework did not send as such. An encoder outside (koa-compress) sent its encoding of the object instead:
 * the identity bytes are stored, serialised here as the framework would have (the encoder serialised it too), and the encoder
 * encodes each hit. Otherwise the framework could not serialise it and answered with an error: nothing is stored. Returns
 * whether the capture may end.
 */
export function identityJson(capture: ResponseCapture, body: unknown, encodedOutside: boolean): boolean {
  let text: string | undefined;
  try {
    text = encodedOutside ? JSON.stringify(body) : undefined;
  } catch {
    // As the framework's own serialisation failed: not stored.
  }
  if (typeof text !== 'string') {
    capture.abort('the JSON body was not sent', 'body');
    return false;
  }
  capture.write(text);
  return true;
}
