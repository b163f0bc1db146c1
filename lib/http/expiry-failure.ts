import type { ServerResponse } from 'node:http';

/**
 * The response that replaces a write whose group expiry could not be recorded, with `onError: 'fail'`:
 * the write itself was applied, so the client is told to retry rather than shown a success that a read
 * could contradict.
 */
export const EXPIRY_FAILED = {
  status: 503,
  contentType: 'text/plain; charset=utf-8',
  body: 'Service Unavailable: the write was applied but its cache invalidation could not be recorded',
} as const;

/** Headers that describe the write's own body (`Content-*`, `ETag`), dropped when the 503 replaces it. */
export function describesBody(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('content-') || lower === 'etag';
}

/**
 * Ends a Node response (whose head was not sent) with the 503 instead of the write's own answer. `end` is the
 * response's original `end`, since the caller holds a wrapped one; the write's callback still runs.
 */
export function endWithExpiryFailure(res: ServerResponse, end: (...args: unknown[]) => unknown, args: unknown[]): void {
  const callback = args.find((arg) => typeof arg === 'function');
  res.statusCode = EXPIRY_FAILED.status;
  for (const name of res.getHeaderNames()) if (describesBody(name)) res.removeHeader(name);
  res.setHeader('content-type', EXPIRY_FAILED.contentType);
  end.call(res, EXPIRY_FAILED.body, 'utf8', callback);
}
