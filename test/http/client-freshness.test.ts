/*
 * `ttl: 'headers'` (issue 27, item 5): a response whose freshness information is invalid is stale (RFC 9111 §1.2.2,
 * §4.2.1) and is not stored, with a reason; valid information still sets the entry's TTL.
 */
import { expect } from 'chai';
import { createCache, type GroupCache, MAX_TTL, type NotStoredEvent } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { headerTtl, invalidFreshness } from '../../lib/http/client-freshness.js';
import { express, request } from '../helpers/express-app.js';

const NOW = 1_700_000_000_000;

describe('ttl from headers: invalid freshness is stale', () => {
  describe('headerTtl(headers, now)', () => {
    const invalid = [
      'max-age=-1',
      'max-age=abc',
      'max-age=1.5',
      'max-age=',
      'max-age',
      'public, max-age=+60',
      'max-age=1e3',
      's-maxage=-1, max-age=60',
      's-maxage=60, max-age=abc',
      's-maxage="-5"',
      'max-age=60, max-age=120',
    ];
    for (const value of invalid) {
      it(`Cache-Control: ${value} gives no lifetime (0), never the default`, () => {
        expect(headerTtl({ 'cache-control': value }, NOW)).to.equal(0);
        expect(invalidFreshness(value)).to.be.a('string');
      });
    }

    it('names the directive that is invalid, as written', () => {
      expect(invalidFreshness('public, max-age=-1')).to.equal('max-age=-1');
      expect(invalidFreshness('S-MAXAGE=x, max-age=60')).to.equal('S-MAXAGE=x');
      expect(invalidFreshness(['public', 'max-age=1.5'])).to.equal('max-age=1.5');
    });

    it('valid directives still set the TTL: s-maxage first, the quoted form, a repeat that agrees, Expires', () => {
      expect(headerTtl({ 'cache-control': 'public, max-age=60' }, NOW)).to.equal(60_000);
      expect(headerTtl({ 'cache-control': 's-maxage=30, max-age=60' }, NOW)).to.equal(30_000);
      expect(headerTtl({ 'cache-control': 'max-age="60"' }, NOW)).to.equal(60_000);
      expect(headerTtl({ 'cache-control': 'max-age=60, max-age=060' }, NOW)).to.equal(60_000);
      expect(headerTtl({ 'cache-control': 'max-age=0' }, NOW)).to.equal(0);
      expect(headerTtl({ 'cache-control': 'max-age=99999999999' }, NOW)).to.equal(MAX_TTL);
      expect(headerTtl({ 'cache-control': 'public' }, NOW)).to.equal(undefined);
      expect(headerTtl({}, NOW)).to.equal(undefined);
      expect(headerTtl({ expires: new Date(NOW + 5_000).toUTCString() }, NOW)).to.equal(5_000);
      expect(invalidFreshness('public, max-age=60, s-maxage=30')).to.equal(undefined);
      expect(invalidFreshness(undefined)).to.equal(undefined);
    });
  });

  describe("a route with ttl: 'headers' (Express, memory store)", () => {
    let cache: GroupCache;
    let notStored: NotStoredEvent[];
    beforeEach(() => {
      cache = createCache();
      notStored = [];
      cache.on('notStored', (event) => notStored.push(event));
    });
    afterEach(() => cache.close());

    function app(cacheControl: string): express.Express {
      const server = express();
      let version = 0;
      server.get(
        '/x',
        groupCache(() => 'x', { cache, ttl: 'headers' }),
        (_req, res) => {
          res.set('Cache-Control', cacheControl).send(`v${++version}`);
        },
      );
      return server;
    }

    for (const value of ['max-age=-1', 'max-age=abc', 'max-age=1.5', 's-maxage=-1, max-age=60']) {
      it(`Cache-Control: ${value} is not stored, and the reason says why`, async () => {
        const server = app(value);
        const first = await request(server).get('/x');
        expect(first.text).to.equal('v1');
        const second = await request(server).get('/x');
        expect(second.headers['x-cache']).to.not.equal('HIT');
        expect(second.text).to.equal('v2');
        const stats = cache.stats();
        expect(stats.stores).to.equal(0);
        expect(stats.notStoredReasons['no-ttl']).to.equal(2);
        expect(notStored.map((event) => event.reason)).to.deep.equal(['no-ttl', 'no-ttl']);
        expect(notStored[0]?.detail).to.match(/no freshness lifetime/);
      });
    }

    it('Cache-Control: max-age=60 is stored and hit', async () => {
      const server = app('max-age=60');
      expect((await request(server).get('/x')).text).to.equal('v1');
      const second = await request(server).get('/x');
      expect(second.headers['x-cache']).to.equal('HIT');
      expect(second.text).to.equal('v1');
      expect(notStored).to.deep.equal([]);
    });
  });
});
