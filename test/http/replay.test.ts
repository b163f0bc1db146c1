import { expect } from 'chai';
import type { CachedEntry } from 'group-cache';
import { replayEntry } from '../../lib/http/replay.js';

function stored(): CachedEntry {
  return {
    status: 200,
    headers: [
      ['content-type', 'text/plain'],
      ['cache-control', ['public', 'max-age=60']],
    ],
    body: Buffer.from('hello'),
    etag: '"e"',
    vary: [],
    tags: ['k:x'],
    startedAt: 1,
    storedAt: 0,
    freshUntil: 60_000,
    staleUntil: 60_000,
  };
}

describe('replayEntry', () => {
  it('replayEntry() hands a list-valued header out as a copy: res.appendHeader on it cannot grow the stored entry', () => {
    const entry = stored();
    for (const requestHeaders of [{}, { 'if-none-match': '"e"' }, { range: 'bytes=0-1' }]) {
      const replay = replayEntry(entry, 'GET', requestHeaders, 0, []);
      const control = replay.headers.find(([name]) => name === 'cache-control');
      const value = control?.[1];
      expect(value, JSON.stringify(requestHeaders)).to.deep.equal(['public', 'max-age=60']);
      if (Array.isArray(value)) value.push('no-transform');
    }
    expect(entry.headers[1]?.[1]).to.deep.equal(['public', 'max-age=60']);
  });

  it('replayEntry() keeps string-valued stored pairs as they are', () => {
    const entry = stored();
    const replay = replayEntry(entry, 'GET', {}, 0, []);
    expect(replay.headers[0]).to.equal(entry.headers[0]);
  });
});
