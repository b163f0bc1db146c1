import type { ServerResponse } from 'node:http';
import { expireWrite } from './expiry-failure.js';
import type { WriteExpiry, WriteRequest } from './write-expiry.js';

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Holds a Node response's `res.end` until the expiry its write asked for (`requested()`, read when the handler
 * ends the response) is recorded, so that the client's next read never sees pre-write data; with `onError: 'fail'`
 * a failed expiry ends it with the 503 instead. The deferred end runs outside the handler's stack: what it throws
 * (say `res.end(42)`) goes to `failed`, as the handler's own throw would have. `request` names the write.
 */
export function holdEndForExpiry(
  res: ServerResponse,
  settings: WriteExpiry,
  requested: () => unknown,
  failed: (error: unknown) => void,
  request: () => WriteRequest,
): void {
  const end = res.end as unknown as AnyFunction;
  res.end = function endAfterExpiry(this: ServerResponse, ...args: unknown[]) {
    const groups = requested();
    if (groups === undefined || groups === null) return end.apply(this, args);
    res.end = end as unknown as ServerResponse['end'];
    const callback = args.find((arg) => typeof arg === 'function');
    expireWrite(settings, groups, res.statusCode, {
      sent: () => res.headersSent,
      proceed: () => end.apply(this, args),
      headerNames: () => this.getHeaderNames(),
      removeHeader: (name) => this.removeHeader(name),
      request,
      answer: (status, contentType, body) => {
        this.statusCode = status;
        this.setHeader('content-type', contentType);
        end.call(this, body, 'utf8', callback);
      },
    }).catch(failed);
    return this;
  } as ServerResponse['end'];
}
