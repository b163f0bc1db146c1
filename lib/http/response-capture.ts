import createDebug from 'debug';
import { bodyEtag } from '../core/body-etag.js';
import { type CdnTagHeader, groupTag } from '../core/keys.js';
import type { Fill } from '../engine/fill.js';
import { isNotStoredReason } from '../engine/reasons.js';
import type { CachedEntry } from '../stores/contract.js';
import { BodyCollector } from './body-collector.js';
import type { BypassDetail, StatusHeader, StatusHeaders } from './cache-status.js';
import { cdnTagHeader } from './cdn-tags.js';
import { headerTtl, type SentCacheControl } from './client-freshness.js';
import { type EdgeControl, SURROGATE_CONTROL } from './edge-control.js';
import { type HandlerValues, readHandlerValues } from './handler-values.js';
import { type HeaderMap, headerTokens, headerValue, storableHeaders } from './headers.js';
import type { Replay } from './replay.js';
import { responseRefusal, type StoragePolicy } from './storage-policy.js';
import { varyValues } from './vary.js';

/** What every capture of one route shares: built once with the route, not per miss. */
export interface RouteCapture {
  policy: StoragePolicy;
  /** How long past its TTL a route may serve it stale (ms): the longer of its stale windows. */
  staleFor: number;
  now: () => number;
  /** The cache's status header name (lower case), never stored. */
  ownHeader: string | undefined;
  /** With `staleIfError`: after this long (ms) the handler counts as failed (`handlerTimeout`). */
  handlerTimeout: number | undefined;
  /** The route's status headers (X-Cache, Cache-Status): a refused head gets the bypass ones. */
  status: StatusHeaders;
  /** The header that tells a CDN the entry's groups, or undefined (`cdnTags`). */
  cdnTags: CdnTagHeader | undefined;
  /** Hears that tags did not fit the CDN header (`cdnTagHeader`), for the route at `where`. */
  onCdnDrop: (dropped: number, kept: number, where: string) => void;
  /** What the edge in front is told (`Surrogate-Control`). */
  edge: EdgeControl;
  maxKeyLength: number;
  maxGroups: number;
  /** Reports a run-time error (the cache's `error` event). */
  report: (error: unknown) => void;
}

/** One miss's own settings: how long what it stores is kept, and what stands in if the handler fails. */
export interface CaptureSettings {
  route: RouteCapture;
  requestHeaders: HeaderMap;
  /** The entry's TTL (ms); with `ttlFromHeaders`, the one used when the response's headers give none. */
  ttl: number;
  /** `ttl: 'headers'`: the response's `s-maxage` / `max-age` / `Expires` set the TTL. */
  ttlFromHeaders: boolean;
  /** The route's `cacheControl` for this response, given the entry's TTL (ms); undefined keeps the handler's. */
  cacheControl: ((ttl: number) => SentCacheControl | undefined) | undefined;
  /** The stale copy's replay, when the route's `staleIfError` allows one for this request. */
  fallback: (() => Replay) | undefined;
  /** The key function's groups (the handler may add more: `cacheGroups`). */
  groups: readonly string[];
  /** `performance.now()` when the request entered the app: the fill reads its data after it. */
  enteredAt: number;
}

// The decision log's namespace (as the engine's): a handler writing after the cache answered for it is a decision too.
const routeLog = createDebug('group-cache:route');

// The content coding a response carries, or undefined for none (`identity` is none).
function contentCoding(value: HeaderMap[string]): string | undefined {
  if (value === undefined) return undefined;
  const text = (typeof value === 'object' ? value.join(',') : String(value)).trim().toLowerCase();
  return text === '' || text === 'identity' ? undefined : text;
}

/*
 * The entry's validator: the handler's ETag, or one computed from the stored bytes (so each coding gets its own).
 * A strong ETag on a response encoded per Accept-Encoding is weakened: Express computes it on the identity body
 * before an inner compressor runs, so the gzip and identity variants would share it, and RFC 9110 §8.8.3 lets
 * only a weak validator stand for representations whose bytes differ.
 */
function entityTag(handlerTag: HeaderMap[string], body: Buffer, encodedPerClient: boolean): string {
  if (typeof handlerTag !== 'string' || handlerTag === '') return bodyEtag(body);
  return encodedPerClient && !handlerTag.startsWith('W/') ? `W/${handlerTag}` : handlerTag;
}

/**
 * Takes a response apart as the framework sends it, for one fill: the head once it is final, then the body
 * chunks, then the end. Stores only a response that finished, passed the storage policy and stayed under
 * `maxEntryBytes`; anything else cancels the fill so that waiters run their own handler.
 */
