import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { expect } from 'chai';
import type { Express } from 'express';
import { createCache, type GroupCache } from 'group-cache';
import request from 'supertest';

interface PerUserExample {
  createApp(options?: { cache?: GroupCache }): Express;
}

// Imported by URL: the example is plain JavaScript (examples/ ships no types), so the test states its shape.
const PER_USER = new URL('../../examples/per-user.mjs', import.meta.url).href;

describe('examples/per-user.mjs: per-user pages with the user in the key', () => {
  let createApp: PerUserExample['createApp'];
  before(async () => {
    ({ createApp } = (await import(PER_USER)) as PerUserExample);
  });

  const ada = { authorization: 'Bearer token-ada' };
  const grace = { authorization: 'Bearer token-grace' };

  function setup() {
    const cache = createCache();
    const app = createApp({ cache });
    const calls = app.locals.calls as { me: number; feed: number };
    const get = (path: string, auth: Record<string, string>) => request(app).get(path).set(auth);
    return { cache, app, calls, get };
  }

  it('two users get their own pages, each a MISS then a HIT of their own', async () => {
    const { calls, get } = setup();
    const adaMiss = await get('/me', ada);
    expect(adaMiss.headers['x-cache']).to.equal('MISS');
    expect(adaMiss.body).to.deep.equal({ user: 'ada', favorites: 0 });
    const graceMiss = await get('/me', grace);
    expect(graceMiss.headers['x-cache'], "Ada's entry is not Grace's").to.equal('MISS');
    expect(graceMiss.body).to.deep.equal({ user: 'grace', favorites: 0 });
    const adaHit = await get('/me', ada);
    const graceHit = await get('/me', grace);
    expect([adaHit.headers['x-cache'], graceHit.headers['x-cache']]).to.deep.equal(['HIT', 'HIT']);
    expect(adaHit.body.user).to.equal('ada');
    expect(graceHit.body.user).to.equal('grace');
    expect(calls.me).to.equal(2);
  });

  it('a request without a valid token is refused before the cache, and never served a cached page', async () => {
    const { app, get } = setup();
    await get('/feed', ada);
    const anonymous = await request(app).get('/feed');
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers['x-cache']).to.equal(undefined);
    expect((await get('/feed', { authorization: 'Bearer forged' })).status).to.equal(401);
  });

  it("a write by Ada expires Ada's pages only: Grace's stay hits", async () => {
    const { calls, get, app } = setup();
    for (const auth of [ada, grace]) {
      for (const path of ['/me', '/feed']) expect((await get(path, auth)).headers['x-cache']).to.equal('MISS');
    }
    const write = await request(app).put('/articles/1/favorite').set(ada);
    expect(write.status).to.equal(200);

    const adaFeed = await get('/feed', ada);
    expect(adaFeed.headers['x-cache']).to.equal('MISS');
    expect(adaFeed.body).to.deep.equal([
      { id: '1', title: 'Group keys', favorited: true },
      { id: '2', title: 'Read your writes', favorited: false },
    ]);
    expect((await get('/me', ada)).body).to.deep.equal({ user: 'ada', favorites: 1 });

    const graceFeed = await get('/feed', grace);
    expect(graceFeed.headers['x-cache']).to.equal('HIT');
    expect(graceFeed.body.every((article: { favorited: boolean }) => !article.favorited)).to.equal(true);
    expect((await get('/me', grace)).headers['x-cache']).to.equal('HIT');
    expect(calls).to.deep.equal({ me: 3, feed: 3 });
  });
});

/** Starts a demo as `npm start` does (PORT=0: a free port) and resolves with the URL it prints. */
function startDemo(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: URL }> {
  return new Promise((resolve, reject) => {
    const script = new URL(`../../examples/${file}`, import.meta.url);
    const child = spawn(process.execPath, [script.pathname], {
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = / demo on (http:\/\/\S+:\d+)/.exec(out);
      if (found) resolve({ child, url: new URL(found[1] as string) });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${err}`)));
    child.once('error', reject);
  });
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

// This machine's own non-loopback IPv4 address, if it has one: where a server on every interface is reached too.
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && !address.internal && address.family === 'IPv4')?.address;

// Issue 27, item 13: the demos printed `localhost` and listened on every interface, open inspector page included.
describe('the demos listen on loopback unless HOST is set', function () {
  this.timeout(30_000);
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill();
  });

  for (const file of ['express-users.mjs', 'koa-users.mjs', 'hono-users.mjs']) {
    it(`${file}: 127.0.0.1 by default, printed as such; every interface with HOST=0.0.0.0`, async () => {
      const local = await startDemo(file, {});
      children.push(local.child);
      expect(local.url.hostname).to.equal('127.0.0.1');
      const page = await fetch(new URL('/users/1', local.url));
      expect(page.status).to.equal(200);
      await page.arrayBuffer();
      const everywhere = await startDemo(file, { HOST: '0.0.0.0' });
      children.push(everywhere.child);
      expect(everywhere.url.hostname).to.equal('localhost');
      // The difference as another machine would see it, through this machine's own outside address.
      if (outside !== undefined) {
        expect(await accepts(outside, Number(local.url.port)), `${outside}, default`).to.equal(false);
        expect(await accepts(outside, Number(everywhere.url.port)), `${outside}, HOST=0.0.0.0`).to.equal(true);
      }
    });
  }
});

describe('examples/hono-users.mjs: the users demo on Hono', function () {
  this.timeout(30_000);
  let demo: { child: ChildProcess; url: URL } | undefined;
  afterEach(() => demo?.child.kill());

  it('a read is a MISS then a HIT; a PUT expires its user and the list; a 404 is not stored', async () => {
    demo = await startDemo('hono-users.mjs', {});
    const at = (path: string) => new URL(path, demo?.url);
    const read = async (path: string) => {
      const res = await fetch(at(path));
      return { xcache: res.headers.get('x-cache'), status: res.status, body: (await res.json()) as unknown };
    };
    expect((await read('/users/1')).xcache).to.equal('MISS');
    expect((await read('/users/1')).xcache).to.equal('HIT');
    expect((await read('/users')).xcache).to.equal('MISS');
    const put = await fetch(at('/users/1'), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada L.' }),
    });
    expect(put.status).to.equal(200);
    await put.arrayBuffer();
    const after = await read('/users/1');
    expect([after.xcache, (after.body as { name: string }).name]).to.deep.equal(['MISS', 'Ada L.']);
    expect((await read('/users')).xcache).to.equal('MISS');
    expect([(await read('/users/9')).status, (await read('/users/9')).xcache]).to.deep.equal([404, 'MISS']);
  });
});
