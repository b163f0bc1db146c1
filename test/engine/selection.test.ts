import { expect } from 'chai';
import compression from 'compression';
import { createCache, memoryStore } from 'group-cache';
import { groupCache } from 'group-cache/express';
import { alternateId, NO_ENTRY, suits } from '../../lib/engine/selection.js';
import { SeenVary } from '../../lib/http/vary.js';
import { testEntry } from '../helpers/entries.js';
import { express, request } from '../helpers/express-app.js';
import { sendRaw } from '../helpers/http.js';

const gzipped = testEntry({
  headers: [
    ['content-type', 'text/plain'],
    ['content-encoding', 'br'],
  ],
  vary: [['accept-encoding', 'zstd']],
});

function seen(names: string[], headers: Record<string, string>, complete = true) {
  const vary = new SeenVary();
  vary.learn(names);
  return vary.selection(headers, 'key', 1000, false, complete);
}

describe('engine: which stored entry answers a request (selection, as data)', () => {
  it('an entry without Vary suits any selection that reuses; a refresh takes none', () => {
    expect(suits(testEntry(), seen([], {}, false))).to.equal(true);
    expect(suits(testEntry(), NO_ENTRY)).to.equal(false);
  });

  it('an entry varying on names the request has no value for is answered with those names, or refused once complete', () => {
    const entry = testEntry({ vary: [['accept-language', 'de']] });
    expect(suits(entry, seen([], {}, false))).to.deep.equal(['accept-language']);
    expect(suits(entry, seen([], {}, true))).to.equal(false);
    expect(suits(entry, seen(['accept-language'], { 'accept-language': 'de' }))).to.equal(true);
    expect(suits(entry, seen(['accept-language'], { 'accept-language': 'fr' }))).to.equal(false);
  });

  it('a coding class match still refuses a coding the request excludes (a compressor that chose oddly)', () => {
    expect(suits(gzipped, seen(['accept-encoding'], { 'accept-encoding': 'zstd, br' }))).to.equal(true);
    expect(suits(gzipped, seen(['accept-encoding'], { 'accept-encoding': 'zstd, gzip' }))).to.equal(false);
  });

  it("another coding class's request is sent to its own variant's id", () => {
    expect(alternateId(gzipped, seen(['accept-encoding'], { 'accept-encoding': 'gzip' }))).to.equal(
      'k:key\naccept-encoding:gzip',
    );
    expect(alternateId(gzipped, seen(['accept-encoding'], { 'accept-encoding': 'zstd' }))).to.equal(undefined);
  });

  it('a route that never saw Vary hits an entry another instance stored with it, after asking once more', async () => {
    const store = memoryStore();
    const app = (cache: ReturnType<typeof createCache>) => {
      const served = { count: 0 };
      const app = express();
      app.use(compression({ threshold: 0 }));
      app.get(
        '/text',
        groupCache(() => ({ key: 'text', groups: ['t'] }), { cache }),
        (_req, res) => {
          served.count += 1;
          res.type('text/plain').send('x'.repeat(2000));
        },
      );
      return { app, served };
    };
    const first = app(createCache({ store }));
    const second = app(createCache({ store }));
    const filled = await sendRaw(request(first.app).get('/text').set('accept-encoding', 'gzip'));
    expect(filled.headers['content-encoding']).to.equal('gzip');
    const read = await sendRaw(request(second.app).get('/text').set('accept-encoding', 'gzip'));
    expect(read.headers['x-cache']).to.equal('HIT');
    expect(second.served.count).to.equal(0);
  });
});
