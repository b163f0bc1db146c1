import fresh from 'fresh';
import rangeParser from 'range-parser';
import type { CachedEntry, HeaderList } from '../stores/contract.js';
import type { StatusHeader } from './cache-status.js';
import type { SentCacheControl } from './client-freshness.js';
import { type HeaderMap, headerValue } from './headers.js';

// What a hit's response is built from.
type ReplayedEntry = Pick<CachedEntry, 'status' | 'headers' | 'body' | 'etag' | 'storedAt'>;

/** What an adapter writes for a hit. `body` is undefined when none is sent (HEAD, 304). */
export interface Replay {
  status: number;
  headers: HeaderList;
  body: Buffer | undefined;
}

/*
 * A stored header as a response gets it: a list value is copied, since Node's `res.appendHeader` pushes onto the
 * array it was given, and stored lists are shared (between hits, and between entries in the memory store).
 */
function sent(pair: HeaderList[number]): HeaderList[number] {
  return typeof pair[1] === 'string' ? pair : [pair[0], [...pair[1]]];
}

/* RFC 9110 §15.4.5: a 304 carries the validators and caching headers of the 200 it stands for, nothing else. */
const KEPT_ON_304 = new Set(['cache-control', 'content-location', 'expires', 'vary', 'last-modified']);

function lastModified(headers: HeaderList): string | undefined {
  for (const [name, value] of headers)
    if (name.toLowerCase() === 'last-modified') return typeof value === 'string' ? value : undefined;
  return undefined;
}

/*
 * RFC 9110 §13.1.5: If-Range holds when its entity-tag matches the entry's by the strong comparison (§8.8.3.2:
 * neither is weak, and they are identical), or when its HTTP-date equals Last-Modified and that date is a strong
 * validator (§8.8.2.2: at least one second before the response was generated, which `storedAt` stands for since
 * `Date` is not stored). When it does not hold, the whole representation is sent.
 */
function ifRangeHolds(value: HeaderMap[string], entry: ReplayedEntry): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'string') return false;
  const validator = value.trim();
  if (validator.startsWith('"') || validator.startsWith('W/')) {
    return !validator.startsWith('W/') && !entry.etag.startsWith('W/') && validator === entry.etag;
  }
  const modified = lastModified(entry.headers);
  if (modified === undefined) return false;
  const date = Date.parse(validator);
  return !Number.isNaN(date) && Date.parse(modified) === date && date <= entry.storedAt - 1000;
}

type RangeAnswer = { status: 206; start: number; end: number } | { status: 416 } | undefined;

/*
 * RFC 9110 §14.2: a single byte range of a stored 200 is served as a 206 from the stored body, an unsatisfiable
 * one as a 416. A server MAY ignore Range, so a malformed header, another range unit and several ranges that do
 * not merge into one (multipart/byteranges is not built) all get the full 200.
 */
function rangeAnswer(entry: ReplayedEntry, requestHeaders: HeaderMap): RangeAnswer {
  const range = headerValue(requestHeaders, 'range');
  if (typeof range !== 'string' || entry.status !== 200) return undefined;
  if (!ifRangeHolds(headerValue(requestHeaders, 'if-range'), entry)) return undefined;
  const ranges = rangeParser(entry.body.length, range, { combine: true });
  if (ranges === -1) return { status: 416 };
  const only = ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1 ? undefined : ranges[0];
  if (only === undefined) return undefined;
  return { status: 206, start: only.start, end: only.end };
}

function partialReplay(
  entry: ReplayedEntry,
  answer: NonNullable<RangeAnswer>,
  method: string,
  age: string,
  statusHeaders: readonly StatusHeader[],
): Replay {
  const length = entry.body.length;
  if (answer.status === 416) {
    // RFC 9110 §15.5.17: the current length in Content-Range; no representation headers for an empty body.
    const headers: HeaderList = [
      ['Content-Range', `bytes */${length}`],
      ['Content-Length', '0'],
    ];
    for (const [name, value] of statusHeaders) headers.push([name, value]);
    return { status: 416, headers, body: method === 'HEAD' ? undefined : Buffer.alloc(0) };
  }
  // RFC 9110 §15.3.7: a single-part 206 carries the 200's headers (Content-Type, ETag, Cache-Control, Vary...).
  const headers: HeaderList = entry.headers.map(sent);
  headers.push(
    ['ETag', entry.etag],
    ['Age', age],
    ['Content-Range', `bytes ${answer.start}-${answer.end}/${length}`],
    ['Content-Length', String(answer.end - answer.start + 1)],
  );
  for (const [name, value] of statusHeaders) headers.push([name, value]);
  const body = method === 'HEAD' ? undefined : entry.body.subarray(answer.start, answer.end + 1);
  return { status: 206, headers, body };
}

