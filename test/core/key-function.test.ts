import { expect } from 'chai';
import { normalizeGroups } from '../../lib/core/key-function.js';

describe('normalizeGroups', () => {
  it('normalizeGroups(list) removes duplicates, keeping first-seen order, for short and long lists', () => {
    expect(normalizeGroups(['a', 'b', 'a'], 'groups', 100)).to.deep.equal(['a', 'b']);
    const long = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'a'];
    expect(normalizeGroups(long, 'groups', 100)).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  });

  it('normalizeGroups(list) answers a copy: the caller may reuse or change its array', () => {
    const list = ['users', 'posts'];
    const groups = normalizeGroups(list, 'groups', 100);
    expect(groups).to.deep.equal(list);
    expect(groups).to.not.equal(list);
  });

  it('normalizeGroups(string) and normalizeGroups(undefined)', () => {
    expect(normalizeGroups('users', 'groups', 100)).to.deep.equal(['users']);
    expect(normalizeGroups(undefined, 'groups', 100)).to.deep.equal([]);
  });

  it('normalizeGroups() throws a TypeError naming the argument for empty or non-string names, and past the limit', () => {
    expect(() => normalizeGroups('', 'groups', 100)).to.throw(TypeError, /groups must contain non-empty strings/);
    expect(() => normalizeGroups(['a', ''], 'groups', 100)).to.throw(TypeError, /groups must contain non-empty strings/);
    expect(() => normalizeGroups(['a', 3], 'groups', 100)).to.throw(TypeError, /got number 3/);
    expect(() => normalizeGroups(5, 'groups', 100)).to.throw(TypeError, /groups must be a string or an array/);
    expect(() => normalizeGroups(['a', 'b', 'c'], 'groups', 2)).to.throw(TypeError, /3 groups, more than the limit of 2/);
  });
});
