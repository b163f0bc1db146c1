/*
 * The Lua the Redis store runs, one named constant per script, each with its keys, arguments and reply. Every
 * script that reads or writes stamps starts with PRELUDE: one clock (Redis `TIME`, µs), the epoch, and the tag
 * checks. Ids and tags always arrive as arguments, never spliced into the source.
 */
import { MAX_TTL } from '../core/options.js';
import type { RedisScript } from './redis-client.js';

// Shared by every script: Redis 6.2 needs effects replication before a write that follows TIME (7 always does it).
const PRELUDE = `
pcall(redis.replicate_commands)
local EPOCH = '\\0epoch'
local function num(n) return string.format('%.0f', n) end
-- Records are trusted only on the server process that wrote them. Another one holds them after a restart (empty,
-- from a snapshot or from an AOF that lost its last writes) or a failover (a replica that may have missed the last
-- writes): what it holds may be older than what the fleet wrote, and nothing else tells. So each script first
-- compares the server's run id (INFO server: new at every start, its own on every replica) with the one kept in
-- \`run\` by the process that last wrote, and on a difference drops the epoch, which every script treats as records
-- lost (everything before now reads as expired). \`run\` lives beside the records, so losing it only costs a miss.
local function run_id()
  local info = redis.call('INFO', 'server')
  local at = string.find(info, 'run_id:', 1, true)
  return at and string.sub(info, at + 7, at + 46) or ''
end
local function check_run(records, run)
  local id = run_id()
  if id ~= '' and redis.call('GET', run) == id then return end
  redis.call('ZREM', records, EPOCH)
  redis.call('SET', run, id)
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Returns the epoch, the clock, and whether the epoch was just made. A missing epoch (records lost) is recreated
-- at now, and the clock is then moved to the next microsecond so that a fill starting from this lookup is not
-- doomed by the new epoch.
local function epoch_of(records, now)
  local epoch = redis.call('ZSCORE', records, EPOCH)
  if epoch then return tonumber(epoch), now, 0 end
  redis.call('ZADD', records, num(now), EPOCH)
  local later = now
  for _ = 1, 10000 do
    later = clock()
    if later > now then break end
  end
  return now, later, 1
end
-- True when no tag was expired at or after started (same tick counts as expired).
local function tags_fresh(records, tags, started)
  for i = 1, #tags, 500 do
    local scores = redis.call('ZMSCORE', records, unpack(tags, i, math.min(i + 499, #tags)))
    for j = 1, #scores do
      if scores[j] and tonumber(scores[j]) >= started then return false end
    end
  end
  return true
end
-- Tags are stored as <byte length>:<bytes>, repeated: any byte may appear in a tag.
local function decode_tags(s)
  local tags, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    if not colon then return nil end
    local n = tonumber(string.sub(s, pos, colon - 1))
    if not n then return nil end
    tags[#tags + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return tags
end
-- The latest expiry stamp among tags, never below floor.
local function latest_expiry(records, tags, floor)
  local latest = floor
  for i = 1, #tags, 500 do
    local scores = redis.call('ZMSCORE', records, unpack(tags, i, math.min(i + 499, #tags)))
    for j = 1, #scores do
      if scores[j] and tonumber(scores[j]) > latest then latest = tonumber(scores[j]) end
    end
  end
  return latest
end
local function fresh(records, epoch, started, encoded)
  if not started or started <= epoch then return false end
  local tags = decode_tags(encoded)
  return tags ~= nil and tags_fresh(records, tags, started)
end
-- Publishes an expiry on the stream that tiered stores read, in the same script as the records it announces, so
-- that no expiry lands without its message. Each message: n (its sequence number, from INCR: a reader that sees
-- one skipped or going back knows it missed some), s (the stamp), e (the epoch after this write) and up to 1000
-- t (a tag each). A clear() publishes one with no tag. maxlen 0 publishes nothing.
local function publish(seq, stream, maxlen, stamp, epoch, tags, first)
  if maxlen <= 0 then return end
  local i = first
  repeat
    local msg = { 'n', 0, 's', num(stamp), 'e', num(epoch) }
    for j = i, math.min(i + 999, #tags) do
      msg[#msg + 1] = 't'
      msg[#msg + 1] = tags[j]
    end
    msg[2] = redis.call('INCR', seq)
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(msg))
    i = i + 1000
  until i > #tags
end
`;

