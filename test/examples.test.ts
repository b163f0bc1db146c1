import { expect } from 'chai';
import type { Express } from 'express';
import { createCache, type GroupCache } from 'group-cache';
import request from 'supertest';

interface PerUserExample {
  createApp(options?: { cache?: GroupCache }): Express;
}

// Imported by URL: the example is plain JavaScript (examples/ ships no types), so the test states its shape.
const PER_USER = new URL('../examples/per-user.mjs', import.meta.url).href;

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
