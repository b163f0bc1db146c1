/*
 * The Lua the Redis store runs on Redis Cluster (cluster.ts), one named constant per script, each with its keys,
 * arguments and reply. They build on the pieces both families share (lua.ts).
 */
import type { RedisScript } from './client.js';
import { PRELUDE, recordAndPrune, STREAM_STATE, setScript } from './lua.js';

/*
 * Redis Cluster (see cluster.ts). Each script touches the keys of one bucket only, `{<prefix><n>}`: its
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

/** The scripts of the store on Redis Cluster (cluster.ts). */
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