/**
 * get many: the lookups of one event-loop turn in one call (redis-lookups.ts; a lone lookup is a batch of one), each
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

// The body both set scripts share once they know where the epoch comes from and where the tags start.
function setScript(prelude: string, epochOf: string, firstTag: number): string {
  return `${prelude}
local ttl = tonumber(ARGV[2])
if not (ttl and ttl >= 1 and ttl <= ${MAX_TTL} and ttl == math.floor(ttl)) then return 0 end
check_run(KEYS[2], KEYS[4])
local epoch = ${epochOf}
local started = tonumber(ARGV[1])
local tags = {}
for i = ${firstTag}, #ARGV do tags[#tags + 1] = ARGV[i] end
if not started or started <= epoch or not tags_fresh(KEYS[2], tags, started) then return 0 end
local old = redis.call('HMGET', KEYS[1], 's', 't')
local old_started = tonumber(old[1])
if old_started and old_started > started and old[2] and fresh(KEYS[2], epoch, old_started, old[2]) then return 0 end
local parts = {}
for i = 1, #tags do parts[i] = #tags[i] .. ':' .. tags[i] end
redis.call('HSET', KEYS[1], 's', ARGV[1], 't', table.concat(parts), 'm', ARGV[3], 'b', ARGV[4])
local expiry = redis.pcall('PEXPIRE', KEYS[1], ARGV[2])
if type(expiry) == 'table' and expiry.err then
  redis.call('UNLINK', KEYS[1])
  return 0
end
local longest = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if ttl > longest then redis.call('SET', KEYS[3], ARGV[2]) end
return 1
`;
}

/**
 * set: stores an entry unless its fill is doomed.
 * KEYS: [1] the entry hash, [2] the records sorted set, [3] the longest-ttl string, [4] the run id.
 * ARGV: [1] startedAt (µs), [2] the ms to keep it, [3] metadata JSON, [4] body, [5..] its tags.
 * Returns 1 stored; 0 refused (a tag or the epoch expired at or after startedAt, a later valid entry is there, or
 * the ttl is outside 1..MAX_TTL). The ttl is checked before any write: a PEXPIRE that failed after HSET would
 * leave an entry that never expires.
 */
const SET_SCRIPT = setScript(PRELUDE, 'epoch_of(KEYS[2], clock())', 5);

/*
 * What both expire scripts do once they know `epoch`, `stamp` (the clock the expiry is recorded at) and `longest`
 * (the longest entry ttl, ms; 0: unknown): record every tag from ARGV[first] on at the stamp, never below a stamp
 * recorded before; drop records older than the longest ttl and those over maxRecords (ARGV[1]); write the epoch,
 * raised over whatever was dropped, as `raised`.
 */
