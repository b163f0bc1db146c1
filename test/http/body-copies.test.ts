/*
 * What a miss and a hit do with the body's bytes: a miss serialises the body once and copies it once into the
 * Buffer the store keeps; a hit hands the stored Buffer itself to the response, never a copy.
 */
import type { ServerResponse } from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import etag from 'etag';
import express from 'express';
import Fastify from 'fastify';
import { createCache } from 'group-cache';
import { groupCache as expressCache } from 'group-cache/express';
import { groupCache as fastifyCache } from 'group-cache/fastify';
import { groupCache as koaCache } from 'group-cache/koa';
import Koa from 'koa';
import compress from 'koa-compress';
import Koa2 from 'koa2';
import request from 'supertest';
import { BodyCollector } from '../../lib/http/body-collector.js';
import { listen } from '../helpers/http.js';

type Allocator = 'from' | 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow' | 'concat';
const ALLOCATORS: Allocator[] = ['from', 'alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'];

/** Runs `work` counting the bytes of every Buffer made through Buffer's static allocators meanwhile. */
function bytesAllocated(work: () => void): number {
  const saved = new Map<Allocator, unknown>();
  let bytes = 0;
  const host = Buffer as unknown as Record<Allocator, (...args: unknown[]) => Buffer>;
  for (const name of ALLOCATORS) {
    const original = host[name];
    saved.set(name, original);
    host[name] = function counted(this: unknown, ...args: unknown[]): Buffer {
      const made = original.apply(this, args);
      bytes += made.length;
      return made;
    };
  }
  try {
    work();
  } finally {
    for (const name of ALLOCATORS) host[name] = saved.get(name) as (...args: unknown[]) => Buffer;
  }
  return bytes;
}

/** Runs `work`, counting the calls of JSON.stringify whose value is `value`. */
async function stringifiedTimes(value: unknown, work: () => Promise<void>): Promise<number> {
  const original = JSON.stringify;
  let times = 0;
  JSON.stringify = function counted(this: JSON, ...args: Parameters<typeof JSON.stringify>): string {
    if (args[0] === value) times++;
    return original.apply(this, args);
  } as typeof JSON.stringify;
  try {
    await work();
  } finally {
    JSON.stringify = original;
  }
  return times;
}

