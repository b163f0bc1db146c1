import { pipeline, type Readable, Stream, Transform, type TransformCallback } from 'node:stream';
import type { ResponseCapture } from './response-capture.js';

/**
 * True for a Node stream body: any `Stream` (what Koa 2 pipes), or a Readable look-alike by the test Koa 3 pipes
 * it on (its lib/is-stream.js). Every such body has `destroy`.
 */
export function isNodeStream(body: unknown): body is Readable {
  if (body instanceof Stream) return true;
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return (
    b.readable === true &&
    typeof b.pipe === 'function' &&
    typeof b.read === 'function' &&
    typeof b.readableObjectMode === 'boolean' &&
    typeof b.destroy === 'function' &&
    typeof b.destroyed === 'boolean'
  );
}

/** Closes a body that another answer replaces, if it is a stream: nothing will read it, and it would stay open. */
export function discardBody(body: unknown): void {
  if (isNodeStream(body) && typeof body.destroy === 'function') body.destroy();
}

/** A stream body's copy on its way out: `stream` goes to the client, `ended()` says whether it was read to its end. */
export interface TeedStream {
  readonly stream: Transform;
  ended(): boolean;
}

/**
 * Tees a stream body: the framework sends `stream` exactly as it would have sent `source`, and every chunk is copied
 * into the capture on the way. A source that errors, or is cut off before its end, stores nothing.
 */
export function teeStream(source: Readable, capture: ResponseCapture): TeedStream {
  let ended = false;
  const tee = new Transform({
    transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback) {
      capture.write(chunk, typeof chunk === 'string' ? encoding : undefined);
      callback(null, chunk);
    },
  });
  tee.once('end', () => {
    ended = true;
  });
  pipeline(source, tee, (error) => {
    if (!error) return;
    // A premature close is the body cut off, not failing: mostly the framework destroying the body it pipes once
    // the client went away, which reaches this callback before the response's own 'close'. Counted as an abort.
    const cutOff = (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE';
    capture.abort(cutOff ? 'stream body closed before its end' : `stream body errored: ${error.message}`);
  });
  return { stream: tee, ended: () => ended };
}