function recordAndPrune(first: number): string {
  return `-- Never record a stamp below one already recorded, even if the clock steps back.
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if top[2] and tonumber(top[2]) > stamp then stamp = tonumber(top[2]) end
for i = ${first}, #ARGV, 500 do
  local args = {}
  for j = i, math.min(i + 499, #ARGV) do
    args[#args + 1] = num(stamp)
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', KEYS[1], unpack(args))
end
-- A record older than the longest TTL can only doom entries that are gone; the epoch covers any that are not.
local raised = epoch
if longest > 0 then
  local cutoff = stamp - longest * 1000
  -- The epoch itself is under the cutoff too: only records dropped with it raise it.
  if cutoff > epoch and redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(cutoff)) > 1 then raised = cutoff end
end
local excess = redis.call('ZCARD', KEYS[1]) - 1 - tonumber(ARGV[1])
if excess > 0 then
  -- The epoch is among the lowest scores (records under it are redundant), so pop one more and put it back.
  local popped = redis.call('ZPOPMIN', KEYS[1], excess + 1)
  for i = 2, #popped, 2 do
    local score = tonumber(popped[i])
    if score > raised then raised = score end
  end
end
redis.call('ZADD', KEYS[1], num(raised), EPOCH)
`;
}

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
// message's, '0-0' when none). Shared by stream state (one node) and cluster poll (one bucket).
const STREAM_STATE = `local now = clock()
local epoch = tonumber(redis.call('ZSCORE', KEYS[1], EPOCH) or '0') or 0
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
`;

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
  expire: { name: 'groupCacheExpire4', numberOfKeys: 5, lua: EXPIRE_SCRIPT },
  touch: { name: 'groupCacheTouch4', numberOfKeys: 4, lua: TOUCH_SCRIPT },
  streamState: { name: 'groupCacheStreamState4', numberOfKeys: 4, lua: STREAM_STATE_SCRIPT },
  confirm: { name: 'groupCacheConfirm3', numberOfKeys: 3, lua: CONFIRM_SCRIPT },
  lock: { name: 'groupCacheLock1', numberOfKeys: 1, lua: LOCK_SCRIPT },
  unlock: { name: 'groupCacheUnlock2', numberOfKeys: 1, lua: UNLOCK_SCRIPT },
} as const satisfies Record<string, RedisScript>;

/*
 * Redis Cluster (see redis-cluster.ts). Each script touches the keys of one bucket only, `{<prefix><n>}`: its
 * records (a sorted set of tag -> stamp, plus the bucket's own epoch), its longest-ttl string, its expiry stream and
 * that stream's sequence counter, and the entries whose id hashes to it. Stamps are the clock of the node that runs the script; records are written SKEW µs ahead of it
 * (the bound on how far two nodes' clocks may differ), and a lost epoch is made MARGIN (2 SKEW) ahead: a record of
 * another node, or of this bucket's previous master, is then never dated below a fill that started before it.
 */
const CLUSTER_PRELUDE = `${PRELUDE}
-- The bucket's epoch; a missing one (records lost) is made at now + margin. With no margin the clock is moved to the
-- next microsecond, as epoch_of does, so that a fill dated from this lookup is not doomed by it.
local function bucket_epoch(records, now, margin)
  local epoch = redis.call('ZSCORE', records, EPOCH)
  if epoch then return tonumber(epoch), now, 0 end
  local made = now + margin
  redis.call('ZADD', records, num(made), EPOCH)
  local later = now
  if margin == 0 then
    for _ = 1, 10000 do
      later = clock()
      if later > now then break end
    end
  end
  return made, later, 1
end
`;

/**
 * cluster get (round trip 1): the entry with its bucket's epoch and the records of its tags held in that bucket.
 * KEYS: [1] the entry hash, [2] its bucket's records, [3] its bucket's run id. ARGV: [1] margin (µs).
 * Returns `{ stamp, made, 0 }` when nothing is held, else `{ stamp, made, expiredAt, startedAt, meta, body }` (as one
 * answer of `getMany`); the caller reads the records of its other tags from their buckets (`clusterRecords`).
 */
const CLUSTER_GET_SCRIPT = `${CLUSTER_PRELUDE}
check_run(KEYS[2], KEYS[3])
local epoch, now, made = bucket_epoch(KEYS[2], clock(), tonumber(ARGV[1]))
local f = redis.call('HMGET', KEYS[1], 's', 't', 'm', 'b')
if not f[1] then return { now, made, 0 } end
local tags = f[2] and decode_tags(f[2])
if not (tags and f[3] and f[4]) then
  redis.call('UNLINK', KEYS[1])
  return { now, made, 0 }
end
return { now, made, latest_expiry(KEYS[2], tags, epoch), f[1], f[3], f[4] }
`;

