import fresh from 'fresh';
import type { HeaderMap } from './storage-policy.js';
import type { CachedEntry, HeaderList } from './types.js';

/** What an adapter writes for a hit. `body` is undefined when none is sent (HEAD, 304). */
export interface Replay {
  status: number;
  headers: HeaderList;
  body: Buffer | undefined;
}

/* RFC 9110 §15.4.5: a 304 carries the validators and caching headers of the 200 it stands for, nothing else. */
const KEPT_ON_304 = new Set(['cache-control', 'content-location', 'expires', 'vary', 'last-modified']);

function lastModified(headers: HeaderList): string | undefined {
  for (const [name, value] of headers) if (name === 'last-modified') return typeof value === 'string' ? value : undefined;
  return undefined;
}

/**
 * Builds the response for a hit: the stored status, headers and body, plus `ETag`, `Age` (RFC 9111 §5.1,
 * whole seconds since the response was stored) and the cache's status header; a `304 Not Modified` when the
 * request's validators match (RFC 9110 §13.1); no body for HEAD.
 */
export function replayEntry(
  entry: CachedEntry,
  method: string,
  requestHeaders: HeaderMap,
  now: number,
  statusHeader: readonly [string, string] | undefined,
): Replay {
  const age = String(Math.max(0, Math.floor((now - entry.storedAt) / 1000)));
  if (
    (requestHeaders['if-none-match'] !== undefined || requestHeaders['if-modified-since'] !== undefined) &&
    fresh(requestHeaders as Record<string, string>, {
      etag: entry.etag,
      'last-modified': lastModified(entry.headers),
    })
  ) {
    const headers: HeaderList = entry.headers.filter(([name]) => KEPT_ON_304.has(name));
    headers.push(['etag', entry.etag], ['age', age]);
    if (statusHeader) headers.push([statusHeader[0], statusHeader[1]]);
    return { status: 304, headers, body: undefined };
  }
  // The hot path of every hit: one array of the final length, filled by index (no slice-then-grow).
  const stored = entry.headers;
  const count = stored.length;
  // RFC 9110 §8.6: no Content-Length on a 204 (a route may allow 204 through `statuses`).
  const bodyless = entry.status === 204;
  const headers: HeaderList = new Array(count + 2 + (bodyless ? 0 : 1) + (statusHeader ? 1 : 0));
  for (let i = 0; i < count; i++) headers[i] = stored[i] as HeaderList[number];
  let at = count;
  headers[at++] = ['etag', entry.etag];
  headers[at++] = ['age', age];
  if (!bodyless) headers[at++] = ['content-length', String(entry.body.length)];
  if (statusHeader) headers[at] = [statusHeader[0], statusHeader[1]];
  return { status: entry.status, headers, body: method === 'HEAD' || bodyless ? undefined : entry.body };
}