export class ResponseCapture {
  readonly #fill: Fill;
  readonly #settings: CaptureSettings;
  readonly #route: RouteCapture;
  readonly #policy: StoragePolicy;
  readonly #body: BodyCollector;
  #state: 'open' | 'capturing' | 'done' = 'open';
  #encodingAtHead: HeaderMap[string];
  #varyAtHead: HeaderMap[string];
  // Vary tokens an outer layer declared before the handler ran (koa-compress's ctx.vary('Accept-Encoding')).
  #varyBefore: readonly string[] = [];
  // Where the handler's cacheGroups / cacheTtl / cacheSkip are read (res.locals, ctx.state), if the adapter said.
  #locals: (() => unknown) | undefined;
  #refusal: BypassDetail | undefined;
  #cdnHeader: StatusHeader | undefined;
  // Surrogate-Control for the edge, decided with the head.
  #edgeHeaders: readonly StatusHeader[] = [];
  // The entry's TTL, decided on the head (the handler's cacheTtl, the response's headers, or the route's).
  #ttl = 0;
  // The route's Cache-Control sent instead of the handler's, and the handler's, which is what gets judged and stored.
  #controlHeader: StatusHeader | undefined;
  #handlerControl: HeaderMap[string];
  #lateSaid = false;

  constructor(fill: Fill, settings: CaptureSettings) {
    this.#fill = fill;
    this.#settings = settings;
    this.#route = settings.route;
    this.#policy = settings.route.policy;
    this.#body = new BodyCollector(this.#policy.maxEntryBytes);
  }

  /** The largest body this capture stores, in bytes (the route's `maxEntryBytes`). */
  get maxEntryBytes(): number {
    return this.#policy.maxEntryBytes;
  }

  /** With `staleIfError`: after how long the handler counts as failed, if the route set `handlerTimeout`. */
  get handlerTimeout(): number | undefined {
    return this.#settings.fallback === undefined ? undefined : this.#route.handlerTimeout;
  }

  /** True while a stale copy stands by for a failing handler (`staleIfError`) and nothing was decided yet. */
  get hasStaleCopy(): boolean {
    return this.#settings.fallback !== undefined && this.#state !== 'done';
  }