/**
 * cluster records (round trip 2, one call per other bucket, in parallel): the latest expiry stamp of the tags given,
 * never below the bucket's epoch (made if missing). KEYS: [1] the bucket's records, [2] its run id. ARGV: [1] margin,
 * [2..] tags.
 */
const CLUSTER_RECORDS_SCRIPT = `${CLUSTER_PRELUDE}
check_run(KEYS[1], KEYS[2])
local epoch = bucket_epoch(KEYS[1], clock(), tonumber(ARGV[1]))
local tags = {}
for i = 2, #ARGV do tags[#tags + 1] = ARGV[i] end
return latest_expiry(KEYS[1], tags, epoch)
`;

/**
 * cluster check (before a set, one call per other bucket of the entry's tags, in parallel): raises the bucket's
 * longest ttl (its records must outlive the entry) and answers 1 when neither the epoch nor a tag given was expired
 * at or after startedAt. KEYS: [1] records, [2] longest-ttl, [3] run id. ARGV: [1] margin, [2] startedAt, [3] ttl ms,
 * [4..] tags.
 */
const CLUSTER_CHECK_SCRIPT = `${CLUSTER_PRELUDE}
check_run(KEYS[1], KEYS[3])
local epoch = bucket_epoch(KEYS[1], clock(), tonumber(ARGV[1]))
local ttl = tonumber(ARGV[3])
local longest = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if ttl and ttl > longest then redis.call('SET', KEYS[2], ARGV[3]) end
local started = tonumber(ARGV[2])
local tags = {}
for i = 4, #ARGV do tags[#tags + 1] = ARGV[i] end
if not started or started <= epoch or not tags_fresh(KEYS[1], tags, started) then return 0 end
return 1
`;

/**
 * cluster set: as set, in the entry's bucket (its epoch and the records held there; the other buckets were checked
 * just before, and every lookup checks them again). KEYS: as set. ARGV: as set, then [5] margin, [6..] the tags.
 */
const CLUSTER_SET_SCRIPT = setScript(CLUSTER_PRELUDE, 'bucket_epoch(KEYS[2], clock(), tonumber(ARGV[5]))', 6);

/**
 * cluster expire: as expire, for the tags of one bucket (one ZADD), stamped skew µs ahead of this node's clock and
 * never below a stamp recorded before; prunes as expire does, within the bucket's share of maxRecords, and publishes
 * it all on the bucket's own stream (the tags, the stamp and the bucket's epoch after the write). With no tag (a
 * sweep of an untouched bucket) it only prunes, and publishes only if that raised the epoch.
 * The longest ttl is the bucket's, or the longest this process stored if that is more (a record pruned too early
 * only raises the epoch: entries read as misses, never fresher); with neither, nothing is pruned by age.
 * KEYS: [1] records, [2] longest-ttl, [3] the bucket's stream sequence counter, [4] the bucket's stream, [5] run id.
 * ARGV: [1] maxRecords of the bucket, [2] skew, [3] margin, [4] the longest ttl this process stored (ms), [5] the
 * stream's length (0: do not publish), [6..] tags.
 */
const CLUSTER_EXPIRE_SCRIPT = `${CLUSTER_PRELUDE}
check_run(KEYS[1], KEYS[5])
local epoch, now = bucket_epoch(KEYS[1], clock(), tonumber(ARGV[3]))
local stamp = now + tonumber(ARGV[2])
local longest = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') or 0, tonumber(ARGV[4]) or 0)
${recordAndPrune(6)}-- Pruning alone (no tag) publishes only an epoch it raised, in a message with no tag.
if #ARGV >= 6 or raised > epoch then publish(KEYS[3], KEYS[4], tonumber(ARGV[5]), stamp, raised, ARGV, 6) end
return stamp
`;

