import { expect } from 'chai';
import { cloudflarePurger, fastlyPurger, PurgeFailure, type Purger, varnishPurger } from 'group-cache/edge';
import { purgerConformance } from 'group-cache/test-suite';
import { type EdgeKind, type FakeEdge, fakeEdge } from '../helpers/edge-apis.js';

const TIMEOUT = 800;

function purgerFor(edge: FakeEdge, options: { timeout?: number; retries?: number; retryDelay?: number } = {}): Purger {
  const bounds = { timeout: TIMEOUT, retryDelay: 10, ...options };
  if (edge.kind === 'varnish') return varnishPurger({ url: edge.url, ...bounds });
  if (edge.kind === 'fastly') return fastlyPurger({ serviceId: edge.account, token: edge.token, baseUrl: edge.url, ...bounds });
  return cloudflarePurger({ zoneId: edge.account, token: edge.token, baseUrl: edge.url, ...bounds });
}

// Each shipped purger against its documented API, held by the shipped conformance suite.
for (const kind of ['varnish', 'fastly', 'cloudflare'] as const) {
  purgerConformance(`${kind}Purger against a stand-in of its API`, {
    timeout: TIMEOUT,
    soft: kind !== 'cloudflare',
    async create() {
      const edge = await fakeEdge(kind);
      return {
        purger: purgerFor(edge),
        put: async (tags) => edge.put(tags),
        state: async (handle) => edge.state(handle),
        breakEdge: () => edge.down(),
        heal: () => edge.heal(),
        async cleanup() {
          expect(edge.shapeErrors, `requests off the documented ${kind} shape`).to.deep.equal([]);
          await edge.close();
        },
      };
    },
  });
}

