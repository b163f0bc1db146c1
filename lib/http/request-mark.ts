import { performance } from 'node:perf_hooks';

/*
 * What the cache notes about a request as it passes through: when it entered the app (the earliest of our
 * middleware to see it), and whether an `expireGroups()` middleware is on its path. Keyed by Node's
 * IncomingMessage, which both Express (`req`) and Koa (`ctx.req`) hand us, and forgotten with it.
 */
interface Mark {
  /** `performance.now()` when the first of our middleware saw the request. */
  at: number;
  expiry: boolean;
}

const marks = new WeakMap<object, Mark>();

/** Notes that `request` passed an `expireGroups()` middleware, and when, if nothing of ours saw it earlier. */
export function markExpiryPath(request: object): void {
  const mark = marks.get(request);
  if (mark === undefined) marks.set(request, { at: performance.now(), expiry: true });
  else mark.expiry = true;
}

/** When the request entered the app as far as the cache knows: its mark, or now. Monotonic ms. */
export function enteredAt(request: object): number {
  return marks.get(request)?.at ?? performance.now();
}

/** True when an `expireGroups()` middleware is on this request's path, before the handler. */
export function onExpiryPath(request: object): boolean {
  return marks.get(request)?.expiry === true;
}