describe('body copies on a miss', () => {
  const KB64 = 64 * 1024;

  describe('BodyCollector', () => {
    it('a body in one write is copied once, into a Buffer of its own', () => {
      const source = Buffer.alloc(KB64, 7);
      const collector = new BodyCollector(1_000_000);
      let body: Buffer = Buffer.alloc(0);
      const bytes = bytesAllocated(() => {
        collector.push(source);
        body = collector.toBuffer();
      });
      expect(bytes).to.equal(KB64);
      expect(body.equals(source)).to.equal(true);
      expect(body.buffer.byteLength).to.equal(KB64);
      source.fill(0); // the caller may reuse its buffer: the collected bytes are a copy
      expect(body[0]).to.equal(7);
    });

    it('a string in one write is encoded once, straight into the Buffer kept', () => {
      const text = `{"name":"${'é'.repeat(500)}"}`;
      const collector = new BodyCollector(1_000_000);
      let body: Buffer = Buffer.alloc(0);
      const bytes = bytesAllocated(() => {
        collector.push(text);
        body = collector.toBuffer();
      });
      expect(bytes).to.equal(Buffer.byteLength(text));
      expect(body.toString()).to.equal(text);
      expect(body.buffer.byteLength).to.equal(body.length);
    });

    it('a body in several writes with a declared length is copied once', () => {
      const chunks = [Buffer.alloc(KB64 / 4, 1), 'x'.repeat(KB64 / 4), Buffer.alloc(KB64 / 4, 3), 'y'.repeat(KB64 / 4)];
      const collector = new BodyCollector(1_000_000);
      let body: Buffer = Buffer.alloc(0);
      const bytes = bytesAllocated(() => {
        collector.expect(KB64);
        for (const chunk of chunks) collector.push(chunk);
        body = collector.toBuffer();
      });
      expect(bytes).to.equal(KB64);
      expect(body.equals(Buffer.concat(chunks.map((chunk) => Buffer.from(chunk))))).to.equal(true);
    });

    it('several writes of unknown length are kept whole, in a Buffer sized to them', () => {
      const collector = new BodyCollector(1_000_000);
      collector.push('abc');
      collector.push(Buffer.from('def'));
      collector.push(new Uint8Array([0x67, 0x68]));
      const body = collector.toBuffer();
      expect(body.toString()).to.equal('abcdefgh');
      expect(body.buffer.byteLength).to.equal(8);
    });

    it('a declared length the body overruns or falls short of still collects the bytes written', () => {
      const over = new BodyCollector(100);
      over.expect(4);
      over.push('abc');
      over.push('defg');
      expect(over.toBuffer().toString()).to.equal('abcdefg');
      const short = new BodyCollector(100);
      short.expect(10);
      short.push('abc');
      const body = short.toBuffer();
      expect(body.toString()).to.equal('abc');
      expect(body.buffer.byteLength).to.equal(3);
    });

    it('past the limit nothing is held and nothing is allocated for the chunk', () => {
      const collector = new BodyCollector(10);
      expect(collector.push('0123456789')).to.equal(true);
      const big = Buffer.alloc(KB64);
      const bytes = bytesAllocated(() => expect(collector.push(big)).to.equal(false));
      expect(bytes).to.equal(0);
      expect(collector.push('x')).to.equal(false);
    });
  });

  for (const [version, Make] of [
    ['Koa 3', Koa],
    ['Koa 2', Koa2 as unknown as typeof Koa],
  ] as const) {
    describe(`${version}: a JSON body`, () => {
      const value = { id: 1, name: 'Ada', tags: ['a', 'b'], text: 'x'.repeat(1000) };

      function appWith(outer: Koa.Middleware | undefined) {
        const cache = createCache();
        const app = new Make();
        if (outer !== undefined) app.use(outer);
        const router = new Router();
        router.get(
          '/r',
          koaCache(() => 'r', { cache }),
          (ctx) => {
            ctx.body = value;
          },
        );
        app.use(router.routes());
        return { app, cache };
      }

      it('is serialised once on a miss (by Koa), and stored as the bytes Koa sent', async () => {
        const { app, cache } = appWith(undefined);
        let miss: request.Response | undefined;
        const times = await stringifiedTimes(value, async () => {
          miss = await request(app.callback()).get('/r');
        });
        expect(times).to.equal(1);
        expect(miss?.headers['x-cache']).to.equal('MISS');
        expect(miss?.text).to.equal(JSON.stringify(value));
        const hit = await request(app.callback()).get('/r');
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.text).to.equal(JSON.stringify(value));
        expect(hit.headers['content-type']).to.equal('application/json; charset=utf-8');
        expect(cache.stats().stores).to.equal(1);
      });

      it('middleware further up reads the handler’s object after next(), and its ETag of it goes out', async () => {
        const seen: unknown[] = [];
        const { app } = appWith(async (ctx, next) => {
          await next();
          seen.push(ctx.body);
          if (!Buffer.isBuffer(ctx.body)) ctx.set('ETag', etag(JSON.stringify(ctx.body)));
        });
        const miss = await request(app.callback()).get('/r');
        expect(seen[0]).to.equal(value);
        expect(miss.headers.etag).to.equal(etag(JSON.stringify(value)));
        const hit = await request(app.callback()).get('/r');
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.text).to.equal(JSON.stringify(value));
      });

      it('koa-compress further up: the identity JSON is stored and every client gets what it accepts', async () => {
        const { app, cache } = appWith(compress({ threshold: 0 }));
        const server = await listen(app.callback());
        try {
          const fetchAs = async (encoding: string) => {
            const res = await fetch(`${server.url}/r`, { headers: { 'accept-encoding': encoding } });
            return { xcache: res.headers.get('x-cache'), coding: res.headers.get('content-encoding'), text: await res.text() };
          };
          const json = JSON.stringify(value);
          expect(await fetchAs('gzip')).to.deep.equal({ xcache: 'MISS', coding: 'gzip', text: json });
          expect(await fetchAs('identity')).to.deep.equal({ xcache: 'HIT', coding: null, text: json });
          expect(await fetchAs('br')).to.deep.equal({ xcache: 'HIT', coding: 'br', text: json });
          expect(cache.stats().stores).to.equal(1);
        } finally {
          await server.close();
        }
      });

      it('a body replaced further up after next() is not stored', async () => {
        const { app, cache } = appWith(async (ctx, next) => {
          await next();
          ctx.body = { wrapped: ctx.body };
        });
        const miss = await request(app.callback()).get('/r');
        expect(miss.body).to.deep.equal({ wrapped: value });
        expect(cache.stats().stores).to.equal(0);
      });
    });
  }
});

