import etag from 'etag';
import { BodyCollector } from './body-collector.js';
import type { Fill } from './cache.js';
import { storableHeaders, varyValues } from './headers.js';
import type { HeaderMap, StoragePolicy } from './storage-policy.js';
import { responseRejectReason } from './storage-policy.js';
import type { CachedEntry } from './types.js';

/**
 * Takes a response apart as the framework sends it, for one fill: the head once it is final, then the body
 * chunks, then the end. Stores only a response that finished, passed the storage policy and stayed under
 * `maxEntryBytes`; anything else cancels the fill so that waiters run their own handler.
 */
export class ResponseCapture {
  readonly #fill: Fill;
  readonly #policy: StoragePolicy;
  readonly #requestHeaders: HeaderMap;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #ownHeader: string | undefined;
  readonly #body: BodyCollector;
  #state: 'open' | 'capturing' | 'done' = 'open';

  constructor(fill: Fill, policy: StoragePolicy, requestHeaders: HeaderMap, ttl: number, now: () => number, ownHeader?: string) {
    this.#fill = fill;
    this.#policy = policy;
    this.#requestHeaders = requestHeaders;
    this.#ttl = ttl;
    this.#now = now;
    this.#ownHeader = ownHeader?.toLowerCase();
    this.#body = new BodyCollector(policy.maxEntryBytes);
  }

  /** True while the body is being collected. */
  get capturing(): boolean {
    return this.#state === 'capturing';
  }

  /**
   * The status and headers as they are about to be sent (call just before). Returns whether the body is
   * collected: false when the storage policy already refuses this head. Middleware running later may still add
   * headers (a session's Set-Cookie), so {@link end} checks the policy again on what was actually sent.
   */
  head(status: number, headers: HeaderMap): boolean {
    if (this.#state !== 'open') return this.#state === 'capturing';
    const reason = responseRejectReason(status, headers, this.#policy);
    if (reason !== undefined) {
      this.abort(reason);
      return false;
    }
    this.#state = 'capturing';
    return true;
  }

  /** A body chunk as written: a string (with its encoding), a Buffer or a Uint8Array. */
  write(chunk: string | Uint8Array, encoding?: BufferEncoding): void {
    if (this.#state !== 'capturing') return;
    if (!this.#body.push(chunk, encoding)) this.abort(`body over maxEntryBytes ${this.#policy.maxEntryBytes}`);
  }

  /**
   * The response finished: store it, judged on the status and headers that were actually sent (`res.statusCode`,
   * `res.getHeaders()` and `res.getRawHeaderNames()` once finished). Resolves with whether the store took it.
   */
  end(status: number, headers: HeaderMap, rawNames?: readonly string[]): Promise<boolean> {
    if (this.#state !== 'capturing') {
      if (this.#state === 'open') this.abort('finished without a head');
      return Promise.resolve(false);
    }
    const reason = responseRejectReason(status, headers, this.#policy) ?? this.#lengthMismatch(headers);
    if (reason !== undefined) {
      this.abort(`${reason} (as sent)`);
      return Promise.resolve(false);
    }
    this.#state = 'done';
    const body = this.#body.toBuffer();
    const storedAt = this.#now();
    const tag = headers.etag;
    const entry: CachedEntry = {
      status,
      headers: storableHeaders(headers, this.#ownHeader, rawNames),
      body,
      etag: typeof tag === 'string' && tag !== '' ? tag : etag(body),
      vary: varyValues(headers.vary, this.#requestHeaders),
      tags: [...this.#fill.tags],
      startedAt: this.#fill.startedAt,
      storedAt,
      expiresAt: storedAt + this.#ttl,
    };
    return this.#fill.commit(entry, this.#ttl);
  }

  // A body shorter or longer than its declared Content-Length was cut off (the client got a reset): never stored.
  #lengthMismatch(headers: HeaderMap): string | undefined {
    const declared = headers['content-length'];
    if (declared === undefined) return undefined;
    const length = Number(declared);
    return length === this.#body.length ? undefined : `body of ${this.#body.length} bytes, Content-Length ${String(declared)}`;
  }

  /** Nothing is stored: the response errored, was aborted, or was refused. Safe to call more than once. */
  abort(reason: string): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#fill.cancel(reason);
  }
}
