/*
 * The Lua the Redis store runs on one node, one named constant per script, each with its keys, arguments and reply.
 * Every script that reads or writes stamps starts with PRELUDE (lua.ts). Ids and tags always arrive as arguments,
 * never spliced into the source.
 */
import type { RedisScript } from './client.js';
import { PRELUDE, recordAndPrune, STREAM_STATE, setScript } from './lua.js';

/**
 * get many: the lookups of one event-loop turn in one call (lookups.ts; a lone lookup is a batch of one), each
 * entry with the expiry records that matter, under one clock and one epoch; the cache decides freshness. Single node
 * only: the entry keys arrive as arguments (a cluster routes by declared keys).
 * KEYS: [1] the records sorted set, [2] the run id (see check_run). ARGV: the entry hashes.
 * Returns `{ stamp, made, r1, r2, ... }`, each `r` 0 when nothing is held, else `{ expiredAt, startedAt, meta, body }`
 * whatever the entry's state: `expiredAt` is the latest expiry stamp of its tags, the epoch included; `made` is 1
 * when this call made a new epoch (records were lost).
 */
const GET_MANY_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[2])
local epoch, now, made = epoch_of(KEYS[1], clock())
local out = { now, made }
for i = 1, #ARGV do
  local found = 0
  local f = redis.call('HMGET', ARGV[i], 's', 't', 'm', 'b')
  if f[1] then
    local tags = f[2] and decode_tags(f[2])
    if tags and f[3] and f[4] then
      found = { latest_expiry(KEYS[1], tags, epoch), f[1], f[3], f[4] }
    else
      redis.call('UNLINK', ARGV[i])
    end
  end
  out[i + 2] = found
end
return out
`;

/**
 * set: stores an entry unless its fill is doomed.
 * KEYS: [1] the entry hash, [2] the records sorted set, [3] the longest-ttl string, [4] the run id.
 * ARGV: [1] startedAt (µs), [2] the ms to keep it, [3] metadata JSON, [4] body, [5..] its tags.
 * Returns 1 stored; 0 refused (a tag or the epoch expired at or after startedAt, a later valid entry is there, or
 * the ttl is outside 1..MAX_TTL). The ttl is checked before any write: a PEXPIRE that failed after HSET would
 * leave an entry that never expires.
 */
const SET_SCRIPT = setScript(PRELUDE, 'epoch_of(KEYS[2], clock())', 5);
/**
 * set and unlock: set, then the fill lock this fill holds released as unlock releases it (only while the token
 * holds it), whether the entry was stored or refused: a miss's write and its release in one round trip. The entry is
 * written before the lock goes, so an instance that takes the lock next finds the entry (fill-lock.ts).
 * KEYS: [1] the entry hash, [2] the records sorted set, [3] the longest-ttl string, [4] the run id, [5] the lock key.
 * ARGV: [1] startedAt (µs), [2] the ms to keep it, [3] metadata JSON, [4] body, [5] the lock's token, [6..] its tags.
 * Returns set's answer.
 */
const SET_UNLOCK_SCRIPT = setScript(PRELUDE, 'epoch_of(KEYS[2], clock())', 6, { key: 'KEYS[5]', token: 'ARGV[5]' });
/**
 * expire: records "expired now" for every tag, one ZADD whatever the number of entries tagged; prunes records
 * older than the longest ttl and those over maxRecords, raising the epoch over whatever it drops; publishes it all
 * on the expiry stream.
 * KEYS: [1] the records sorted set, [2] the longest-ttl string, [3] the stream's sequence counter, [4] the stream,
 * [5] the run id. ARGV: [1] maxRecords, [2] the stream's length (0: do not publish), [3..] the tags.
 * Returns the stamp recorded (µs, never below one recorded before).
 */
const EXPIRE_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[5])
local epoch, now = epoch_of(KEYS[1], clock())
local stamp = now
local longest = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
${recordAndPrune(3)}publish(KEYS[3], KEYS[4], tonumber(ARGV[2]), stamp, raised, ARGV, 3)
return stamp
`;

/**
 * touch: raises the epoch to now, so that fills started before a clear() are never stored after it, and publishes
 * the new epoch (every tiered store then drops what it holds).
 * KEYS: [1] the records sorted set, [2] the stream's sequence counter, [3] the stream, [4] the run id. ARGV: [1] the
 * stream's length (0: do not publish). Returns the new epoch (µs).
 */
