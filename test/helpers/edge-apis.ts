/*
 * Local stand-ins for the purge APIs group-cache/edge calls (Fastly and Cloudflare cannot be reached from the test
 * machines), each checking every request against the documented shape and answering 400 with what is wrong, and
 * each holding a small edge (responses and their tags) so that a purge can be seen to land.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EdgeState } from 'group-cache/test-suite';

export type EdgeKind = 'varnish' | 'fastly' | 'cloudflare';

/** A request as the stand-in received it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeEdge {
  readonly kind: EdgeKind;
  readonly url: string;
  readonly token: string;
  readonly account: string;
  /** Every request received, in order, and the shape errors found in them. */
  readonly seen: SeenRequest[];
  readonly shapeErrors: string[];
  put(tags: readonly string[]): string;
  state(handle: string): EdgeState;
  /** The next `count` requests are answered `status` (with `Retry-After` when given). */
  failNext(count: number, status: number, retryAfter?: string): void;
  /** Requests get no answer until {@link heal} (a hung edge). */
  hang(): void;
  /** Stops listening: connections are refused until {@link heal}. */
  down(): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

const TOKEN = 'test-token-0123456789';
const ACCOUNT = 'svc0123456789abcdef';

// Varnish's default http_req_hdr_len.
const VARNISH_HEADER_BYTES = 8 * 1024;

function json(status: number, value: unknown): Answer {
  return { status, body: JSON.stringify(value), contentType: 'application/json' };
}

/** The tags a request asks to purge and whether softly, or the shape error. */
type Parsed = { tags: string[]; soft: boolean } | { error: string };

function parseVarnish(request: SeenRequest): Parsed {
  if (request.method !== 'PURGE') return { error: `method ${request.method}, expected PURGE` };
  if (request.path !== '/') return { error: `path ${request.path}, expected /` };
  const hard = request.headers['xkey-purge'];
  const soft = request.headers['xkey-softpurge'];
  if ((hard === undefined) === (soft === undefined)) return { error: 'expected exactly one of xkey-purge, xkey-softpurge' };
  const value = String(hard ?? soft);
  if (Buffer.byteLength(value) + 'xkey-softpurge: '.length > VARNISH_HEADER_BYTES) {
    return { error: `header of ${value.length} bytes, over http_req_hdr_len` };
  }
  const tags = value.split(' ');
  if (tags.some((tag) => tag === '')) return { error: `empty tag in ${JSON.stringify(value)}` };
  return { tags, soft: soft !== undefined };
}

function parseJsonList(request: SeenRequest, field: string, most: number): string[] | string {
  if (!String(request.headers['content-type']).startsWith('application/json')) return 'Content-Type is not application/json';
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(request.body) as Record<string, unknown>;
  } catch {
    return `body is not JSON: ${request.body.slice(0, 80)}`;
  }
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== field) return `body fields ${JSON.stringify(keys)}, expected ["${field}"]`;
  const list = body[field];
  if (!Array.isArray(list) || list.length === 0 || list.length > most) return `${field} must be an array of 1 to ${most}`;
  if (list.some((tag) => typeof tag !== 'string' || tag === '' || /\s/.test(tag))) return `${field} holds a non-tag`;
  return list as string[];
}

function parseFastly(request: SeenRequest): Parsed {
  if (request.method !== 'POST') return { error: `method ${request.method}, expected POST` };
  if (request.path !== `/service/${ACCOUNT}/purge`) return { error: `path ${request.path}, expected /service/${ACCOUNT}/purge` };
  if (request.headers['fastly-key'] !== TOKEN) return { error: 'Fastly-Key missing or wrong' };
  if (request.headers.accept !== 'application/json') return { error: 'Accept is not application/json' };
  const soft = request.headers['fastly-soft-purge'];
  if (soft !== undefined && soft !== '1') return { error: `Fastly-Soft-Purge ${soft}, expected 1` };
  const tags = parseJsonList(request, 'surrogate_keys', 256);
  return typeof tags === 'string' ? { error: tags } : { tags, soft: soft === '1' };
}

