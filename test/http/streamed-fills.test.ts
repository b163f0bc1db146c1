/*
 * A handler that streams 10 MiB in 64 KiB chunks, honouring back-pressure (res.write and 'drain' on Express, a
 * Readable as ctx.body on Koa and as reply.send()'s payload on Fastify, a ReadableStream on Hono). A miss passes
 * each chunk through as it is written, so the client's first byte comes as early as without the cache; and it
 * buffers at most maxEntryBytes of the body, past which the rest goes through untouched and nothing is stored. A
 * client that leaves mid-stream stores nothing.
 */
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type RequestListener, request, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getRequestListener } from '@hono/node-server';
import Router from '@koa/router';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import { createCache, type GroupCache, memoryStore, type NotStoredEvent } from 'group-cache';
import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as fastifyCache } from 'group-cache/fastify';
import { groupCache as honoCache } from 'group-cache/hono';
import { groupCache as koaCache } from 'group-cache/koa';
import { deferred, type Listening, listen } from 'group-cache/test-suite';
import { Hono } from 'hono';
import Koa from 'koa';

const CHUNK = 64 * 1024;
const CHUNKS = 160;
const TOTAL = CHUNK * CHUNKS; // 10 MiB
const MAX_ENTRY = 2 ** 20;
// A limit, for the route and the store, that the whole body fits.
const ROOMY = 16 * 2 ** 20;

/** Chunk `index` of the body: a new Buffer each time, as a handler reading a file or a database makes them. */
const chunkAt = (index: number): Buffer => Buffer.alloc(CHUNK, (index * 7 + 1) & 0xff);

const EXPECTED = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < CHUNKS; i++) hash.update(chunkAt(i));
  return hash.digest('hex');
})();

/*
 * A full collection, so that process.memoryUsage().arrayBuffers counts only the Buffers still held. Mocha runs
 * without --expose-gc: then the flag is set at run time and V8's gc() taken from a fresh context.
 */
const gc: () => void =
  globalThis.gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();
function heldBytes(): number {
  // Twice: V8 frees dead ArrayBuffers' memory while it sweeps, which may run on after one collection returns.
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** One request's body: the chunks the handler makes, and a hook that runs (and may wait) before each is made. */
class Body {
  made = 0;
  readonly #before: (index: number) => unknown;

  constructor(before: (index: number) => unknown = () => undefined) {
    this.#before = before;
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < CHUNKS; i++) {
      await this.#before(i);
      this.made++;
      yield chunkAt(i);
    }
  }
}

/** An app with one cached route at /r that streams `body()` (a new Body per request). */
type App = (
  cache: GroupCache,
  maxEntryBytes: number,
  body: () => Body,
) => Promise<{ listener: RequestListener; close?: () => Promise<void> }>;

/** Resolves once `res` can take more, or was closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

const nodeStream = (body: Body): Readable => Readable.from(body.chunks(), { objectMode: false, highWaterMark: CHUNK });

function webStream(body: Body): ReadableStream<Uint8Array> {
  const chunks = body.chunks();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

const APPS: Array<[name: string, App]> = [
  [
    'Express 5 (res.write)',
    async (cache, maxEntryBytes, body) => {
      const app = express();
      app.get(
        '/r',
        expressCache(() => 'r', { cache, maxEntryBytes }),
        async (_req, res) => {
          res.type('bin');
          for await (const chunk of body().chunks()) {
            if (res.destroyed) return;
            if (!res.write(chunk)) await drained(res);
          }
          res.end();
        },
      );
      return { listener: app as unknown as RequestListener };
    },
  ],
  [
    'Koa 3 (ctx.body = Readable)',
    async (cache, maxEntryBytes, body) => {
      const app = new Koa();
      app.silent = true; // Koa logs a client that leaves mid-stream itself (ECONNRESET, premature close)
      const router = new Router();
      router.get(
        '/r',
        koaCache(() => 'r', { cache, maxEntryBytes }),
        (ctx) => {
          ctx.type = 'bin';
          ctx.body = nodeStream(body());
        },
      );
      app.use(router.routes());
      return { listener: app.callback() };
    },
  ],
  [
    'Fastify 5 (reply.send(Readable))',
    async (cache, maxEntryBytes, body) => {
      const app = Fastify();
      app.get('/r', { onRequest: fastifyCache(() => 'r', { cache, maxEntryBytes }) }, (_request, reply) => {
        reply.type('application/octet-stream').send(nodeStream(body()));
      });
      await app.ready();
      return { listener: app.routing as unknown as RequestListener, close: () => app.close() };
    },
  ],
  [
    'Hono 4 (c.body(ReadableStream))',
    async (cache, maxEntryBytes, body) => {
      const app = new Hono();
      app.get(
        '/r',
        honoCache(() => 'r', { cache, maxEntryBytes }),
        (c) => c.body(webStream(body()), 200, { 'content-type': 'application/octet-stream' }),
      );
      return { listener: getRequestListener(app.fetch) };
    },
  ],
];

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
}

/**
 * GETs `url` on a connection of its own, hashing the body as it comes (nothing of it is kept), and resolves once the
 * body ended and the server closed the connection (after the response's 'finish', where a fill is stored).
 * `firstData` runs on the first chunk of the body.
 */