describe('edge purgers: the documented request shapes', () => {
  const edges: FakeEdge[] = [];
  async function edge(kind: EdgeKind): Promise<FakeEdge> {
    const made = await fakeEdge(kind);
    edges.push(made);
    return made;
  }
  afterEach(async () => {
    for (const made of edges.splice(0)) await made.close();
  });

  it('varnishPurger: PURGE / with the tags space-separated in xkey-purge, xkey-softpurge when soft', async () => {
    const varnish = await edge('varnish');
    const purger = purgerFor(varnish);
    await purger.purge(['users', 'user_group_1'], { soft: false });
    await purger.purge(['posts'], { soft: true });
    expect(varnish.seen.map(({ method, path }) => `${method} ${path}`)).to.deep.equal(['PURGE /', 'PURGE /']);
    expect(varnish.seen[0]?.headers['xkey-purge']).to.equal('users user_group_1');
    expect(varnish.seen[1]?.headers['xkey-softpurge']).to.equal('posts');
    expect(varnish.seen[1]?.headers['xkey-purge']).to.equal(undefined);
    expect(purger.name).to.equal(`varnish ${varnish.url}`);
  });

  it('varnishPurger: a long list goes in several requests, each header within 8 KiB', async () => {
    const varnish = await edge('varnish');
    const tags = Array.from({ length: 400 }, (_, i) => `group_${i}_${'x'.repeat(40)}`);
    await purgerFor(varnish).purge(tags, { soft: false });
    expect(varnish.seen.length).to.be.above(1);
    for (const request of varnish.seen) expect(String(request.headers['xkey-purge']).length).to.be.below(8 * 1024 - 20);
    expect(varnish.seen.flatMap((request) => String(request.headers['xkey-purge']).split(' '))).to.deep.equal(tags);
  });

  it('fastlyPurger: POST /service/{id}/purge, Fastly-Key, JSON surrogate_keys, 256 a request, Fastly-Soft-Purge: 1 when soft', async () => {
    const fastly = await edge('fastly');
    const tags = Array.from({ length: 600 }, (_, i) => `g${i}`);
    await purgerFor(fastly).purge(tags, { soft: true });
    expect(fastly.seen.map((request) => JSON.parse(request.body).surrogate_keys.length)).to.deep.equal([256, 256, 88]);
    for (const request of fastly.seen) {
      expect(request.method).to.equal('POST');
      expect(request.path).to.equal(`/service/${fastly.account}/purge`);
      expect(request.headers['fastly-key']).to.equal(fastly.token);
      expect(request.headers['fastly-soft-purge']).to.equal('1');
      expect(request.headers['content-type']).to.equal('application/json');
    }
    await purgerFor(fastly).purge(['users'], { soft: false });
    expect(fastly.seen.at(-1)?.headers['fastly-soft-purge']).to.equal(undefined);
    expect(fastly.shapeErrors).to.deep.equal([]);
  });

  it('cloudflarePurger: POST /zones/{id}/purge_cache, Bearer token, JSON tags, 100 a request; soft is a purge', async () => {
    const cloudflare = await edge('cloudflare');
    const tags = Array.from({ length: 250 }, (_, i) => `g${i}`);
    await purgerFor(cloudflare).purge(tags, { soft: true });
    expect(cloudflare.seen.map((request) => JSON.parse(request.body).tags.length)).to.deep.equal([100, 100, 50]);
    for (const request of cloudflare.seen) {
      expect(request.path).to.equal(`/client/v4/zones/${cloudflare.account}/purge_cache`);
      expect(request.headers.authorization).to.equal(`Bearer ${cloudflare.token}`);
    }
    expect(cloudflare.shapeErrors).to.deep.equal([]);
  });

  it('a 5xx or a 429 is retried with backoff (Retry-After honoured) until it lands', async () => {
    const fastly = await edge('fastly');
    fastly.failNext(1, 503);
    fastly.failNext(1, 429, '0');
    const handle = fastly.put(['users']);
    await purgerFor(fastly).purge(['users'], { soft: false });
    expect(fastly.seen.length).to.equal(3);
    expect(fastly.state(handle)).to.equal('gone');
  });

  it('a refusal that will not pass (403) is not retried: it rejects at once with a PurgeFailure naming the status', async () => {
    const cloudflare = await edge('cloudflare');
    cloudflare.failNext(5, 403);
    const failure = await purgerFor(cloudflare)
      .purge(['users'], { soft: false })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).to.be.instanceOf(PurgeFailure);
    expect((failure as PurgeFailure).status).to.equal(403);
    expect(cloudflare.seen.length).to.equal(1);
  });

  it('cloudflarePurger: a 200 whose JSON says success: false is a failure', async () => {
    const cloudflare = await edge('cloudflare');
    cloudflare.failNext(1, 200);
    await purgerFor(cloudflare, { retries: 0 })
      .purge(['users'], { soft: false })
      .then(
        () => expect.fail('resolved'),
        (error: unknown) => expect(String(error)).to.match(/without success/),
      );
  });

  it('retries stop at the timeout: a hung edge rejects within it', async () => {
    const varnish = await edge('varnish');
    varnish.hang();
    const started = Date.now();
    await purgerFor(varnish, { timeout: 300 })
      .purge(['users'], { soft: false })
      .then(
        () => expect.fail('resolved'),
        (error: unknown) => expect(String(error)).to.match(/varnish .*(abort|timeout|gave up)/i),
      );
    expect(Date.now() - started).to.be.below(1_500);
  });

  it('bad options are TypeErrors naming the option', () => {
    expect(() => varnishPurger({ url: 'not a url' })).to.throw(TypeError, /option url/);
    expect(() => fastlyPurger({ serviceId: '', token: 't' })).to.throw(TypeError, /option serviceId/);
    expect(() => cloudflarePurger({ zoneId: 'z', token: '' })).to.throw(TypeError, /option token/);
    expect(() => varnishPurger({ url: 'http://x', timeout: 0 })).to.throw(TypeError, /option timeout/);
    expect(() => varnishPurger({ url: 'http://x', retries: -1 })).to.throw(TypeError, /option retries/);
  });
});
