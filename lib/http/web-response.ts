import type { Replay } from './replay.js';

/*
 * The Web-standard side of the HTTP rules (fetch's `Request`, `Response` and `Headers`), for adapters and handlers
 * that speak them instead of Node's `req` / `res`. Every rule is the Node side's; these only translate.
 */

/** The path and query of an absolute request URL (`http://host/a?b` -> `/a?b`), as the client sent them. */
export function pathAndQuery(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start === -1 ? '/' : url.slice(start);
}

/**
 * A `Headers` as the HTTP rules read headers: lower-case names (as `Headers` keeps them), `Set-Cookie` as a list.
 * The map has no prototype: a header named `__proto__` is a header, not the map's prototype.
 */
export function webHeaderMap(headers: Headers): Record<string, string | string[]> {
  const map: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of headers) {
    if (name === 'set-cookie') map[name] = headers.getSetCookie();
    else map[name] = value;
  }
  return map;
}

/*
 * A replay (a hit, a stale copy) as a new `Response`. The headers go as a plain record: `@hono/node-server` writes a
 * response made so in one `writeHead`, without building a `Headers`. A list value (a stored `Vary`, `Link`) is one
 * comma-separated value, as RFC 9110 §5.3 allows for every field but `Set-Cookie`, which is never stored.
 */
export function replayResponse(replay: Replay): Response {
  const headers: Record<string, string> = {};
  const list = replay.headers;
  for (let i = 0; i < list.length; i++) {
    const [name, value] = list[i] as Replay['headers'][number];
    headers[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return new Response(replay.body ?? null, { status: replay.status, headers });
}

/** The same response with these headers set (over the handler's): a fetched response's own headers are immutable. */
export function withHeaders(response: Response, set: Iterable<readonly [string, string]>): Response {
  const headers = new Headers(response.headers);
  let changed = false;
  for (const [name, value] of set) {
    headers.set(name, value);
    changed = true;
  }
  if (!changed) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Lets a response that will not be sent release its body (a stream the handler is still writing, say). */
export function discardResponse(response: Response): void {
  if (response.body !== null && !response.bodyUsed) response.body.cancel().catch(() => {});
}