/**
 * cluster touch (clear): raises the bucket's epoch to skew µs ahead of this node's clock, never lowering it, and
 * publishes it on the bucket's stream (a message with no tag).
 * KEYS: [1] records, [2] the bucket's stream sequence counter, [3] the bucket's stream, [4] run id. ARGV: [1] skew,
 * [2] the stream's length (0: do not publish). Returns the epoch.
 */
const CLUSTER_TOUCH_SCRIPT = `${CLUSTER_PRELUDE}
check_run(KEYS[1], KEYS[4])
local stamp = clock() + tonumber(ARGV[1])
local epoch = tonumber(redis.call('ZSCORE', KEYS[1], EPOCH) or '0') or 0
if epoch > stamp then stamp = epoch end
redis.call('ZADD', KEYS[1], num(stamp), EPOCH)
publish(KEYS[2], KEYS[3], tonumber(ARGV[2]), stamp, stamp, {}, 1)
return stamp
`;

/**
 * cluster poll (a tiered store's reader, one call per bucket each round, in parallel): the bucket's state and the
 * messages after the reader's cursor, read atomically, so that "nothing missing" can be checked exactly. A missing
 * epoch is left for the next lookup to make, as stream state does.
 * KEYS: [1] records, [2] the bucket's stream sequence counter, [3] the bucket's stream, [4] run id. ARGV: [1] the cursor (the
 * id of the last message the reader applied; '' for the state alone), [2] the most messages to answer.
 * Returns `{ now, epoch, seq, lastId, messages }`: as stream state, then the messages after the cursor (XRANGE).
 */
const CLUSTER_POLL_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[4])
${STREAM_STATE}local messages = {}
if ARGV[1] ~= '' then messages = redis.call('XRANGE', KEYS[3], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2])) end
return { now, epoch, seq, id, messages }
`;

/**
 * cluster confirm (a tiered store's strict mode, for each bucket of an entry's tags other than its own; its own runs
 * confirm): whether neither the bucket's epoch nor a tag given was expired at or after startedAt.
 * KEYS: [1] records, [2] run id. ARGV: [1] startedAt, [2..] tags. Returns `{ now, 1 }` or `{ now, 0 }` (also when the
 * epoch is missing: the lookup that follows makes it).
 */
const CLUSTER_CONFIRM_SCRIPT = `${PRELUDE}
check_run(KEYS[1], KEYS[2])
local now = clock()
local epoch = tonumber(redis.call('ZSCORE', KEYS[1], EPOCH) or '')
local started = tonumber(ARGV[1])
if not epoch or not started or started <= epoch then return { now, 0 } end
local tags = {}
for i = 2, #ARGV do tags[#tags + 1] = ARGV[i] end
if not tags_fresh(KEYS[1], tags, started) then return { now, 0 } end
return { now, 1 }
`;

/** The scripts of the store on Redis Cluster (redis-cluster.ts). */
export const CLUSTER_SCRIPTS = {
  get: { name: 'groupCacheClusterGet2', numberOfKeys: 3, lua: CLUSTER_GET_SCRIPT },
  records: { name: 'groupCacheClusterRecords2', numberOfKeys: 2, lua: CLUSTER_RECORDS_SCRIPT },
  check: { name: 'groupCacheClusterCheck2', numberOfKeys: 3, lua: CLUSTER_CHECK_SCRIPT },
  set: { name: 'groupCacheClusterSet2', numberOfKeys: 4, lua: CLUSTER_SET_SCRIPT },
  expire: { name: 'groupCacheClusterExpire4', numberOfKeys: 5, lua: CLUSTER_EXPIRE_SCRIPT },
  touch: { name: 'groupCacheClusterTouch3', numberOfKeys: 4, lua: CLUSTER_TOUCH_SCRIPT },
  poll: { name: 'groupCacheClusterPoll3', numberOfKeys: 4, lua: CLUSTER_POLL_SCRIPT },
  confirm: { name: 'groupCacheClusterConfirm2', numberOfKeys: 2, lua: CLUSTER_CONFIRM_SCRIPT },
} as const satisfies Record<string, RedisScript>;
