// In-process cost of the framework-free hit path (CachedRoute.begin: key function, ids, store lookup, replay),
// in ns per hit: `node bench/hit-path.mjs`. Isolates the library from HTTP and from the noisy machine.
import { createCache, memoryStore } from 'group-cache';
import { groupTag, keyId } from '../dist/esm/lib/core/keys.js';
import { CachedRoute } from '../dist/esm/lib/http/cached-route.js';
import { LOOKUP } from './lookup.mjs';

const cache = createCache({ store: memoryStore() });
const route = new CachedRoute((req) => ({ key: `user_${req.params.id}`, groups: [`user_group_${req.params.id}`, 'users'] }), {
  cache,
});
const headers = { host: '127.0.0.1', 'user-agent': 'autocannon', accept: '*/*' };
for (const id of ['1', '2']) {
  const key = `user_${id}`;
  const tags = [groupTag(`user_group_${id}`), groupTag('users'), keyId(key)];
  const acquired = cache.lookup({
    ...LOOKUP,
    key,
    id: keyId(key),
    groups: [`user_group_${id}`, 'users'],
    keyTag: keyId(key),
    enteredAt: performance.now(),
  });
  const now = Date.now();
  await acquired.fill.commit({
    status: 200,
    headers: [
      ['x-powered-by', 'Express'],
      ['content-type', 'application/json; charset=utf-8'],
    ],
    body: Buffer.alloc(988, 97),
    etag: 'W/"3dc-NGr2FSJka8SW9QleMW9UO5MfDds"',
    vary: [],
    tags,
    startedAt: acquired.fill.startedAt,
    storedAt: now,
    freshUntil: now + 600_000,
    staleUntil: now + 600_000,
  });
}
const requests = [{ params: { id: '1' } }, { params: { id: '2' } }];
const results = [];
for (let round = 0; round < 7; round++) {
  const count = 500_000;
  let sent = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const outcome = route.begin(requests[i & 1], {
      method: 'GET',
      headers,
      where: 'GET /users/:id',
      enteredAt: 0,
      url: '/users/1',
    });
    if (outcome.type === 'hit') sent += outcome.replay.headers.length;
  }
  const ns = Number(process.hrtime.bigint() - started) / count;
  if (sent !== count * 6) throw new Error('not every lookup was a hit');
  results.push(ns);
}
results.sort((a, b) => a - b);
console.log(
  `hit path (CachedRoute.begin + replay), median of 7: ${results[3].toFixed(0)} ns per hit (min ${results[0].toFixed(0)})`,
);
