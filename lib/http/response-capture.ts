import etag from 'etag';
import type { Fill } from '../engine/cache.js';
import type { CachedEntry } from '../stores/contract.js';
import { BodyCollector } from './body-collector.js';
import { storableHeaders, varyValues } from './headers.js';
import type { Replay } from './replay.js';
import type { HeaderMap, StoragePolicy } from './storage-policy.js';
import { headerValue, responseRejectReason } from './storage-policy.js';

/** How long what a capture stores is kept, and what stands in if the handler fails. */
export interface CaptureSettings {
  policy: StoragePolicy;
  requestHeaders: HeaderMap;
  /** The entry's TTL (ms). */
  ttl: number;
  /** How long past its TTL a route may serve it stale (ms): the longer of its stale windows. */
  staleFor: number;
  now: () => number;
  /** The cache's status header name, never stored. */
  ownHeader: string | undefined;
  /** The stale copy's replay, when the route's `staleIfError` allows one for this request. */
  fallback: (() => Replay) | undefined;
  /** With a fallback: after this long (ms) the handler counts as failed (`handlerTimeout`). */
  handlerTimeout: number | undefined;
}

/**
 * Takes a response apart as the framework sends it, for one fill: the head once it is final, then the body
 * chunks, then the end. Stores only a response that finished, passed the storage policy and stayed under
 * `maxEntryBytes`; anything else cancels the fill so that waiters run their own handler.
 */
export class ResponseCapture {
  readonly #fill: Fill;
  readonly #settings: CaptureSettings;
  readonly #policy: StoragePolicy;
  readonly #ownHeader: string | undefined;
  readonly #body: BodyCollector;
  #state: 'open' | 'capturing' | 'done' = 'open';
  #encodingAtHead: HeaderMap[string];

  constructor(fill: Fill, settings: CaptureSettings) {
    this.#fill = fill;
    this.#settings = settings;
    this.#policy = settings.policy;
    this.#ownHeader = settings.ownHeader?.toLowerCase();
    this.#body = new BodyCollector(settings.policy.maxEntryBytes);
  }

  /** With `staleIfError`: after how long the handler counts as failed, if the route set `handlerTimeout`. */
  get handlerTimeout(): number | undefined {
    return this.#settings.fallback === undefined ? undefined : this.#settings.handlerTimeout;
  }

  /**
   * The handler failed (threw, answered 5xx, or outlasted `handlerTimeout`): the stale copy's replay to send
   * instead, marked STALE, or undefined when the route allows none. Nothing is stored; the entry stays.
   */
  staleReplay(): Replay | undefined {
    const fallback = this.#settings.fallback;
    if (fallback === undefined || this.#state === 'done') return undefined;
    this.#state = 'done';
    this.#fill.servedStale();
    return fallback();
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
    this.#encodingAtHead = headerValue(headers, 'content-encoding');
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
    /*
     * An encoding that appeared after our head was decided was applied outside the cache (a compression middleware
     * mounted before it): the bytes held are the handler's, before encoding. They are stored as the identity
     * representation, and the encoder, still outside, encodes each hit for the client that asks.
     */
    const encodedOutside = headerValue(headers, 'content-encoding') !== this.#encodingAtHead;
    const reason =
      responseRejectReason(status, headers, this.#policy) ?? (encodedOutside ? undefined : this.#lengthMismatch(headers));
    if (reason !== undefined) {
      this.abort(`${reason} (as sent)`);
      return Promise.resolve(false);
    }
    this.#state = 'done';
    const body = this.#body.toBuffer();
    const { now, ttl, staleFor, requestHeaders } = this.#settings;
    const storedAt = now();
    const tag = headers.etag;
    let stored = storableHeaders(headers, this.#ownHeader, rawNames);
    let vary = varyValues(headers.vary, requestHeaders);
    if (encodedOutside) {
      stored = stored.filter(([name]) => name.toLowerCase() !== 'content-encoding');
      vary = vary.filter(([name]) => name !== 'accept-encoding');
    }
    const entry: CachedEntry = {
      status,
      headers: stored,
      body,
      etag: typeof tag === 'string' && tag !== '' ? tag : etag(body),
      vary,
      tags: [...this.#fill.tags],
      startedAt: this.#fill.startedAt,
      storedAt,
      freshUntil: storedAt + ttl,
      staleUntil: storedAt + ttl + staleFor,
    };
    return this.#fill.commit(entry);
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
