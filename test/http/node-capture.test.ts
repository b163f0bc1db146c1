import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import express4 from 'express4';
import { createCache, type GroupCache } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { express, getRaw, manualClock, request, serve } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';

type Handler = (req: Request, res: Response, next: NextFunction) => void;

// Express 4 and 5 write responses differently (res.send, res.sendFile, writeHead): every case runs on both.
for (const [version, makeApp] of [
  ['Express 5', () => express()],
  ['Express 4', () => express4() as unknown as express.Express],
] as const) {
  /** An app with one cached route at /r whose handler is `handler`; counts handler runs. */
  function appWith(handler: Handler, cache: GroupCache, options: Parameters<typeof groupCache>[1] = {}) {
    const app = makeApp();
    app.set('env', 'test'); // keep Express from printing the errors these tests provoke
    const calls = { count: 0 };
    app.get(
      '/r',
      groupCache(() => ({ key: 'r', groups: ['g'] }), { cache, ...options }),
      (req, res, next) => {
        calls.count++;
        handler(req, res, next);
      },
    );
    return { app, calls };
  }

  async function missThenHit(handler: Handler, cache = createCache(), options = {}) {
    const { app, calls } = appWith(handler, cache, options);
    const miss = await getRaw(app, '/r');
    const hit = await getRaw(app, '/r');
    return { miss, hit, calls, app, cache };
  }

  describe(`${version}: response capture`, () => {
    describe('capture forms replay byte-identical', () => {
      it('res.send(string)', async () => {
        const { miss, hit, calls } = await missThenHit((_req, res) => {
          res.send('héllo wörld ✓');
        });
        expect(miss.headers['x-cache']).to.equal('MISS');
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.body.toString()).to.equal('héllo wörld ✓');
        expect(hit.headers['content-type']).to.equal(miss.headers['content-type']);
        expect(calls.count).to.equal(1);
      });

      it('res.json(object)', async () => {
        const { miss, hit } = await missThenHit((_req, res) => {
          res.json({ a: 1, b: [true, null] });
        });
        expect(hit.body.equals(miss.body)).to.equal(true);
        expect(JSON.parse(hit.body.toString())).to.deep.equal({ a: 1, b: [true, null] });
        expect(hit.headers['content-type']).to.match(/application\/json/);
      });

      it('res.send(Buffer) with random binary bytes', async () => {
        const body = randomBytes(64 * 1024);
        const { miss, hit } = await missThenHit((_req, res) => {
          res.type('application/octet-stream').send(body);
        });
        expect(miss.body.equals(body)).to.equal(true);
        expect(hit.body.equals(body)).to.equal(true);
        expect(hit.headers['content-length']).to.equal(String(body.length));
      });

      it('res.sendFile()', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'gc-'));
        const file = join(dir, 'blob.bin');
        const body = randomBytes(200_000);
        writeFileSync(file, body);
        const { hit, calls } = await missThenHit((_req, res, next) => res.sendFile(file, (err) => err && next(err)));
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.body.equals(body)).to.equal(true);
        expect(calls.count).to.equal(1);
      });

      it('a stream piped into res (chunked on the miss, Content-Length on the hit)', async () => {
        const parts = [randomBytes(1000), randomBytes(5000), randomBytes(3)];
        const { miss, hit } = await missThenHit((_req, res) => {
          res.type('bin');
          Readable.from(parts).pipe(res);
        });
        const whole = Buffer.concat(parts);
        expect(miss.headers['transfer-encoding']).to.equal('chunked');
        expect(hit.headers['transfer-encoding']).to.equal(undefined);
        expect(hit.headers['content-length']).to.equal(String(whole.length));
        expect(hit.body.equals(whole)).to.equal(true);
      });

      it('res.write(chunk, encoding) with hex, base64, latin1 and utf8 strings', async () => {
        const { miss, hit } = await missThenHit((_req, res) => {
          res.setHeader('content-type', 'application/octet-stream');
          res.write('deadbeef', 'hex');
          res.write(Buffer.from('AQID').toString(), 'base64');
          res.write('\u00e9', 'latin1');
          res.write('✓');
          res.write(new Uint8Array([7, 8, 9]));
          res.end();
        });
        const expected = Buffer.concat([
          Buffer.from('deadbeef', 'hex'),
          Buffer.from('AQID', 'base64'),
          Buffer.from('\u00e9', 'latin1'),
          Buffer.from('✓'),
          Buffer.from([7, 8, 9]),
        ]);
        expect(miss.body.equals(expected)).to.equal(true);
        expect(hit.body.equals(expected)).to.equal(true);
      });

      it('res.writeHead(status, headers object)', async () => {
        const { hit } = await missThenHit((_req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/x-object', 'X-Extra': 'yes' });
          res.end('obj');
        });
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.headers['content-type']).to.equal('text/x-object');
        expect(hit.headers['x-extra']).to.equal('yes');
        expect(hit.body.toString()).to.equal('obj');
      });

      it('res.writeHead(status, headers array)', async () => {
        const { hit } = await missThenHit((_req, res) => {
          res.writeHead(200, ['Content-Type', 'text/x-array', 'X-Extra', 'arr']);
          res.end('arr');
        });
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.headers['content-type']).to.equal('text/x-array');
        expect(hit.headers['x-extra']).to.equal('arr');
        expect(hit.body.toString()).to.equal('arr');
      });

      it('res.end() with no body stores an empty 200', async () => {
        const { hit, calls } = await missThenHit((_req, res) => {
          res.end();
        });
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.headers['content-length']).to.equal('0');
        expect(hit.body.length).to.equal(0);
        expect(calls.count).to.equal(1);
      });

      it('res.end(cb) calls the callback', async () => {
        let called = 0;
        const { hit } = await missThenHit((_req, res) => {
          res.write('x');
          res.end(() => called++);
        });
        expect(called).to.equal(1);
        expect(hit.body.toString()).to.equal('x');
      });

      it('res.end(chunk, encoding, cb) keeps encoding and callback', async () => {
        let called = 0;
        const { miss, hit } = await missThenHit((_req, res) => {
          res.end('68656c6c6f', 'hex', () => called++);
        });
        expect(called).to.equal(1);
        expect(miss.body.toString()).to.equal('hello');
        expect(hit.body.toString()).to.equal('hello');
      });

      it('res.write() keeps its return value (back-pressure is the caller’s)', async () => {
        const returned: boolean[] = [];
        await missThenHit((_req, res) => {
          returned.push(res.write('a'));
          res.end();
        });
        expect(returned).to.deep.equal([true]);
      });
    });

    describe('what is replayed', () => {
      it('replays the exact status and end-to-end headers, not hop-by-hop ones', async () => {
        const { hit } = await missThenHit(
          (_req, res) => {
            res.status(203);
            res.setHeader('Connection', 'X-Secret-Hop');
            res.setHeader('X-Secret-Hop', 'hop');
            res.setHeader('Keep-Alive', 'timeout=5');
            res.setHeader('X-Custom', 'kept');
            res.setHeader('Link', ['</a>; rel=preload', '</b>; rel=preload']);
            res.send('ok');
          },
          createCache({ statuses: [203] }),
        );
        expect(hit.status).to.equal(203);
        expect(hit.headers['x-cache']).to.equal('HIT');
        expect(hit.headers['x-custom']).to.equal('kept');
        expect(hit.headers.link).to.equal('</a>; rel=preload, </b>; rel=preload');
        expect(hit.headers['x-secret-hop']).to.equal(undefined);
        expect(hit.headers['keep-alive']).to.not.equal('timeout=5');
      });

      it('keeps the handler’s own ETag and never advertises the cache TTL as max-age', async () => {
        const { hit } = await missThenHit((_req, res) => {
          res.setHeader('ETag', '"v1"');
          res.setHeader('Cache-Control', 'no-cache');
          res.send('tagged');
        });
        expect(hit.headers.etag).to.equal('"v1"');
        expect(hit.headers['cache-control']).to.equal('no-cache');
      });

      it('computes an ETag when the handler set none', async () => {
        const { hit } = await missThenHit((_req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end('no tag');
        });
        expect(hit.headers.etag).to.match(/^"[^"]+"$/);
      });

      it('sends Age in whole seconds from the injected clock', async () => {
        const clock = manualClock();
        const cache = createCache({ now: clock.now });
        const { app } = appWith((_req, res) => res.send('aged'), cache);
        await getRaw(app, '/r');
        clock.advance(7_400);
        const hit = await getRaw(app, '/r');
        expect(hit.headers.age).to.equal('7');
      });

      it('does not store the X-Cache header it set on the miss', async () => {
        const { hit } = await missThenHit((_req, res) => res.send('x'));
        expect(hit.headers['x-cache']).to.equal('HIT');
      });

      it('uses a custom header name, or none', async () => {
        const named = await missThenHit((_req, res) => res.send('x'), createCache({ header: 'X-GC' }));
        expect(named.hit.headers['x-gc']).to.equal('HIT');
        expect(named.hit.headers['x-cache']).to.equal(undefined);
        const none = await missThenHit((_req, res) => res.send('x'), createCache({ header: false }));
        expect(none.hit.headers['x-cache']).to.equal(undefined);
        expect(none.calls.count).to.equal(1);
      });
    });

    describe('responses that are not stored', () => {
      it('a body over maxEntryBytes streams fully to the client but is not stored', async () => {
        const body = randomBytes(300_000);
        const { miss, hit, calls } = await missThenHit(
          (_req, res) => {
            res.type('bin');
            Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]).pipe(res);
          },
          createCache({ maxEntryBytes: 150_000 }),
        );
        expect(miss.body.equals(body)).to.equal(true);
        expect(hit.body.equals(body)).to.equal(true);
        expect(hit.headers['x-cache']).to.equal('MISS');
        expect(calls.count).to.equal(2);
      });

      it('an error passed to next() (500) is not stored', async () => {
        let n = 0;
        const { miss, hit, calls } = await missThenHit((_req, res, next) => {
          if (n++ === 0) next(new Error('boom'));
          else res.send('fine');
        });
        expect(miss.status).to.equal(500);
        expect(hit.status).to.equal(200);
        expect(hit.headers['x-cache']).to.equal('MISS');
        expect(calls.count).to.equal(2);
      });

      it('a response aborted by the client stores nothing', async () => {
        const cache = createCache();
        const release = deferred();
        const { app, calls } = appWith((_req, res) => {
          res.type('bin');
          res.write(randomBytes(1000));
          void release.promise.then(() => res.end(randomBytes(10)));
        }, cache);
        const server = await serve(app);
        try {
          await new Promise<void>((resolve, reject) => {
            const req = httpGet(`${server.url}/r`, (res) => {
              res.once('data', () => {
                req.destroy();
                resolve();
              });
            });
            req.on('error', (error) => (error.message.includes('socket hang up') ? resolve() : reject(error)));
          });
          await new Promise((resolve) => setTimeout(resolve, 50));
          release.resolve();
          await new Promise((resolve) => setTimeout(resolve, 50));
          expect(cache.stats().stores).to.equal(0);
          const after = await getRaw(server.url, '/r');
          expect(after.headers['x-cache']).to.equal('MISS');
          expect(calls.count).to.equal(2);
        } finally {
          await server.close();
        }
      });

      it('a HEAD miss is not stored as the GET representation', async () => {
        const cache = createCache();
        const { app, calls } = appWith((_req, res) => res.send('full body'), cache);
        const head = await request(app).head('/r');
        expect(head.headers['x-cache']).to.equal('MISS');
        const first = await getRaw(app, '/r');
        expect(first.headers['x-cache']).to.equal('MISS');
        expect(first.body.toString()).to.equal('full body');
        const second = await getRaw(app, '/r');
        expect(second.headers['x-cache']).to.equal('HIT');
        expect(second.body.toString()).to.equal('full body');
        expect(calls.count).to.equal(2);
      });

      it('a 304 produced by the handler is not stored', async () => {
        const cache = createCache();
        const { app, calls } = appWith((_req, res) => {
          res.setHeader('ETag', '"fixed"');
          res.send('body');
        }, cache);
        const conditional = await request(app).get('/r').set('If-None-Match', '"fixed"');
        expect(conditional.status).to.equal(304);
        const full = await getRaw(app, '/r');
        expect(full.status).to.equal(200);
        expect(full.body.toString()).to.equal('body');
        expect(full.headers['x-cache']).to.equal('MISS');
        expect(calls.count).to.equal(2);
      });
    });

    describe('conditional requests and HEAD on hits', () => {
      it('answers If-None-Match with 304 for strong, weak and listed tags', async () => {
        const { app } = await missThenHit((_req, res) => {
          res.setHeader('ETag', '"abc"');
          res.send('x');
        });
        for (const tag of ['"abc"', 'W/"abc"', '"zzz", "abc"', '*']) {
          const res = await request(app).get('/r').set('If-None-Match', tag);
          expect(res.status, tag).to.equal(304);
          expect(res.headers['x-cache']).to.equal('HIT');
          expect(res.headers.etag).to.equal('"abc"');
          expect(res.text ?? '').to.equal('');
        }
        const other = await request(app).get('/r').set('If-None-Match', '"nope"');
        expect(other.status).to.equal(200);
      });

      it('answers HEAD from the GET entry without a body', async () => {
        const { app, calls } = await missThenHit((_req, res) => res.send('twelve bytes'));
        const head = await request(app).head('/r');
        expect(head.status).to.equal(200);
        expect(head.headers['x-cache']).to.equal('HIT');
        expect(head.headers['content-length']).to.equal('12');
        expect(calls.count).to.equal(1);
      });
    });
  });
}