/**
 * Builds the response for a hit: the stored status, headers and body, plus `ETag`, `Age` (RFC 9111 §5.1,
 * whole seconds since the response was stored) and the cache's status header; a `304 Not Modified` when the
 * request's validators match (RFC 9110 §13.1); a 206 or 416 for a single `Range` on a 200, subject to `If-Range`
 * (RFC 9110 §14.2, §13.1.5; evaluated after the 304 check, §13.2.2); no body for HEAD. `statusHeaders` are
 * the cache's own (X-Cache, Cache-Status), added to each of them. `control` is the route's `cacheControl`: it
 * replaces the stored `Cache-Control`, and caps `Age` at its max-age (see {@link withControl}).
 */
/*
 * A hit under a route's `cacheControl`: the stored `Cache-Control` (the handler's) is swapped for the route's, and
 * `Age` (RFC 9111 §5.1) is capped at the policy's freshness lifetime: with `max-age=N`, an entry older than N s
 * is still served (the server cache decides its own lifetime, and group expiry keeps it correct), but told as
 * exactly N s old, i.e. just stale (§4.2: fresh only while lifetime > age), so a browser or CDN revalidates
 * rather than reading an Age that the policy says no copy may reach. Without max-age / s-maxage, Age is as is.
 */
function withControl(
  entry: CachedEntry,
  method: string,
  requestHeaders: HeaderMap,
  now: number,
  statusHeaders: readonly StatusHeader[],
  control: SentCacheControl,
): Replay {
  const headers: HeaderList = entry.headers.filter(([name]) => name.toLowerCase() !== 'cache-control');
  headers.push(['Cache-Control', control.value]);
  const age = Math.max(0, Math.floor((now - entry.storedAt) / 1000));
  const capped = control.maxAge === undefined ? age : Math.min(age, control.maxAge);
  // Fields named, not spread: a store may hand back an entry whose fields are getters (the memory store's are).
  return replayAt(
    { status: entry.status, headers, body: entry.body, etag: entry.etag, storedAt: entry.storedAt },
    method,
    requestHeaders,
    String(capped),
    statusHeaders,
  );
}

export function replayEntry(
  entry: CachedEntry,
  method: string,
  requestHeaders: HeaderMap,
  now: number,
  statusHeaders: readonly StatusHeader[],
  control?: SentCacheControl,
): Replay {
  if (control !== undefined) return withControl(entry, method, requestHeaders, now, statusHeaders, control);
  return replayAt(entry, method, requestHeaders, String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))), statusHeaders);
}

// A hit's response, `Age` already decided.
function replayAt(
  entry: ReplayedEntry,
  method: string,
  requestHeaders: HeaderMap,
  age: string,
  statusHeaders: readonly StatusHeader[],
): Replay {
  if (
    (requestHeaders['if-none-match'] !== undefined || requestHeaders['if-modified-since'] !== undefined) &&
    fresh(requestHeaders as Record<string, string>, {
      etag: entry.etag,
      'last-modified': lastModified(entry.headers),
    })
  ) {
    const headers: HeaderList = entry.headers.filter(([name]) => KEPT_ON_304.has(name.toLowerCase())).map(sent);
    headers.push(['ETag', entry.etag], ['Age', age]);
    for (const [name, value] of statusHeaders) headers.push([name, value]);
    return { status: 304, headers, body: undefined };
  }
  if (requestHeaders.range !== undefined) {
    const answer = rangeAnswer(entry, requestHeaders);
    if (answer !== undefined) return partialReplay(entry, answer, method, age, statusHeaders);
  }
  // The hot path of every hit: one array of the final length, filled by index (no slice-then-grow).
  const stored = entry.headers;
  const count = stored.length;
  // RFC 9110 §8.6: no Content-Length on a 204 (a route may allow 204 through `statuses`).
  const bodyless = entry.status === 204;
  const own = statusHeaders.length;
  const headers: HeaderList = new Array(count + 2 + (bodyless ? 0 : 1) + own);
  for (let i = 0; i < count; i++) headers[i] = sent(stored[i] as HeaderList[number]);
  let at = count;
  headers[at++] = ['ETag', entry.etag];
  headers[at++] = ['Age', age];
  if (!bodyless) headers[at++] = ['Content-Length', String(entry.body.length)];
  // The cache's own headers are shared, never-mutated pairs: handed on as they are.
  for (let i = 0; i < own; i++) headers[at++] = statusHeaders[i] as StatusHeader as HeaderList[number];
  return { status: entry.status, headers, body: method === 'HEAD' || bodyless ? undefined : entry.body };
}
