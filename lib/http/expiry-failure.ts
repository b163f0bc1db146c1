import { GroupCacheError } from '../core/errors.js';
import { discardBody } from './streams.js';
import { runWriteExpiry, type WriteExpiry, type WriteRequest } from './write-expiry.js';

/**
 * The response that replaces a write whose group expiry could not be recorded, with `onError: 'fail'`:
 * the write itself was applied, so the client is told to retry rather than shown a success that a read
 * could contradict.
 */
const EXPIRY_FAILED = {
  status: 503,
  contentType: 'text/plain; charset=utf-8',
  body: 'Service Unavailable: the write was applied but its cache invalidation could not be recorded',
} as const;

/** Headers that describe the write's own body (`Content-*`, `ETag`), dropped when the 503 replaces it. */
function describesBody(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('content-') || lower === 'etag';
}

/** How a framework spells a write's response that is held until its expiry is recorded. */
export interface HeldWrite {
  /** True when the head already went out (or the framework will not send it): the response stands as it is. */
  sent(): boolean;
  /** Lets the write's own response go out. */
  proceed(): void;
  /** The write's body, closed if it is a stream the 503 replaces. */
  readonly body?: unknown;
  /** The names of the headers set so far. */
  headerNames(): readonly string[];
  removeHeader(name: string): void;
  /** Answers with this status, Content-Type and body instead of the write's own. */
  answer(status: number, contentType: string, body: string): void;
  /** Names the write for its expiry's trigger (method, route pattern, request id). */
  request(): WriteRequest;
}

/** Replaces a write's response (whose head was not sent) with the 503 of a failed expiry. */
export function answerExpiryFailure(write: HeldWrite): void {
  discardBody(write.body);
  for (const name of write.headerNames()) if (describesBody(name)) write.removeHeader(name);
  write.answer(EXPIRY_FAILED.status, EXPIRY_FAILED.contentType, EXPIRY_FAILED.body);
}

/**
 * Runs the expiry a write asked for (`requested`, read off `res.locals`, `ctx.state`, `reply`), then lets its
 * response go, or answers the 503 when the expiry failed under `onError: 'fail'` and nothing was sent yet. Rejects
 * only with what `proceed` or `answer` threw.
 */
export async function expireWrite(settings: WriteExpiry, requested: unknown, status: number, write: HeldWrite): Promise<void> {
  const ok = await runWriteExpiry(settings, requested, status, () => write.request());
  if (ok || write.sent()) write.proceed();
  else answerExpiryFailure(write);
}

/**
 * The groups of a write could not be named (the function naming them from its result threw): the write was applied
 * and its expiry did not happen. Reported, and answered with the 503 under `onError: 'fail'` if nothing was sent.
 */
export function namingFailed(settings: WriteExpiry, write: HeldWrite, error: unknown, what: string): void {
  const message = error instanceof Error ? error.message : String(error);
  settings.cache.report(
    new GroupCacheError('EINVALIDGROUP', `${what} failed: ${message}; nothing was expired`, { cause: error }),
  );
  if (settings.failWrite && !write.sent()) answerExpiryFailure(write);
  else write.proceed();
}

/** A write's response went out before its expiry was recorded (the handler sent it itself): `why` says how to fix. */
export function sentBeforeExpiry(settings: WriteExpiry, where: string, why: string): void {
  const message = `${where} sent its response before its groups were expired: a client may read pre-write data. ${why}`;
  settings.cache.report(new GroupCacheError('EMISUSE', message, { details: { where } }));
}