function receive(url: string, firstData?: () => void): Promise<Received> {
  return new Promise((resolve, reject) => {
    let received: Received | undefined;
    let closed = false;
    const settle = (): void => {
      if (received !== undefined && closed) resolve(received);
    };
    const req = request(url, { agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstData?.();
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        received = { status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex') };
        settle();
      });
    });
    req.on('socket', (socket) =>
      socket.once('close', () => {
        closed = true;
        if (received === undefined) reject(new Error('connection closed before the response ended'));
        else settle();
      }),
    );
    req.on('error', reject);
    req.end();
  });
}

/** GETs `url`, and goes away (destroys the request) once the first chunk of the body arrived. */
function leaveAfterFirstChunk(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
    req.end();
  });
}

/** What a test checks of a response: its status, its X-Cache, and that the body came whole. */
const outcome = (r: Received): unknown[] => [r.status, r.headers['x-cache'], r.bytes, r.sha256];

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

for (const [name, build] of APPS) {
  describe(`${name}: a streamed fill of 10 MiB`, () => {
    let server: Listening | undefined;
    let close: (() => Promise<void>) | undefined;
    let cache: GroupCache | undefined;
    afterEach(async () => {
      await server?.close();
      await close?.();
      await cache?.close();
      server = undefined;
      close = undefined;
      cache = undefined;
    });

    async function start(maxEntryBytes: number, body: () => Body, storeEntryBytes?: number) {
      cache = createCache({ store: memoryStore({ maxEntryBytes: storeEntryBytes }), maxEntryBytes });
      const app = await build(cache, maxEntryBytes, body);
      close = app.close;
      server = await listen(app.listener);
      return { cache, url: `${server.url}/r` };
    }

    it('passes the first chunk to the client before the handler writes the next, and stores the whole body', async () => {
      // The handler makes chunk 1 only once the client has received bytes: a cache that held the first chunk back
      // (until the end, or until more came) would never let it, and the request would hang.
      const gate = deferred();
      let body = new Body((index) => (index === 1 ? gate.promise : undefined));
      const { cache, url } = await start(ROOMY, () => body, ROOMY);
      let madeAtFirstByte = -1;
      const miss = await receive(url, () => {
        madeAtFirstByte = body.made;
        gate.resolve();
      });
      expect(madeAtFirstByte, 'chunks the handler had made when the client got its first byte').to.equal(1);
      expect(outcome(miss)).to.deep.equal([200, 'MISS', TOTAL, EXPECTED]);
      expect(cache.stats().stores).to.equal(1);
      body = new Body();
      const hit = await receive(url);
      expect(outcome(hit)).to.deep.equal([200, 'HIT', TOTAL, EXPECTED]);
      expect(body.made, 'the handler ran for the hit').to.equal(0);
    });

    it('buffers at most maxEntryBytes (1 MiB), passes the rest through, stores nothing: memory stays flat', async () => {
      let body = new Body();
      const { cache, url } = await start(MAX_ENTRY, () => body);
      const refusals: Array<{ reason: string; made: number }> = [];
      cache.on('notStored', (event: NotStoredEvent) => refusals.push({ reason: event.reason, made: body.made }));
      // Bytes held by Buffers (after a full collection) at points through the stream, over those held before it.
      const samples: number[] = [];
      const sampled = new Set([8, 15, 40, 100, CHUNKS - 1]);
      body = new Body((index) => {
        if (sampled.has(index)) samples.push(heldBytes());
      });
      const before = heldBytes();
      const first = await receive(url);
      expect(outcome(first)).to.deep.equal([200, 'MISS', TOTAL, EXPECTED]);
      expect(samples).to.have.length(sampled.size);
      const growth = Math.max(...samples) - before;
      // The entry's bytes, and a few chunks on their way (the handler's, a stream's buffer, the socket's).
      expect(growth, `grew by ${MiB(growth)} while streaming ${MiB(TOTAL)}`).to.be.below(MAX_ENTRY + 8 * CHUNK);
      // Given up as the body passed the limit, long before its end, not at it.
      expect(refusals).to.have.length(1);
      expect(refusals[0]?.reason).to.equal('too-large');
      expect(refusals[0]?.made, 'chunks made when the fill gave up').to.be.below(CHUNKS / 2);
      expect(cache.stats().stores).to.equal(0);
      body = new Body();
      const second = await receive(url);
      expect(outcome(second)).to.deep.equal([200, 'MISS', TOTAL, EXPECTED]);
    });

    // Express's and Hono's are in test/http/node-capture.test.ts and test/adapters/hono.test.ts.
    if (name.startsWith('Koa') || name.startsWith('Fastify')) {
      it('a client that goes away mid-stream: nothing stored, no error, the next request is whole and stored', async () => {
        let body = new Body();
        const { cache, url } = await start(ROOMY, () => body, ROOMY);
        const errors: unknown[] = [];
        cache.on('error', (error) => errors.push(error));
        const notStored = new Promise<NotStoredEvent>((resolve) => cache.once('notStored', resolve));
        await leaveAfterFirstChunk(url);
        expect((await notStored).reason).to.equal('aborted');
        expect(cache.stats().stores).to.equal(0);
        body = new Body();
        const next = await receive(url);
        expect(outcome(next)).to.deep.equal([200, 'MISS', TOTAL, EXPECTED]);
        expect(cache.stats().stores).to.equal(1);
        expect(errors).to.deep.equal([]);
      });
    }
  });
}
