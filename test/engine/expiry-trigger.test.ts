/*
 * What the engine's events carry for the inspector: an expiry's trigger (given to expireGroups / expireKey, passed
 * to `expire` listeners and onExpire, checked and cut), the bytes a hit served, and how long a stored fill took.
 */
import { expect } from 'chai';
import {
  type CacheOptions,
  createCache,
  type ExpireEvent,
  type ExpiryTrigger,
  type HitEvent,
  type StoreEvent,
} from 'group-cache';

type ExpiryNotice = Parameters<NonNullable<CacheOptions['onExpire']>>[0];

describe('expiry triggers', () => {
  const trigger: ExpiryTrigger = { method: 'PUT', route: '/users/:id', status: 204, requestId: 'req-1' };

  it('expireGroups(groups, { trigger }): the expire event and onExpire carry it', async () => {
    const notices: ExpiryNotice[] = [];
    const cache = createCache({ onExpire: (notice) => void notices.push(notice) });
    const events: ExpireEvent[] = [];
    cache.on('expire', (event) => events.push(event));
    await cache.expireGroups(['a', 'b'], { trigger });
    await cache.expireGroups('c');
    expect(events).to.deep.equal([
      { groups: ['a', 'b'], keys: [], trigger },
      { groups: ['c'], keys: [] },
    ]);
    expect(notices).to.deep.equal([
      { groups: ['a', 'b'], keys: [], cdnTags: ['a', 'b'], trigger },
      { groups: ['c'], keys: [], cdnTags: ['c'] },
    ]);
  });

  it('expireKey(key, { trigger }) carries it too', async () => {
    const cache = createCache();
    const events: ExpireEvent[] = [];
    cache.on('expire', (event) => events.push(event));
    await cache.expireKey('user_1', { trigger: { method: 'DELETE', route: '/users/1', status: 200 } });
    expect(events).to.deep.equal([
      { groups: [], keys: ['user_1'], trigger: { method: 'DELETE', route: '/users/1', status: 200 } },
    ]);
  });

  it('cuts long strings (a client chooses the path and the request id), and drops an empty request id', async () => {
    const cache = createCache();
    const events: ExpireEvent[] = [];
    cache.on('expire', (event) => events.push(event));
    await cache.expireGroups('g', {
      trigger: { method: 'M'.repeat(40), route: `/${'p'.repeat(600)}`, status: 200, requestId: 'r'.repeat(200) },
    });
    await cache.expireGroups('g', { trigger: { method: 'POST', route: '/x', status: 200, requestId: '' } });
    const [long, empty] = events.map((event) => event.trigger);
    expect(long?.method).to.equal(`${'M'.repeat(32)}…`);
    expect(long?.route).to.have.length(513);
    expect(long?.requestId).to.equal(`${'r'.repeat(128)}…`);
    expect(empty).to.deep.equal({ method: 'POST', route: '/x', status: 200 });
  });

  it('a trigger of the wrong shape is a TypeError naming the field, and nothing is expired', async () => {
    const cache = createCache();
    const bad: [unknown, RegExp][] = [
      [null, /argument options must be an object/],
      [{ trigger: 'PUT /x' }, /option trigger must be an object/],
      [{ trigger: { route: '/x', status: 200 } }, /option trigger.method must be a non-empty string/],
      [{ trigger: { method: 'PUT', status: 200 } }, /option trigger.route must be a string/],
      [{ trigger: { method: 'PUT', route: '/x', status: '200' } }, /option trigger.status must be an integer/],
      [{ trigger: { method: 'PUT', route: '/x', status: 200, requestId: 7 } }, /option trigger.requestId must be a string/],
    ];
    for (const [options, message] of bad) {
      const call = cache.expireGroups('g', options as { trigger: ExpiryTrigger });
      expect(call).to.be.instanceOf(Promise);
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, String(message)).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(message);
    }
    expect(cache.stats().expires).to.equal(0);
  });
});

describe('hit and store events carry what the inspector counts', () => {
  it('a hit names the bytes it served; a store how long its fill took', async () => {
    const cache = createCache();
    const hits: HitEvent[] = [];
    const stores: StoreEvent[] = [];
    cache.on('hit', (event) => hits.push(event));
    cache.on('store', (event) => stores.push(event));
    await cache.getOrSet('k', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { text: 'hello' };
    });
    await cache.getOrSet('k', () => ({ text: 'never' }));
    expect(stores).to.have.length(1);
    expect(stores[0]?.bytes).to.equal(Buffer.byteLength('{"text":"hello"}'));
    expect(stores[0]?.ms).to.be.at.least(15);
    expect(hits).to.deep.equal([{ key: 'k', where: 'getOrSet', bytes: stores[0]?.bytes }]);
  });
});
