import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { absorbLateWrites, dropped } from './late-writes.js';
import type { Replay } from './replay.js';

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Answers a hit on a Node response that its framework still sends an answer of its own to: Nest replies with
 * whatever its interceptors return, hit or not. The first head, write or end the framework makes is replaced by the
 * replay (its status, headers and body, written as a hit is everywhere), and every later call is absorbed. The
 * headers set before the hit (`kept`: CORS, say; default those on `res` now) stay, under the entry's; those the
 * framework sets for its own answer in between (its Content-Type and Content-Length) are dropped.
 */
export function replayInstead(res: ServerResponse, replay: Replay, kept: OutgoingHttpHeaders = res.getHeaders()): void {
  const methods = res as unknown as Record<'writeHead' | 'write' | 'end', AnyFunction>;
  const originals = { writeHead: methods.writeHead, write: methods.write, end: methods.end };
  let answered = false;
  const answer = (): void => {
    if (answered) return;
    answered = true;
    Object.assign(methods, originals);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    for (const [name, value] of Object.entries(kept)) {
      if (value !== undefined && !replay.headers.some((header) => header[0].toLowerCase() === name)) {
        res.setHeader(name, value as OutgoingHttpHeader);
      }
    }
    res.statusCode = replay.status;
    for (const [name, value] of replay.headers) res.setHeader(name, value);
    res.end(replay.body);
    absorbLateWrites(res, () => {});
  };
  methods.writeHead = function writeHeadOfHit(this: ServerResponse) {
    answer();
    return this;
  };
  methods.write = function writeOfHit(this: ServerResponse, ...args: unknown[]) {
    answer();
    return dropped(args);
  };
  methods.end = function endOfHit(this: ServerResponse, ...args: unknown[]) {
    answer();
    dropped(args);
    return this;
  };
}
