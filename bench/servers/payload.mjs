// The payload every row answers: about 1 KB of JSON per user, ids cycling over a small set.
export const IDS = Array.from({ length: 16 }, (_, i) => String(i + 1));

export function user(id) {
  return {
    id: Number(id),
    name: `User ${id}`,
    email: `user${id}@example.com`,
    role: 'member',
    createdAt: '2024-01-01T00:00:00.000Z',
    bio: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo.',
    address: { street: '1 Example Street', city: 'Exampleville', zip: '12345', country: 'Exampleland' },
    preferences: { theme: 'dark', language: 'en', notifications: { email: true, sms: false, push: true } },
    tags: ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'],
    history: Array.from({ length: 6 }, (_, i) => ({ at: `2024-0${i + 1}-15T12:00:00.000Z`, action: 'login', ok: true })),
  };
}

/*
 * A 64 KB user for the big-body miss rows: the 1 KB user with a longer history (831 visits make 64 KB of JSON). The
 * history array is built once and shared, so the handler's own work stays what a real one's would be at most
 * (an object to serialise), and what grows with the body is the serialising, capturing and storing of it.
 */
const visits = (count) =>
  Array.from({ length: count }, (_, i) => ({
    at: '2024-01-15T12:00:00.000Z',
    action: i % 4 ? 'view' : 'login',
    ok: i % 3 !== 0,
    ip: `10.0.${i >> 8}.${i & 255}`,
  }));
const BIG_HISTORY = visits(831);
// The 1 MB user of the big-body hit rows: 12,660 visits make 1,000,000 bytes of JSON, give or take a few.
const HUGE_HISTORY = visits(12_660);

export function bigUser(id) {
  return { ...user(id), history: BIG_HISTORY };
}

export function hugeUser(id) {
  return { ...user(id), history: HUGE_HISTORY };
}

/** The payload of a row of `body` '1k' (the default), '64k' or '1m'. */
export function payloadOf(body = '1k') {
  if (body === '1k') return user;
  if (body === '64k') return bigUser;
  if (body === '1m') return hugeUser;
  throw new Error(`no payload of size ${body}`);
}

/** The least and most bytes a row of `body` answers (its sanity checks). */
export function sizeOf(body = '1k') {
  if (body === '1k') return [900, 1_100];
  if (body === '64k') return [60_000, 70_000];
  if (body === '1m') return [990_000, 1_010_000];
  throw new Error(`no payload of size ${body}`);
}

/** Precomputed bodies for the limit rows, the payload of `body` serialised once: `{ id: Buffer }`. */
export function bodies(body) {
  const payload = payloadOf(body);
  const map = new Map();
  for (const id of IDS) map.set(id, Buffer.from(JSON.stringify(payload(id))));
  return map;
}

/*
 * The write rows: `PUT /users/:id` with a small JSON body updates the user in memory and answers it. The users a
 * write route keeps (16 at most: the ids cycle), and the groups a write of user `id` expires: its own group first,
 * then `users`, then more of its own, `count` in all.
 */
export const WRITE_BODY = JSON.stringify({ name: 'Renamed User', role: 'editor' });

export function userUpdates() {
  const users = new Map();
  return {
    read: (id) => users.get(id) ?? user(id),
    update(id, changes) {
      const next = { ...(users.get(id) ?? user(id)), ...changes };
      users.set(id, next);
      return next;
    },
  };
}

export function writeGroups(id, count) {
  return Array.from({ length: count }, (_, i) => (i === 0 ? `user_group_${id}` : i === 1 ? 'users' : `user_${id}_part_${i}`));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The id of a `/users/:id` path, or undefined: for rows whose cache sits ahead of the router (no params yet). */
export function userIdOf(path) {
  return path.startsWith('/users/') && path.indexOf('/', 7) === -1 && path.length > 7 ? path.slice(7) : undefined;
}

/** group-cache key function shared by the Express and Koa rows. */
export function userKey(id) {
  return { key: `user_${id}`, groups: [`user_group_${id}`, 'users'] };
}
