/*
 * The rules every adapter shares, each tested once here on its own; the conformance suite (test/adapters/conformance.test.ts)
 * runs them through every adapter.
 */
import { PassThrough, Readable, Stream } from 'node:stream';
import { expect } from 'chai';
import { answerExpiryFailure, type HeldWrite } from '../../lib/http/expiry-failure.js';
import { splitUrl } from '../../lib/http/inspector.js';
import { EXPIRY_MIDDLEWARE, expiryMountedLate, type MountedLayer } from '../../lib/http/mount-order.js';
import {
  declaredEnteredAt,
  enteredAt,
  MARK,
  markDeclared,
  markExpiryPath,
  onDeclaredPath,
  onExpiryPath,
} from '../../lib/http/request-mark.js';
import { handlerFailed } from '../../lib/http/stale-fallback.js';
import { discardBody, isNodeStream } from '../../lib/http/streams.js';

const expiry: MountedLayer = { name: EXPIRY_MIDDLEWARE, answersRoutes: false };
const routes: MountedLayer = { name: 'router', answersRoutes: true };
const other: MountedLayer = { name: 'jsonParser', answersRoutes: false };

describe('adapter rules (lib/http)', () => {
  describe('expiryMountedLate(layers)', () => {
    it('is true only when the first app-wide expireGroups() comes after something that answers routes', () => {
      expect(expiryMountedLate([other, expiry, routes])).to.equal(false);
      expect(expiryMountedLate([other, routes, expiry])).to.equal(true);
      expect(expiryMountedLate([expiry, routes, expiry])).to.equal(false);
      expect(expiryMountedLate([routes, other])).to.equal(false);
      expect(expiryMountedLate([])).to.equal(false);
    });
    it('does not take a route-level expireGroups() for the app-wide one', () => {
      const inRoute: MountedLayer = { name: EXPIRY_MIDDLEWARE, answersRoutes: true };
      expect(expiryMountedLate([inRoute, expiry])).to.equal(true);
    });
  });

  describe('isNodeStream(body) and discardBody(body)', () => {
    it('takes any Stream and a Readable look-alike, and nothing else', () => {
      expect(isNodeStream(Readable.from(['a']))).to.equal(true);
      expect(isNodeStream(new Stream())).to.equal(true);
      const lookAlike = { readable: true, pipe() {}, read() {}, readableObjectMode: false, destroy() {}, destroyed: false };
      expect(isNodeStream(lookAlike)).to.equal(true);
      for (const body of [null, undefined, 'text', Buffer.from('x'), { pipe() {} }, { ...lookAlike, readable: false }]) {
        expect(isNodeStream(body), String(body)).to.equal(false);
      }
    });
    it('destroys a stream body and leaves anything else alone', () => {
      const stream = new PassThrough();
      discardBody(stream);
      expect(stream.destroyed).to.equal(true);
      expect(() => discardBody('text')).to.not.throw();
      expect(() => discardBody(new Stream())).to.not.throw();
    });
  });

  describe('request marks', () => {
    it('kept in a WeakMap: set by markExpiryPath, the entry time kept from the first mark', () => {
      const request = {};
      expect(onExpiryPath(request)).to.equal(false);
      markExpiryPath(request);
      const at = enteredAt(request);
      markExpiryPath(request);
      expect(onExpiryPath(request)).to.equal(true);
      expect(enteredAt(request)).to.equal(at);
    });
    it('kept in a declared property: the same meaning, and the Node request stands in when unmarked', () => {
      const request: Record<symbol, unknown> = { [MARK]: null };
      const raw = {};
      markExpiryPath(raw);
      expect(onDeclaredPath(request)).to.equal(false);
      expect(declaredEnteredAt(request, raw)).to.equal(enteredAt(raw));
      markDeclared(request);
      const at = request[MARK];
      markDeclared(request);
      expect(onDeclaredPath(request)).to.equal(true);
      expect(request[MARK]).to.equal(at);
      expect(declaredEnteredAt(request, raw)).to.equal(at);
    });
  });

  it("answerExpiryFailure(write) drops the write's body headers and stream, then answers the 503", () => {
    const headers = new Map<string, string>([
      ['Content-Type', 'application/json'],
      ['content-length', '2'],
      ['ETag', '"x"'],
      ['x-request-id', '7'],
    ]);
    const body = new PassThrough();
    let answered: unknown[] = [];
    const write: HeldWrite = {
      sent: () => false,
      proceed: () => expect.fail('the write must not go out'),
      body,
      headerNames: () => [...headers.keys()],
      removeHeader: (name) => headers.delete(name),
      answer: (...args) => {
        answered = args;
      },
      request: () => ({ method: 'POST', route: '/users/:id', requestId: '7' }),
    };
    answerExpiryFailure(write);
    expect(body.destroyed).to.equal(true);
    expect([...headers.keys()]).to.deep.equal(['x-request-id']);
    expect(answered.slice(0, 2)).to.deep.equal([503, 'text/plain; charset=utf-8']);
    expect(answered[2]).to.match(/cache invalidation could not be recorded/);
  });

  it('splitUrl(url) and handlerFailed(status)', () => {
    expect(splitUrl('/_cache/api?since=3&x=1')).to.deep.equal({ fullPath: '/_cache/api', query: 'since=3&x=1' });
    expect(splitUrl('/_cache')).to.deep.equal({ fullPath: '/_cache', query: '' });
    expect([200, 404, 499, 500, 503].map(handlerFailed)).to.deep.equal([false, false, false, true, true]);
  });
});
