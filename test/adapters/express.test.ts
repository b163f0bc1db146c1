import { expect } from 'chai';
import type { RequestHandler } from 'express';
import { type CacheStore, createCache, type GroupCache, type GroupCacheError, memoryStore } from 'group-cache';
import { addExpireGroups, expireGroups, groupCache } from 'group-cache/express';
import { express, getRaw, manualClock, request, serve } from '../helpers/express-app.js';
import { deferred } from '../helpers/http.js';

/** The seed's users API: user_N and user_profile_N in user_group_N and users; writes expire groups. */
function usersApp(
  cache: GroupCache,
  options: { gate?: () => Promise<void>; onArrive?: () => void; onError?: 'continue' | 'fail' } = {},
) {
  const app = express();
  app.set('env', 'test');
  if (options.onArrive) {
    const onArrive = options.onArrive;
    app.use((_req, _res, next) => {
      onArrive();
      next();
    });
  }
  const version = new Map<string, number>();
  const calls = { count: 0 };
  const read = (id: string) => version.get(id) ?? 0;
  app.use(expireGroups({ cache, onError: options.onError }));
  const cached = (prefix: string): RequestHandler =>
    groupCache((req) => ({ key: `${prefix}_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), { cache });
  const handler: RequestHandler = async (req, res) => {
    calls.count++;
    const id = String(req.params.id);
    const seen = read(id); // read before waiting: a slow handler computes from pre-write data
    await options.gate?.();
    res.json({ id, version: seen });
  };
  app.get('/users/:id', cached('user'), handler);
  app.get('/profiles/:id', cached('user_profile'), handler);
  app.put('/users/:id', (req, res) => {
    const id = String(req.params.id);
    version.set(id, read(id) + 1);
    res.locals.expireGroups = [`user_group_${id}`];
    res.json({ id, version: read(id) });
  });
  app.put('/users', (_req, res) => {
    res.locals.expireGroups = 'users';
    res.json({ ok: true });
  });
  app.put('/fail/:id', (req, res) => {
    res.locals.expireGroups = [`user_group_${req.params.id}`];
    res.status(422).json({ error: 'invalid' });
  });
  return { app, calls };
}

const xcache = async (app: express.Express, path: string) => (await getRaw(app, path)).headers['x-cache'];

describe('Express: group invalidation', () => {
  it('miss then hit runs the handler once', async () => {
    const { app, calls } = usersApp(createCache());
    expect(await xcache(app, '/users/1')).to.equal('MISS');
    expect(await xcache(app, '/users/1')).to.equal('HIT');
    expect(calls.count).to.equal(1);
  });

  it('a write expiring user_group_1 makes only that group’s members miss', async () => {
    const { app } = usersApp(createCache());
    for (const path of ['/users/1', '/profiles/1', '/users/2']) await getRaw(app, path);
    const write = await request(app).put('/users/1');
    expect(write.status).to.equal(200);
    expect(await xcache(app, '/users/1')).to.equal('MISS');
    expect(await xcache(app, '/profiles/1')).to.equal('MISS');
    expect(await xcache(app, '/users/2')).to.equal('HIT');
    const fresh = await getRaw(app, '/users/1');
    expect(JSON.parse(fresh.body.toString())).to.deep.equal({ id: '1', version: 1 });
  });

  it('expiring the family group (users) expires every member', async () => {
    const { app } = usersApp(createCache());
    for (const path of ['/users/1', '/profiles/1', '/users/2']) await getRaw(app, path);
    await request(app).put('/users');
    for (const path of ['/users/1', '/profiles/1', '/users/2']) expect(await xcache(app, path), path).to.equal('MISS');
  });

  it('a failed write (4xx) expires nothing', async () => {
    const { app } = usersApp(createCache());
    await getRaw(app, '/users/1');
    expect((await request(app).put('/fail/1')).status).to.equal(422);
    expect(await xcache(app, '/users/1')).to.equal('HIT');
  });

  it('expireGroups() and expireKey() from code; the master key alone', async () => {
    const cache = createCache();
    const { app } = usersApp(cache);
    for (const path of ['/users/1', '/profiles/1', '/users/2']) await getRaw(app, path);
    await cache.expireKey('user_1');
    expect(await xcache(app, '/users/1')).to.equal('MISS');
    expect(await xcache(app, '/profiles/1')).to.equal('HIT');
    expect(await xcache(app, '/users/2')).to.equal('HIT');
    await cache.expireGroups('user_group_2');
    expect(await xcache(app, '/users/2')).to.equal('MISS');
    expect(await xcache(app, '/profiles/1')).to.equal('HIT');
  });

  it('two groups expire independently', async () => {
    const { app } = usersApp(createCache());
    for (const path of ['/users/1', '/users/2']) await getRaw(app, path);
    await request(app).put('/users/1');
    expect(await xcache(app, '/users/2')).to.equal('HIT');
    expect(await xcache(app, '/users/1')).to.equal('MISS');
    await request(app).put('/users/2');
    expect(await xcache(app, '/users/1')).to.equal('HIT');
    expect(await xcache(app, '/users/2')).to.equal('MISS');
  });

  it('keys and groups live in separate name spaces', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.get(
      '/a',
      groupCache(() => ({ key: 'users', groups: ['other'] }), { cache }),
      (_req, res) => res.send(`a${n++}`),
    );
    app.get(
      '/b',
      groupCache(() => ({ key: 'b', groups: ['users'] }), { cache }),
      (_req, res) => res.send(`b${n++}`),
    );
    await getRaw(app, '/a');
    await getRaw(app, '/b');
    await cache.expireKey('users');
    expect(await xcache(app, '/b')).to.equal('HIT');
    await getRaw(app, '/a');
    await cache.expireGroups('users');
    expect(await xcache(app, '/a')).to.equal('HIT');
    expect(await xcache(app, '/b')).to.equal('MISS');
  });

  it('odd group names and huge keys work and stay distinct', async () => {
    const cache = createCache();
    const app = express();
    const odd = ['with space', 'new\nline', 'ünï©ødé ✓', 'g:users', 'k:users', ':', 'x'.repeat(10_000)];
    app.get(
      '/odd/:i',
      groupCache((req) => ({ key: `${'k'.repeat(100_000)}${req.params.i}`, groups: [odd[Number(req.params.i)]!] }), { cache }),
      (req, res) => res.send(`odd ${req.params.i}`),
    );
    for (let i = 0; i < odd.length; i++) await getRaw(app, `/odd/${i}`);
    for (let i = 0; i < odd.length; i++) expect(await xcache(app, `/odd/${i}`)).to.equal('HIT');
    await cache.expireGroups(odd[1]!);
    await cache.expireGroups(odd[6]!);
    const states = [];
    for (let i = 0; i < odd.length; i++) states.push(await xcache(app, `/odd/${i}`));
    expect(states).to.deep.equal(['HIT', 'MISS', 'HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
    expect((await getRaw(app, '/odd/3')).body.toString()).to.equal('odd 3');
  });

  it('TTL: an entry is served until ttl passes on the injected clock, then missed', async () => {
    const clock = manualClock();
    const cache = createCache({ now: clock.now, ttl: 10_000 });
    const { app } = usersApp(cache);
    await getRaw(app, '/users/1');
    clock.advance(9_999);
    expect(await xcache(app, '/users/1')).to.equal('HIT');
    clock.advance(1);
    expect(await xcache(app, '/users/1')).to.equal('MISS');
  });

  it('TTL from the route option and from the key function', async () => {
    const clock = manualClock();
    const cache = createCache({ now: clock.now, ttl: 60_000 });
    const app = express();
    app.get(
      '/route',
      groupCache(() => 'route', { cache, ttl: 1_000 }),
      (_req, res) => res.send('r'),
    );
    app.get(
      '/fn',
      groupCache(() => ({ key: 'fn', ttl: 2_000 }), { cache, ttl: 1_000 }),
      (_req, res) => res.send('f'),
    );
    await getRaw(app, '/route');
    await getRaw(app, '/fn');
    clock.advance(1_500);
    expect(await xcache(app, '/route')).to.equal('MISS');
    expect(await xcache(app, '/fn')).to.equal('HIT');
  });
});

describe('Express: expireGroups middleware', () => {
  /** A memory store whose expire() is slow or failing, to observe ordering and failure handling. */
  function slowStore(delayMs: number, fail = false): CacheStore & { expired: string[][] } {
    const inner = memoryStore();
    const expired: string[][] = [];
    return {
      name: 'slow-memory',
      expired,
      get: (key) => inner.get(key),
      set: (key, entry) => inner.set(key, entry),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
      expire: (tags) =>
        new Promise<void>((resolve, reject) =>
          setTimeout(() => {
            if (fail) return reject(new Error('store is down'));
            inner.expire(tags);
            expired.push([...tags]);
            resolve();
          }, delayMs),
        ),
    };
  }

  it('holds the write’s response until the expiry is recorded (read-your-writes)', async () => {
    const store = slowStore(150);
    const cache = createCache({ store });
    const { app } = usersApp(cache);
    await getRaw(app, '/users/1');
    const write = await request(app).put('/users/1');
    expect(write.status).to.equal(200);
    // The client has the response: the expiry must already be in the store.
    expect(store.expired).to.deep.equal([['g:user_group_1']]);
    const read = await getRaw(app, '/users/1');
    expect(read.headers['x-cache']).to.equal('MISS');
    expect(JSON.parse(read.body.toString()).version).to.equal(1);
  });

  it('accepts a single string and the addExpireGroups() helper (which appends)', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.use(expireGroups({ cache }));
    for (const g of ['a', 'b', 'c'])
      app.get(
        `/${g}`,
        groupCache(() => ({ key: g, groups: [g] }), { cache }),
        (_req, res) => res.send(`${g}${n++}`),
      );
    app.post('/write', (_req, res) => {
      res.locals.expireGroups = 'a';
      addExpireGroups(res, ['b']);
      res.status(201).send('created');
    });
    for (const g of ['a', 'b', 'c']) await getRaw(app, `/${g}`);
    expect((await request(app).post('/write')).status).to.equal(201);
    expect(await xcache(app, '/a')).to.equal('MISS');
    expect(await xcache(app, '/b')).to.equal('MISS');
    expect(await xcache(app, '/c')).to.equal('HIT');
  });

  it('a store failure: the write still answers, the expiry is queued, retried, and lands', async () => {
    const errors: GroupCacheError[] = [];
    let down = true;
    const inner = memoryStore();
    const store: CacheStore = {
      name: 'flaky',
      get: (key) => inner.get(key),
      set: (key, entry) => inner.set(key, entry),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
      expire: (tags) => {
        if (down) throw new Error('connection refused');
        inner.expire(tags);
      },
    };
    const cache = createCache({ store, retryInterval: 20 });
    cache.on('error', (error) => errors.push(error));
    const { app } = usersApp(cache, { onError: 'continue' });
    await getRaw(app, '/users/1');
    const write = await request(app).put('/users/1');
    expect(write.status).to.equal(200);
    expect(errors.map((e) => e.code)).to.include('EEXPIRE');
    expect(cache.stats().pendingExpiries).to.equal(1);
    // While the expiry is pending, this process never serves an entry of that group.
    expect(await xcache(app, '/users/1')).to.equal('MISS');
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cache.stats().pendingExpiries).to.equal(0);
    await cache.close();
  });

  it('onError: "fail" turns the write into a 503 when the expiry cannot be recorded', async () => {
    const cache = createCache({ store: slowStore(1, true), retryInterval: 60_000 });
    cache.on('error', () => {});
    const app = express();
    app.use(expireGroups({ cache, onError: 'fail' }));
    app.get(
      '/x',
      groupCache(() => ({ key: 'x', groups: ['g'] }), { cache }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    app.put('/x', (_req, res) => {
      res.locals.expireGroups = ['g'];
      res.json({ ok: true });
    });
    const write = await request(app).put('/x');
    expect(write.status).to.equal(503);
    expect(cache.stats().pendingExpiries).to.equal(1);
    await cache.close();
  });

  it('junk in res.locals.expireGroups: the valid groups are expired, each bad value reported (EINVALIDGROUP), the write fails', async () => {
    const cache = createCache();
    const errors: GroupCacheError[] = [];
    cache.on('error', (error) => errors.push(error));
    const { app } = usersApp(cache);
    app.put('/junk/:id', (req, res) => {
      res.locals.expireGroups = [`user_group_${req.params.id}`, '', { id: 1 }, Number.NaN];
      res.send('ok');
    });
    await getRaw(app, '/users/1');
    await getRaw(app, '/users/2');
    expect((await request(app).put('/junk/1')).status, "default onError 'fail'").to.equal(503);
    expect(await xcache(app, '/users/1'), 'the valid group was expired').to.equal('MISS');
    expect(await xcache(app, '/users/2')).to.equal('HIT');
    expect(errors.map((e) => e.code)).to.deep.equal(['EINVALIDGROUP']);
    expect(errors[0]!.message).to.match(/3 value\(s\) that are not group names/);
    expect(errors[0]!.message).to.include('the string ""');
    expect(errors[0]!.message).to.include('an object with keys [id]');
  });
});

describe('Express: concurrency and the stale write-back race', () => {
  it('a GET started before a write never stores pre-write data as fresh', async () => {
    const cache = createCache();
    const gate = deferred();
    let holding = true;
    const { app } = usersApp(cache, { gate: () => (holding ? gate.promise : Promise.resolve()) });
    const server = await serve(app);
    try {
      const slow = getRaw(server.url, '/users/1'); // reads version 0, then waits
      await new Promise((resolve) => setTimeout(resolve, 30));
      const write = await request(server.url).put('/users/1');
      expect(write.body.version).to.equal(1);
      holding = false;
      gate.resolve();
      const stale = await slow;
      expect(JSON.parse(stale.body.toString()).version).to.equal(0);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const next = await getRaw(server.url, '/users/1');
      expect(next.headers['x-cache']).to.equal('MISS');
      expect(JSON.parse(next.body.toString()).version).to.equal(1);
    } finally {
      await server.close();
    }
  });

  it('50 concurrent cold GETs run the handler once and all get its body', async () => {
    const cache = createCache();
    // The handler is held until all 50 requests reached the server, so 49 of them must find the fill running.
    let arrived = 0;
    const allArrived = deferred();
    const onArrive = () => {
      if (++arrived === 50) allArrived.resolve();
    };
    const { app, calls } = usersApp(cache, { gate: () => allArrived.promise, onArrive });
    const server = await serve(app);
    try {
      const responses = await Promise.all(Array.from({ length: 50 }, () => getRaw(server.url, '/users/7')));
      expect(calls.count).to.equal(1);
      const bodies = new Set(responses.map((r) => r.body.toString()));
      expect(bodies.size).to.equal(1);
      expect(responses.filter((r) => r.headers['x-cache'] === 'MISS')).to.have.length(1);
      expect(cache.stats().waits).to.equal(49);
    } finally {
      await server.close();
    }
  });

  it('waiters do not get a leader’s unstorable response: they run their own handler', async () => {
    const cache = createCache();
    const app = express();
    app.set('env', 'test');
    let n = 0;
    app.get(
      '/k',
      groupCache(() => 'k', { cache }),
      async (_req, res) => {
        const call = n++;
        await new Promise((resolve) => setTimeout(resolve, 40));
        if (call === 0) res.status(500).send('leader failed');
        else res.send(`ok ${call}`);
      },
    );
    const server = await serve(app);
    try {
      const responses = await Promise.all(Array.from({ length: 10 }, () => getRaw(server.url, '/k')));
      const failed = responses.filter((r) => r.status === 500);
      expect(failed).to.have.length(1);
      expect(responses.filter((r) => r.status === 200)).to.have.length(9);
    } finally {
      await server.close();
    }
  });

  it('a waiter never waits longer than waitTimeout', async () => {
    const cache = createCache({ waitTimeout: 100 });
    const app = express();
    const gate = deferred();
    let n = 0;
    app.get(
      '/k',
      groupCache(() => 'k', { cache }),
      async (_req, res) => {
        if (n++ === 0) await gate.promise;
        res.send(`call ${n}`);
      },
    );
    const server = await serve(app);
    try {
      const leader = getRaw(server.url, '/k');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const started = Date.now();
      const waiter = await getRaw(server.url, '/k');
      expect(Date.now() - started).to.be.within(90, 2_000);
      expect(waiter.status).to.equal(200);
      expect(n).to.equal(2);
      gate.resolve();
      await leader;
    } finally {
      await server.close();
    }
  });

  it('a request arriving after an expiry does not join a fill that started before it', async () => {
    const cache = createCache();
    const gate = deferred();
    let version = 0;
    let n = 0;
    const app = express();
    app.get(
      '/k',
      groupCache(() => ({ key: 'k', groups: ['g'] }), { cache }),
      async (_req, res) => {
        const seen = version;
        if (n++ === 0) await gate.promise;
        res.send(`v${seen}`);
      },
    );
    const server = await serve(app);
    try {
      const leader = getRaw(server.url, '/k');
      await new Promise((resolve) => setTimeout(resolve, 20));
      version = 1;
      await cache.expireGroups('g');
      const late = await getRaw(server.url, '/k'); // must not wait for the held leader
      expect(late.body.toString()).to.equal('v1');
      gate.resolve();
      expect((await leader).body.toString()).to.equal('v0');
      const after = await getRaw(server.url, '/k');
      expect(after.body.toString()).to.equal('v1');
    } finally {
      await server.close();
    }
  });
});

describe('Express: key functions and set-up', () => {
  it('accepts every return shape, sync or async', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    const shapes: Array<[string, Parameters<typeof groupCache>[0]]> = [
      ['object', () => ({ key: 'o', groups: ['s'] })],
      ['pair', () => ['p', ['s']] as const],
      ['pair-string-group', () => ['ps', 's'] as const],
      ['string', () => 'str'],
      ['async', async () => ({ key: 'as', groups: 's' })],
    ];
    for (const [name, fn] of shapes) app.get(`/${name}`, groupCache(fn, { cache }), (_req, res) => res.send(`${name} ${n++}`));
    for (const [name] of shapes) {
      expect(await xcache(app, `/${name}`), name).to.equal('MISS');
      expect(await xcache(app, `/${name}`), name).to.equal('HIT');
    }
    await cache.expireGroups('s');
    for (const [name] of shapes) expect(await xcache(app, `/${name}`), name).to.equal(name === 'string' ? 'HIT' : 'MISS');
  });

  for (const [label, value] of [
    ['null', null],
    ['undefined', undefined],
    ['false', false],
  ] as const) {
    it(`a key function returning ${label} bypasses the cache`, async () => {
      const cache = createCache();
      const app = express();
      let n = 0;
      app.get(
        '/b',
        groupCache(() => value, { cache }),
        (_req, res) => res.send(`${n++}`),
      );
      expect(await xcache(app, '/b')).to.equal('BYPASS');
      expect((await getRaw(app, '/b')).body.toString()).to.equal('1');
      expect(cache.stats().bypasses).to.equal(2);
    });
  }

  const junk: Array<[string, () => unknown, RegExp]> = [
    [
      'throws',
      () => {
        throw new Error('no id');
      },
      /key function of GET \/j threw: no id/,
    ],
    ['rejects', () => Promise.reject(new Error('db down')), /key function of GET \/j rejected: db down/],
    ['returns a number', () => 42, /returned number 42/],
    ['returns an empty key', () => ({ key: '' }), /non-empty string/],
    ['returns an object with neither key nor groups', () => ({ ttl: 5 }), /non-empty string/],
    ['returns non-string groups', () => ({ key: 'k', groups: [1] }), /groups must contain non-empty strings/],
    ['returns a bad ttl', () => ({ key: 'k', ttl: -1 }), /ttl must be a positive/],
    [
      'returns too many groups',
      () => ({ key: 'k', groups: Array.from({ length: 100 }, (_, i) => `g${i}`) }),
      /more than the limit/,
    ],
  ];
  for (const [label, fn, message] of junk) {
    it(`a key function that ${label}: served by the handler, reported, nothing stored`, async () => {
      const cache = createCache();
      const errors: GroupCacheError[] = [];
      cache.on('error', (error) => errors.push(error));
      const app = express();
      let n = 0;
      app.get('/j', groupCache(fn as Parameters<typeof groupCache>[0], { cache }), (_req, res) => res.send(`served ${n++}`));
      const res = await getRaw(app, '/j');
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal('served 0');
      expect(res.headers['x-cache']).to.equal('BYPASS');
      expect(errors).to.have.length(1);
      expect(errors[0]!.code).to.equal('EKEYFUNCTION');
      expect(errors[0]!.message).to.match(message);
      expect(errors[0]!.message).to.include('GET /j');
      expect(cache.stats().stores).to.equal(0);
    });
  }

  it('misuse at set-up throws a TypeError naming the argument', () => {
    expect(() => groupCache(42 as never)).to.throw(TypeError, /argument keyFn must be a function/);
    expect(() => groupCache(() => 'k', { ttl: -5 })).to.throw(TypeError, /option ttl/);
    expect(() => groupCache(() => 'k', { statuses: [] })).to.throw(TypeError, /option statuses/);
    expect(() => groupCache(() => 'k', { cache: {} as never })).to.throw(TypeError, /option cache/);
    expect(() => expireGroups({ onError: 'explode' as never })).to.throw(TypeError, /option onError/);
    expect(() => createCache({ store: { get() {} } as never })).to.throw(TypeError, /store needs to have a set\(\) function/);
    expect(() => createCache({ ttl: 0 })).to.throw(TypeError, /option ttl/);
  });

  it('the one-argument form shares one default cache between groupCache and expireGroups', async () => {
    const app = express();
    let n = 0;
    app.use(expireGroups());
    app.get(
      '/d',
      groupCache(() => ({ key: 'default-demo', groups: ['default-group'] })),
      (_req, res) => res.send(`${n++}`),
    );
    app.put('/d', (_req, res) => {
      res.locals.expireGroups = 'default-group';
      res.send('ok');
    });
    await getRaw(app, '/d');
    expect(await xcache(app, '/d')).to.equal('HIT');
    await request(app).put('/d');
    expect(await xcache(app, '/d')).to.equal('MISS');
  });

  it('bypasses non-GET methods and Authorization unless the route opts in', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.all(
      '/m',
      groupCache(() => 'm', { cache }),
      (_req, res) => res.send(`${n++}`),
    );
    app.get(
      '/auth',
      groupCache(() => 'auth', { cache, allowAuthorization: true }),
      (_req, res) => res.send(`${n++}`),
    );
    expect((await request(app).post('/m')).headers['x-cache']).to.equal('BYPASS');
    expect((await request(app).get('/m').set('Authorization', 'Bearer a')).headers['x-cache']).to.equal('BYPASS');
    expect((await request(app).get('/m').set('Authorization', 'Bearer a')).headers['x-cache']).to.equal('BYPASS');
    await request(app).get('/auth').set('Authorization', 'Bearer a');
    expect((await request(app).get('/auth').set('Authorization', 'Bearer b')).headers['x-cache']).to.equal('HIT');
  });

  it('no client-controlled header bypasses or refreshes the cache', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.get(
      '/c',
      groupCache(() => 'c', { cache }),
      (_req, res) => res.send(`${n++}`),
    );
    await getRaw(app, '/c');
    for (const [name, value] of [
      ['Cache-Control', 'no-cache'],
      ['Cache-Control', 'max-age=0'],
      ['Pragma', 'no-cache'],
      ['X-Cache-Bypass', '1'],
    ] as const) {
      const res = await request(app).get('/c').set(name, value);
      expect(res.headers['x-cache'], `${name}: ${value}`).to.equal('HIT');
      expect(res.text).to.equal('0');
    }
  });

  it('never stores Set-Cookie, no-store or private responses unless opted in', async () => {
    const cache = createCache();
    const app = express();
    app.get(
      '/cookie',
      groupCache(() => 'cookie', { cache }),
      (_req, res) => res.cookie('sid', 'secret').send('c'),
    );
    app.get(
      '/nostore',
      groupCache(() => 'nostore', { cache }),
      (_req, res) => res.set('Cache-Control', 'no-store').send('n'),
    );
    app.get(
      '/private',
      groupCache(() => 'private', { cache }),
      (_req, res) => res.set('Cache-Control', 'private').send('p'),
    );
    app.get(
      '/vary',
      groupCache(() => 'vary', { cache }),
      (_req, res) => res.set('Vary', '*').send('v'),
    );
    app.get(
      '/okcookie',
      groupCache(() => 'okcookie', { cache, allowSetCookie: true }),
      (_req, res) => res.cookie('a', 'b').send('c'),
    );
    for (const path of ['/cookie', '/nostore', '/private', '/vary']) {
      await getRaw(app, path);
      expect(await xcache(app, path), path).to.equal('MISS');
    }
    await getRaw(app, '/okcookie');
    expect(await xcache(app, '/okcookie')).to.equal('HIT');
    expect(cache.stats().stores).to.equal(1);
  });

  it('serves a Vary entry only to requests with the same header values', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.get(
      '/lang',
      groupCache(() => 'lang', { cache }),
      (req, res) => res.set('Vary', 'Accept-Language').send(`${req.get('accept-language')} ${n++}`),
    );
    await request(app).get('/lang').set('Accept-Language', 'fr');
    const fr = await request(app).get('/lang').set('Accept-Language', 'fr');
    expect(fr.headers['x-cache']).to.equal('HIT');
    const de = await request(app).get('/lang').set('Accept-Language', 'de');
    expect(de.headers['x-cache']).to.equal('MISS');
    expect(de.text).to.match(/^de /);
  });

  it('the vary option keeps one entry per header value', async () => {
    const cache = createCache();
    const app = express();
    let n = 0;
    app.get(
      '/v',
      groupCache(() => ({ key: 'v', groups: ['v'] }), { cache, vary: ['Accept-Language'] }),
      (req, res) => res.send(`${req.get('accept-language')} ${n++}`),
    );
    await request(app).get('/v').set('Accept-Language', 'fr');
    await request(app).get('/v').set('Accept-Language', 'de');
    expect((await request(app).get('/v').set('Accept-Language', 'fr')).text).to.equal('fr 0');
    expect((await request(app).get('/v').set('Accept-Language', 'de')).text).to.equal('de 1');
    await cache.expireGroups('v');
    expect((await request(app).get('/v').set('Accept-Language', 'fr')).headers['x-cache']).to.equal('MISS');
  });
});
