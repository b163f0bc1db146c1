import { performance } from 'node:perf_hooks';

/*
 * What the cache notes about a request as it passes through: when it entered the app (the earliest of our
 * middleware to see it), and whether an `expireGroups()` middleware is on its path. Kept in a WeakMap keyed by
 * Node's IncomingMessage, which both Express (`req`) and Koa (`ctx.req`) hand us, and forgotten with it; or, for a
 * framework that declares a property on all its request objects up front (Fastify's `decorateRequest`), in that
 * property, {@link MARK}: a plain property read, and the objects keep their shape.
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

/** Notes when `request` entered the app, from a framework's first hook, if nothing of ours saw it earlier. */
export function markEntered(request: object): void {
  if (!marks.has(request)) marks.set(request, { at: performance.now(), expiry: false });
}

/** When the request entered the app as far as the cache knows: its mark, or now. Monotonic ms. */
export function enteredAt(request: object): number {
  return marks.get(request)?.at ?? performance.now();
}

/** True when an `expireGroups()` middleware is on this request's path, before the handler. */
export function onExpiryPath(request: object): boolean {
  return marks.get(request)?.expiry === true;
}

/**
 * The property a framework declares on its request objects (as `null`) to hold the mark: `performance.now()` once
 * an `expireGroups()` saw the request.
 */
export const MARK = Symbol('group-cache.enteredAt');
type Declared = { [MARK]?: number | null };

/** {@link markExpiryPath} for a request that has the {@link MARK} property. */
export function markDeclared(request: object): void {
  const marked = request as Declared;
  if (typeof marked[MARK] !== 'number') marked[MARK] = performance.now();
}

/** {@link enteredAt} for a request that may have the {@link MARK} property; `raw` is its Node request. */
export function declaredEnteredAt(request: object, raw: object): number {
  const at = (request as Declared)[MARK];
  return typeof at === 'number' ? at : enteredAt(raw);
}

/** {@link onExpiryPath} for a request that may have the {@link MARK} property. */
export function onDeclaredPath(request: object): boolean {
  return typeof (request as Declared)[MARK] === 'number';
}
