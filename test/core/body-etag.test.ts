import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import etag from 'etag';
import { bodyEtag } from '../../lib/core/body-etag.js';

describe('bodyEtag', () => {
  // Entries stored by an earlier version, or by another instance, carry etag(body): a client revalidating with one
  // must get its 304 from this one too.
  it('gives the etag package tag of the same bytes, empty, small, odd-sized and large', () => {
    for (const size of [0, 1, 27, 1024, 65_537, 1_048_576]) {
      const body = randomBytes(size);
      expect(bodyEtag(body), `${size} bytes`).to.equal(etag(body));
    }
  });

  it('hashes a Uint8Array view by its own bytes, not its backing buffer', () => {
    const backing = randomBytes(64);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 8, 16);
    expect(bodyEtag(view)).to.equal(etag(Buffer.from(view)));
  });
});