function parseCloudflare(request: SeenRequest): Parsed {
  if (request.method !== 'POST') return { error: `method ${request.method}, expected POST` };
  if (request.path !== `/client/v4/zones/${ACCOUNT}/purge_cache`) return { error: `path ${request.path}` };
  if (request.headers.authorization !== `Bearer ${TOKEN}`) return { error: 'Authorization is not the bearer token' };
  const tags = parseJsonList(request, 'tags', 100);
  return typeof tags === 'string' ? { error: tags } : { tags, soft: false };
}

const PARSERS: Record<EdgeKind, (request: SeenRequest) => Parsed> = {
  varnish: parseVarnish,
  fastly: parseFastly,
  cloudflare: parseCloudflare,
};

function success(kind: EdgeKind, tags: readonly string[], purged: number): Answer {
  if (kind === 'varnish') return { status: 200, body: `Purged ${purged}`, contentType: 'text/plain' };
  if (kind === 'fastly') return json(200, Object.fromEntries(tags.map((tag, i) => [tag, `purge-${i}`])));
  return json(200, { success: true, errors: [], messages: [], result: { id: 'purge-1' } });
}

function failure(kind: EdgeKind, status: number, error: string): Answer {
  if (kind === 'cloudflare') return json(status, { success: false, errors: [{ code: 1000, message: error }], messages: [] });
  if (kind === 'fastly') return json(status, { msg: error });
  return { status, body: error, contentType: 'text/plain' };
}

/** Starts the stand-in for `kind` on a free loopback port. */
export async function fakeEdge(kind: EdgeKind): Promise<FakeEdge> {
  const objects = new Map<string, { tags: Set<string>; state: EdgeState }>();
  const seen: SeenRequest[] = [];
  const shapeErrors: string[] = [];
  const faults: { status: number; retryAfter?: string }[] = [];
  const hung: ServerResponse[] = [];
  let hanging = false;
  let next = 0;

  function purge(tags: readonly string[], soft: boolean): number {
    const wanted = new Set(tags);
    let count = 0;
    for (const object of objects.values()) {
      if (object.state === 'gone' || ![...object.tags].some((tag) => wanted.has(tag))) continue;
      object.state = soft && kind !== 'cloudflare' ? 'stale' : 'gone';
      count++;
    }
    return count;
  }

  function answer(request: SeenRequest): Answer {
    const fault = faults.shift();
    if (fault !== undefined) return failure(kind, fault.status, 'injected failure');
    const parsed = PARSERS[kind](request);
    if ('error' in parsed) {
      shapeErrors.push(parsed.error);
      return failure(kind, 400, parsed.error);
    }
    return success(kind, parsed.tags, purge(parsed.tags, parsed.soft));
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(request);
      if (hanging) {
        hung.push(res);
        return;
      }
      const retryAfter = faults[0]?.retryAfter;
      const { status, body, contentType } = answer(request);
      res.writeHead(status, { 'content-type': contentType, ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) });
      res.end(body);
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    kind,
    url: kind === 'cloudflare' ? `http://127.0.0.1:${port}/client/v4` : `http://127.0.0.1:${port}`,
    token: TOKEN,
    account: ACCOUNT,
    seen,
    shapeErrors,
    put(tags) {
      const handle = `h${++next}`;
      objects.set(handle, { tags: new Set(tags), state: 'fresh' });
      return handle;
    },
    state(handle) {
      return objects.get(handle)?.state ?? 'gone';
    },
    failNext(count, status, retryAfter) {
      for (let i = 0; i < count; i++) faults.push(retryAfter === undefined ? { status } : { status, retryAfter });
    },
    hang() {
      hanging = true;
    },
    down: closeServer,
    async heal() {
      hanging = false;
      for (const res of hung.splice(0)) res.destroy();
      if (!server.listening) {
        server = createServer(handler);
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      }
    },
    async close() {
      hanging = false;
      for (const res of hung.splice(0)) res.destroy();
      if (server.listening) await closeServer();
    },
  };
}