const TOUCH_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[4])
local now = clock()
redis.call('ZADD', KEYS[1], num(now), EPOCH)
publish(KEYS[2], KEYS[3], tonumber(ARGV[1]), now, now, {}, 1)
return now
`;

// Where a reader of an expiry stream stands (KEYS: records, sequence counter, stream), as locals of the script that
// splices it in: now, epoch (0 when missing), seq (the last number published, 0 when none or lost), id (the last

/**
 * stream state: where a reader of the expiry stream stands, read atomically. A missing epoch is left for the next
 * lookup to make: that one tells its fill not to date back before it (notBefore), which this reader cannot.
 * KEYS: [1] the records sorted set, [2] the stream's sequence counter, [3] the stream, [4] the run id. ARGV: none.
 * Returns `{ now, epoch, seq, lastId }`: the clock, the epoch (0 when missing), the last sequence number published
 * (0 when none or lost) and the id of the last message held ('0-0' when none).
 */
const STREAM_STATE_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[4])
${STREAM_STATE}return { now, epoch, seq, id }
`;

/**
 * confirm: whether an entry a tiered store holds in memory may still be served (its strict mode), without its body.
 * KEYS: [1] the entry hash, [2] the records sorted set, [3] the run id. ARGV: [1] the entry's startedAt, [2..] its tags.
 * Returns `{ now, 1 }` when Redis holds the same fill (same startedAt) and no tag nor the epoch was expired at or
 * after it started; `{ now, 0 }` otherwise, or when the epoch is missing (the caller then reads the entry again).
 */
const CONFIRM_SCRIPT = `${PRELUDE}
check_run(KEYS[2], KEYS[3])
local now = clock()
-- A missing epoch (records lost) is left for the lookup that follows to make, with its notBefore.
local epoch = tonumber(redis.call('ZSCORE', KEYS[2], EPOCH) or '')
if not epoch then return { now, 0 } end
local started = tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[1], 's') or '')
if not started or held ~= started or started <= epoch then return { now, 0 } end
local tags = {}
for i = 2, #ARGV do tags[#tags + 1] = ARGV[i] end
if not tags_fresh(KEYS[2], tags, started) then return { now, 0 } end
return { now, 1 }
`;

/**
 * lock: takes a fill lock, held as `<token>:<run id>` for ms, unless it runs after its deadline: a command that
 * reaches Redis after its caller gave up on it (Redis was frozen, or the client sent it again after a reconnect)
 * would hold the key for the lock's whole time with no holder. A lock held under another run id was taken before a
 * restart (it came back from a snapshot) or a failover: its holder may be gone, so it is taken over; at worst two
 * instances fill the key once each.
 * KEYS: [1] the lock key. ARGV: [1] the holder's token, [2] the ms to hold it, [3] the deadline (Redis clock, µs;
 * '' for none). Returns 1 taken, 0 held by another, -1 too late (nothing written).
 */
const LOCK_SCRIPT = `${PRELUDE}
if ARGV[3] ~= '' and clock() > tonumber(ARGV[3]) then return -1 end
local id = run_id()
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, -#id - 1) == ':' .. id then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. id, 'PX', ARGV[2])
return 1
`;

/**
 * unlock: releases a fill lock only while the token holds it (under any run id): a holder whose lock expired and
 * was taken by another instance must not release the new one.
 * KEYS: [1] the lock key. ARGV: [1] the holder's token. Returns 1 released, 0 not (expired, or held by another).
 */
const UNLOCK_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Every script the Redis store runs, by the name it is loaded under (bump the name when its Lua changes). */
export const SCRIPTS = {
  getMany: { name: 'groupCacheGetMany2', numberOfKeys: 2, lua: GET_MANY_SCRIPT },
  set: { name: 'groupCacheSet3', numberOfKeys: 4, lua: SET_SCRIPT },
  setUnlock: { name: 'groupCacheSetUnlock1', numberOfKeys: 5, lua: SET_UNLOCK_SCRIPT },
  expire: { name: 'groupCacheExpire4', numberOfKeys: 5, lua: EXPIRE_SCRIPT },
  touch: { name: 'groupCacheTouch4', numberOfKeys: 4, lua: TOUCH_SCRIPT },
  streamState: { name: 'groupCacheStreamState4', numberOfKeys: 4, lua: STREAM_STATE_SCRIPT },
  confirm: { name: 'groupCacheConfirm3', numberOfKeys: 3, lua: CONFIRM_SCRIPT },
  lock: { name: 'groupCacheLock1', numberOfKeys: 1, lua: LOCK_SCRIPT },
  unlock: { name: 'groupCacheUnlock2', numberOfKeys: 1, lua: UNLOCK_SCRIPT },
} as const satisfies Record<string, RedisScript>;
