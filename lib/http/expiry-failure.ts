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
