import type { ServerResponse } from 'node:http';
import { absorbLateWrites } from './late-writes.js';
import type { Replay } from './replay.js';
import type { ResponseCapture } from './response-capture.js';

/*
 * The stale fallback of a fill (`staleIfError`): a handler that fails before anything of its response was sent (it
 * throws, answers 5xx, or outlasts `handlerTimeout`) is answered for with the stale copy, and whatever it does to
 * the response afterwards is absorbed. The rules live here once; node-capture.ts applies them to a Node response
 * written through `res.write` / `res.end` (Express, Fastify), `awaitHandler` below to a framework whose middleware
 * awaits its downstream (Koa), fetch-route.ts to a handler that returns a Web `Response` (Hono, fetch handlers).
 */

/** True for a status the stale copy stands in for. */
export function handlerFailed(status: number): boolean {
  return status >= 500;
}

/**
 * The handler of a fill threw, on a Node response its framework answers afterwards with an error response of its own
 * (Nest's exception filters), at `status`. That answer is never stored, whatever status it is sent with; a failure
 * the stale copy may stand in for (5xx) is left to the head the framework writes for it, where the copy takes over.
 */
export function handlerThrew(capture: ResponseCapture, status: number): void {
  if (!handlerFailed(status) || !capture.hasStaleCopy) capture.threw(status);
}

/**
 * Calls `timedOut` with the reason once the handler has run for the route's `handlerTimeout`, when a stale copy
 * stands by; returns the timer, for the caller to clear when the handler is done. A timer never holds the process.
 */
export function handlerTimer(capture: ResponseCapture, timedOut: (why: string) => void): NodeJS.Timeout | undefined {
  const ms = capture.handlerTimeout;
  if (ms === undefined) return undefined;
  const timer = setTimeout(timedOut, ms, `the handler outlasted handlerTimeout ${ms} ms`);
  timer.unref();
  return timer;
}

/**
 * Cancels the fill when the response closes before it finished (the client went away, or the response errored), so
 * that a handler that never settles does not hold the key's fill; at once when it already has (a client that left
 * while the lookup ran fired its 'close' before we listened). `closed` runs first.
 */
export function abortOnClose(res: ServerResponse, capture: ResponseCapture, closed?: () => void): void {
  const abort = (): void => {
    closed?.();
    capture.abort('connection closed before the response finished');
  };
  if (res.destroyed || res.socket?.destroyed === true) abort();
  else res.once('close', abort);
}

/** How a framework whose middleware awaits its downstream (Koa) spells the response, for {@link awaitHandler}. */
export interface AwaitedResponse {
  /** The Node response beneath: what the handler does to it after the stale copy went out is absorbed. */
  readonly res: ServerResponse;
  /** True once the head went out or the response can no longer be written: too late for the stale copy. */
  sent(): boolean;
  /** The status of the handler's response so far. */
  status(): number;
  /** Puts the stale copy in place of whatever the handler set. */
  replace(replay: Replay): void;
  /** The status the framework answers a thrown error with. */
  thrownStatus(error: unknown): number;
}

/** Answers with the stale copy, if the route has one and nothing was sent; true when it did. */
function standIn(capture: ResponseCapture, response: AwaitedResponse, why?: string): boolean {
  if (response.sent()) return false;
  const replay = capture.staleReplay(why);
  if (replay === undefined) return false;
  response.replace(replay);
  absorbLateWrites(response.res, (what) => capture.late(what));
  return true;
}

/** The handler's outcome as {@link outlasted} sees it: its result, or why it counts as failed. */
export type Outlasted<T> = { done: true; value: T } | { done: false; why: string };

/** Resolves with the downstream's outcome, or the reason once the handler outlasted `handlerTimeout` first. */
export function outlasted<T>(downstream: Promise<T>, capture: ResponseCapture): Promise<Outlasted<T>> {
  const done = (value: T): Outlasted<T> => ({ done: true, value });
  if (capture.handlerTimeout === undefined) return downstream.then(done);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Outlasted<T>>((resolve) => {
    timer = handlerTimer(capture, (why) => resolve({ done: false, why }));
  });
  return Promise.race([downstream.then(done), timedOut]).finally(() => clearTimeout(timer));
}

/**
 * Runs the downstream of a fill (`next`), with the stale fallback. Resolves true when the handler's response stands
 * and is to be captured, false when the stale copy answered instead; rejects with the handler's error when no
 * stale copy stands in for it (the capture has then counted the status the framework answers it with).
 */
export async function awaitHandler(
  capture: ResponseCapture,
  next: () => Promise<void>,
  response: AwaitedResponse,
): Promise<boolean> {
  abortOnClose(response.res, capture);
  const downstream = next();
  try {
    // Raced only when there is a timeout to race: every miss of a route without one skips the race's promises.
    if (capture.handlerTimeout !== undefined) {
      const outcome = await outlasted(downstream, capture);
      if (!outcome.done && standIn(capture, response, outcome.why)) {
        // Answered: whatever the handler does later is not sent, and its failure is nobody's to handle.
        downstream.catch(() => {});
        return false;
      }
    }
    await downstream;
  } catch (error) {
    if (standIn(capture, response)) return false;
    capture.threw(response.thrownStatus(error));
    throw error;
  }
  return !(handlerFailed(response.status()) && standIn(capture, response));
}