  /**
   * The handler failed (threw, answered 5xx, or outlasted `handlerTimeout`): the stale copy's replay to send
   * instead, marked STALE, or undefined when the route allows none. Nothing is stored; the entry stays. `why`
   * names the failure in the `notStored` detail (default: the handler failed).
   */
  staleReplay(why?: string): Replay | undefined {
    const fallback = this.#settings.fallback;
    if (fallback === undefined || this.#state === 'done') return undefined;
    this.#state = 'done';
    this.#fill.servedStale(why);
    return fallback();
  }

  /**
   * The handler acted on a response the cache had already answered for it (its stale copy went out): the act was
   * dropped. Said once per response, in the decision log (`DEBUG=group-cache:route`); the fill's `notStored`
   * (`served-stale`) already counts the response.
   */
  late(what: string): void {
    if (this.#lateSaid) return;
    this.#lateSaid = true;
    routeLog('%s %s: the handler called %s after the cache answered for it; dropped', this.#fill.where, this.#fill.key, what);
  }

  /**
   * Where the handler leaves `cacheGroups`, `cacheTtl` and `cacheSkip` (`() => res.locals`, `() => ctx.state`):
   * read when the head is judged and again at the end, so a streaming handler may still add groups.
   */
  readHandlerValues(locals: () => unknown): void {
    this.#locals = locals;
  }

  /**
   * The response's `Vary` before the handler ran (Koa: `ctx.response.headers.vary` before `next()`). An outer
   * encoder that declares Accept-Encoding that early (koa-compress) encodes hits itself: an entry the handler sent
   * without a coding then serves every client, rather than one entry per coding class of identical bytes.
   */
  varyBeforeHandler(vary: HeaderMap[string]): void {
    this.#varyBefore = headerTokens(vary);
  }

  /**
   * Headers to set with the head just judged by {@link head} (or refused by {@link abort} before anything was
   * sent): the status headers of a miss that is not stored (with the refusal's Cache-Status detail) when the
   * response will not be stored, else the CDN tag header, if any.
   */
  headers(): readonly StatusHeader[] {
    const edge = this.#route.edge;
    if (this.#refusal !== undefined) {
      const refused = this.#route.status.refused(this.#refusal);
      return edge.active ? [...refused, ...edge.refused] : refused;
    }
    if (this.#state !== 'capturing') return edge.refused;
    const list: StatusHeader[] = [];
    if (this.#cdnHeader !== undefined) list.push(this.#cdnHeader);
    if (this.#controlHeader !== undefined) list.push(this.#controlHeader);
    list.push(...this.#edgeHeaders);
    return list;
  }

  // The handler's values, or undefined once they refused the entry (reported, and the fill cancelled).
  #handlerValues(): HandlerValues | undefined {
    if (this.#locals === undefined) return { groups: [], ttl: undefined, skip: false };
    const values = readHandlerValues(this.#locals(), this.#settings.groups, this.#route.maxGroups, this.#fill.where);
    if (values instanceof Error) {
      this.#route.report(values);
      this.abort(values.message, 'invalid-value');
      return undefined;
    }
    if (values.skip) {
      this.abort('the handler set cacheSkip', 'cache-skip');
      return undefined;
    }
    return values;
  }

  /**
   * The status and headers as they are about to be sent (call just before). Returns whether the body is
   * collected: false when the storage policy already refuses this head. Middleware running later may still add
   * headers (a session's Set-Cookie), so {@link end} checks the policy again on what was actually sent.
   */
  head(status: number, headers: HeaderMap): boolean {
    if (this.#state !== 'open') return this.#state === 'capturing';
    const refusal = responseRefusal(status, headers, this.#policy);
    if (refusal !== undefined) {
      this.abort(refusal.reason, refusal.detail);
      return false;
    }
    const values = this.#handlerValues();
    if (values === undefined) return false;
    const settings = this.#settings;
    const fromHeaders = values.ttl === undefined && settings.ttlFromHeaders ? headerTtl(headers, this.#route.now()) : undefined;
    if (fromHeaders !== undefined && fromHeaders <= 0) {
      // RFC 9111 §4.2.1: a response with no freshness lifetime is stale at once; this cache never revalidates.
      this.abort('ttl from headers: no freshness lifetime', 'no-ttl');
      return false;
    }
    this.#ttl = values.ttl ?? fromHeaders ?? settings.ttl;
    const control = settings.cacheControl?.(this.#ttl);
    if (control !== undefined) {
      this.#controlHeader = ['Cache-Control', control.value];
      this.#handlerControl = headerValue(headers, 'cache-control');
    }
    this.#state = 'capturing';
    const declared = headers['content-length'];
    if (declared !== undefined) this.#body.expect(Number(declared));
    this.#encodingAtHead = headerValue(headers, 'content-encoding');
    this.#varyAtHead = headerValue(headers, 'vary');
    const route = this.#route;
    const cdn = route.cdnTags;
    let untagged = 0;
    if (cdn !== undefined) {
      this.#cdnHeader = cdnTagHeader(cdn, [...settings.groups, ...values.groups], (dropped, kept) => {
        untagged = dropped;
        route.onCdnDrop(dropped, kept, this.#fill.where);
      });
    }
    // A response whose tags did not all fit could not be purged by the dropped ones: the edge must not keep it.
    const edge = route.edge;
    this.#edgeHeaders =
      untagged > 0 ? edge.refused : edge.grant(settings.enteredAt, this.#ttl, this.#fill.doomedBy !== undefined);
    return true;
  }

  /**
   * The handler threw, and the framework answers with its own error response at `status` (Koa's `ctx.onerror`):
   * nothing is stored, counted as the status refusal it is unless the route allows that status.
   */
  threw(status: number): void {
    if (this.#policy.statuses.has(status)) this.abort('the handler threw', 'handler-threw');
    else this.abort(`status ${status} (the handler threw)`, 'status');
  }

  /** A body chunk as written: a string (with its encoding), a Buffer or a Uint8Array. */
  write(chunk: string | Uint8Array, encoding?: BufferEncoding): void {
    if (this.#state !== 'capturing') return;
    if (!this.#body.push(chunk, encoding)) this.abort(`body over maxEntryBytes ${this.#policy.maxEntryBytes}`, 'too-large');
  }

  /**
   * The response finished: store it, judged on the status and headers that were actually sent (`res.statusCode`,
   * `res.getHeaders()` and `res.getRawHeaderNames()` once finished). Resolves with whether the store took it.
   */
  end(status: number, sent: HeaderMap, rawNames?: readonly string[]): Promise<boolean> {
    if (this.#state !== 'capturing') {
      if (this.#state === 'open') this.abort('finished without a head');
      return Promise.resolve(false);
    }
    // Under `cacheControl`, the header sent is the route's: the handler's is judged (no-store, private) and stored.
    const headers: HeaderMap = this.#controlHeader === undefined ? sent : { ...sent, 'cache-control': this.#handlerControl };
    /*
     * An encoding that appeared after our head was decided was applied outside the cache (a compression middleware
     * mounted before it): the bytes held are the handler's, before encoding. They are stored as the identity
     * representation, and the encoder, still outside, encodes each hit for the client that asks.
     */
    const encodedOutside = headerValue(headers, 'content-encoding') !== this.#encodingAtHead;
    const reason =
      responseRefusal(status, headers, this.#policy)?.reason ?? (encodedOutside ? undefined : this.#lengthMismatch(headers));
    if (reason !== undefined) {
      this.abort(`${reason} (as sent)`);
      return Promise.resolve(false);
    }
    // Read again at the end: a handler that streams may name its groups after the head went out.
    const values = this.#handlerValues();
    if (values === undefined) return Promise.resolve(false);
    this.#state = 'done';
    return this.#fill.commit(this.#entry(status, headers, rawNames, encodedOutside, values));
  }

  // The entry to store: the held body, the headers as sent (stored ones only), and what it varies on.
  #entry(
    status: number,
    headers: HeaderMap,
    rawNames: readonly string[] | undefined,
    encodedOutside: boolean,
    values: HandlerValues,
  ): CachedEntry {
    const body = this.#body.toBuffer();
    const { now, staleFor, edge, ownHeader } = this.#route;
    const requestHeaders = this.#settings.requestHeaders;
    const ttl = values.ttl ?? this.#ttl;
    const storedAt = now();
    let stored = storableHeaders(headers, ownHeader, rawNames);
    // Our Cache-Status member describes this response only (RFC 9211 §2): a hit sends its own.
    if (this.#route.status.sendsCacheStatus) stored = stored.filter(([name]) => name.toLowerCase() !== 'cache-status');
    // What the edge is told is decided per response (a hit has its own age and race window).
    if (edge.active) stored = stored.filter(([name]) => name.toLowerCase() !== SURROGATE_CONTROL.toLowerCase());
    // What the held bytes vary on is what was declared when the cache saw them: a Vary added later is an outer
    // layer's (a compressor adds Accept-Encoding even when it sends identity), and that layer runs again on hits.
    let vary = varyValues(this.#varyAtHead, requestHeaders);
    const coding = encodedOutside ? undefined : contentCoding(headerValue(headers, 'content-encoding'));
    if (encodedOutside) {
      stored = stored.filter(([name]) => name.toLowerCase() !== 'content-encoding');
      vary = vary.filter(([name]) => name !== 'accept-encoding');
    } else if (coding === undefined && this.#varyBefore.includes('accept-encoding')) {
      vary = vary.filter(([name]) => name !== 'accept-encoding');
    }
    return {
      status,
      headers: stored,
      body,
      etag: entityTag(headers.etag, body, coding !== undefined && vary.some(([name]) => name === 'accept-encoding')),
      vary,
      tags: this.#tags(values.groups),
      startedAt: this.#fill.startedAt,
      storedAt,
      freshUntil: storedAt + ttl,
      staleUntil: storedAt + ttl + staleFor,
    };
  }

  /*
   * The fill's tags plus those of the groups the handler added. They are checked by the store against the fill's
   * start like the others: a group expired while the handler ran dooms the entry (DESIGN invariant 2).
   */
  #tags(added: readonly string[]): string[] {
    const tags = [...this.#fill.tags];
    for (const group of added) {
      const tag = groupTag(group, this.#route.maxKeyLength);
      if (!tags.includes(tag)) tags.push(tag);
    }
    return tags;
  }

  // A body shorter or longer than its declared Content-Length was cut off (the client got a reset): never stored.
  #lengthMismatch(headers: HeaderMap): string | undefined {
    const declared = headers['content-length'];
    if (declared === undefined) return undefined;
    const length = Number(declared);
    return length === this.#body.length ? undefined : `body of ${this.#body.length} bytes, Content-Length ${String(declared)}`;
  }

  /**
   * Nothing is stored: the response errored, was aborted, or was refused. Safe to call more than once. With a
   * `detail`, {@link headers} then gives the status headers of a refused miss (for an adapter that has not sent
   * the head).
   */
  abort(reason: string, detail?: BypassDetail): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#refusal = detail;
    // The detail, when it is a stats key, names the counter: the reason's text may quote the handler's values.
    this.#fill.cancel(reason, isNotStoredReason(detail) ? detail : undefined);
  }
}
