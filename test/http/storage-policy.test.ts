import { expect } from 'chai';
import { type HeaderMap, headerValue, storableHeaders } from '../../lib/http/headers.js';
import { requestRefusal, responseRefusal, type StoragePolicy } from '../../lib/http/storage-policy.js';
import { SeenVary, varyKeySuffix, varyValues } from '../../lib/http/vary.js';

// The reason each refusal gives (for logs and events), or undefined when the request or response may be cached.
const requestBypassReason = (method: string, headers: HeaderMap, policy: StoragePolicy): string | undefined =>
  requestRefusal(method, headers, policy)?.reason;
const responseRejectReason = (status: number, headers: HeaderMap, policy: StoragePolicy): string | undefined =>
  responseRefusal(status, headers, policy)?.reason;

const policy: StoragePolicy = {
  statuses: new Set([200]),
  allowAuthorization: false,
  allowSetCookie: false,
  allowPrivate: false,
  maxEntryBytes: 1000,
};

describe('storage policy', () => {
  describe('requestRefusal(method, headers, policy)', () => {
    it('lets GET and HEAD through', () => {
      expect(requestBypassReason('GET', {}, policy)).to.equal(undefined);
      expect(requestBypassReason('HEAD', {}, policy)).to.equal(undefined);
    });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      it(`bypasses ${method}`, () => expect(requestBypassReason(method, {}, policy)).to.equal(`${method} request`));
    }
    it('bypasses a request with Authorization', () => {
      expect(requestBypassReason('GET', { authorization: 'Bearer x' }, policy)).to.equal('Authorization header');
    });
    it('lets Authorization through when the route opts in', () => {
      expect(requestBypassReason('GET', { authorization: 'Bearer x' }, { ...policy, allowAuthorization: true })).to.equal(
        undefined,
      );
    });
  });

  describe('responseRefusal(status, headers, policy)', () => {
    it('accepts a plain 200', () =>
      expect(responseRejectReason(200, { 'content-type': 'text/plain' }, policy)).to.equal(undefined));
    it('refuses statuses outside the allowed set', () => {
      for (const status of [201, 204, 206, 301, 304, 404, 500]) {
        expect(responseRejectReason(status, {}, policy)).to.equal(`status ${status}`);
      }
    });
    it('accepts a status the route allows', () => {
      expect(responseRejectReason(404, {}, { ...policy, statuses: new Set([200, 404]) })).to.equal(undefined);
    });
    it('refuses Set-Cookie unless allowed', () => {
      expect(responseRejectReason(200, { 'set-cookie': ['a=1'] }, policy)).to.equal('Set-Cookie header');
      expect(responseRejectReason(200, { 'set-cookie': ['a=1'] }, { ...policy, allowSetCookie: true })).to.equal(undefined);
    });
    it('refuses Cache-Control no-store, in any case and position', () => {
      expect(responseRejectReason(200, { 'cache-control': 'max-age=5, No-Store' }, policy)).to.equal('Cache-Control: no-store');
    });
    it('refuses Cache-Control private, with or without a field list, unless allowed', () => {
      expect(responseRejectReason(200, { 'cache-control': 'private' }, policy)).to.equal('Cache-Control: private');
      expect(responseRejectReason(200, { 'cache-control': 'private="set-cookie", max-age=1' }, policy)).to.equal(
        'Cache-Control: private',
      );
      expect(responseRejectReason(200, { 'cache-control': 'private' }, { ...policy, allowPrivate: true })).to.equal(undefined);
    });
    it('does not mistake a directive argument for a directive', () => {
      expect(responseRejectReason(200, { 'cache-control': 'max-age=60, s-maxage=10' }, policy)).to.equal(undefined);
    });
    it('refuses Vary: *', () => {
      expect(responseRejectReason(200, { vary: 'Accept, *' }, policy)).to.equal('Vary: *');
      expect(responseRejectReason(200, { vary: 'Accept-Encoding' }, policy)).to.equal(undefined);
    });
    it('refuses a declared Content-Length over maxEntryBytes', () => {
      expect(responseRejectReason(200, { 'content-length': 1001 }, policy)).to.match(/over maxEntryBytes/);
      expect(responseRejectReason(200, { 'content-length': '1000' }, policy)).to.equal(undefined);
    });
  });

  describe('header lookups read own properties only (issue 14, item 10)', () => {
    it('headerValue(headers, name) never reaches Object.prototype', () => {
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        expect(headerValue({}, name), name).to.equal(undefined);
      }
      expect(headerValue({ constructor: 'a' }, 'constructor')).to.equal('a');
    });
    it('responseRefusal and requestRefusal ignore inherited header names', () => {
      const inherited: HeaderMap = Object.create({ 'cache-control': 'no-store', authorization: 'Bearer x' });
      expect(responseRejectReason(200, inherited, policy)).to.equal(undefined);
      expect(requestBypassReason('GET', inherited, policy)).to.equal(undefined);
    });
    it('varyValues(vary, requestHeaders) reads __proto__, constructor and toString as the request has them', () => {
      expect(varyValues('__proto__, constructor, toString', { constructor: 'a' })).to.deep.equal([
        ['__proto__', ''],
        ['constructor', 'a'],
        ['tostring', ''],
      ]);
      expect(varyKeySuffix(['__proto__', 'constructor'], {})).to.equal('\n__proto__:\nconstructor:');
      const seen = new SeenVary();
      seen.learn(['__proto__', 'constructor']);
      const { values } = seen.selection({}, 'key', 1000, false, true);
      expect([...(values ?? [])]).to.deep.equal([
        ['__proto__', ''],
        ['constructor', ''],
      ]);
    });
    it('storableHeaders(headers) keeps a response header named constructor and nothing inherited', () => {
      expect(storableHeaders({ constructor: 'x', 'content-type': 'text/plain' }, undefined)).to.deep.equal([
        ['constructor', 'x'],
        ['content-type', 'text/plain'],
      ]);
    });
  });
});