describe('body copies on a hit', () => {
  const page = Buffer.alloc(64 * 1024, 'a');

  // The Buffers a hit hands to Node's res.end, over two hits: the same object both times, and the one stored.
  function recordEnds(res: ServerResponse, ends: unknown[]): void {
    const end = res.end;
    res.end = function recorded(this: ServerResponse, ...args: unknown[]) {
      ends.push(args[0]);
      return (end as (...rest: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['end'];
  }

  it('Express: every hit ends the response with the one stored Buffer', async () => {
    const ends: unknown[] = [];
    const app = express();
    app.use((_req, res, next) => {
      recordEnds(res, ends);
      next();
    });
    app.get(
      '/r',
      expressCache(() => 'r', { cache: createCache() }),
      (_req, res) => {
        res.type('text').send(page);
      },
    );
    expect((await request(app).get('/r')).headers['x-cache']).to.equal('MISS');
    expect((await request(app).get('/r')).headers['x-cache']).to.equal('HIT');
    expect((await request(app).get('/r')).headers['x-cache']).to.equal('HIT');
    expect(ends).to.have.length(3);
    expect(Buffer.isBuffer(ends[1])).to.equal(true);
    expect(ends[1]).to.equal(ends[2]);
    expect(ends[1]).not.to.equal(page); // the miss stored a copy of its own, once
    expect((ends[1] as Buffer).equals(page)).to.equal(true);
  });

  it('Koa: every hit sets the one stored Buffer as ctx.body', async () => {
    const bodies: unknown[] = [];
    const app = new Koa();
    app.use(async (ctx, next) => {
      await next();
      bodies.push(ctx.body);
    });
    const router = new Router();
    router.get(
      '/r',
      koaCache(() => 'r', { cache: createCache() }),
      (ctx) => {
        ctx.body = page;
      },
    );
    app.use(router.routes());
    expect((await request(app.callback()).get('/r')).headers['x-cache']).to.equal('MISS');
    expect((await request(app.callback()).get('/r')).headers['x-cache']).to.equal('HIT');
    expect((await request(app.callback()).get('/r')).headers['x-cache']).to.equal('HIT');
    expect(bodies[1]).to.equal(bodies[2]);
    expect((bodies[1] as Buffer).equals(page)).to.equal(true);
  });

  it('Fastify: every hit ends the raw response with the one stored Buffer', async () => {
    const ends: unknown[] = [];
    const app = Fastify();
    app.addHook('onRequest', (_request, reply, done) => {
      recordEnds(reply.raw, ends);
      done();
    });
    app.get('/r', { onRequest: fastifyCache(() => 'r', { cache: createCache() }) }, (_request, reply) => {
      reply.type('text/plain').send(page);
    });
    await app.ready();
    try {
      expect((await request(app.server).get('/r')).headers['x-cache']).to.equal('MISS');
      expect((await request(app.server).get('/r')).headers['x-cache']).to.equal('HIT');
      expect((await request(app.server).get('/r')).headers['x-cache']).to.equal('HIT');
      expect(ends).to.have.length(3);
      expect(ends[1]).to.equal(ends[2]);
      expect((ends[1] as Buffer).equals(page)).to.equal(true);
    } finally {
      await app.close();
    }
  });
});
