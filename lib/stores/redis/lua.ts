/*
 * The pieces of Lua the scripts of one node (scripts.ts) and of Redis Cluster (cluster-scripts.ts) share: PRELUDE,
 * which every script that reads or writes stamps starts with (one clock, Redis `TIME` in µs, the epoch, the tag
 * checks), and the bodies the two families spell alike. Ids and tags always arrive as arguments, never spliced into
 * the source.
 */
import { MAX_TTL } from '../../core/options.js';

// Shared by every script: Redis 6.2 needs effects replication before a write that follows TIME (7 always does it).
export const PRELUDE = `
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

/*
 * The body both set scripts share once they know where the epoch comes from and where the tags start. With
 * `unlock` (the lock key and the holder's token, as Lua expressions), the fill lock is released after the entry is
 * written or refused, in the same script, by the compare-and-delete of the unlock script.
 */
export function setScript(prelude: string, epochOf: string, firstTag: number, unlock?: { key: string; token: string }): string {
  const body = setBody(epochOf, firstTag);
  if (unlock === undefined) return `${prelude}${body}`;
  const { key, token } = unlock;
  return `${prelude}local function store_entry()${body}end
local stored = store_entry()
local held = redis.call('GET', ${key})
if held and string.sub(held, 1, #${token} + 1) == ${token} .. ':' then redis.call('DEL', ${key}) end
return stored
`;
}

function setBody(epochOf: string, firstTag: number): string {
  return `
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

/*
 * What both expire scripts do once they know `epoch`, `stamp` (the clock the expiry is recorded at) and `longest`
 * (the longest entry ttl, ms; 0: unknown): record every tag from ARGV[first] on at the stamp, never below a stamp
 * recorded before; drop records older than the longest ttl and those over maxRecords (ARGV[1]); write the epoch,
 * raised over whatever was dropped, as `raised`.
 */
export function recordAndPrune(first: number): string {
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

// message's, '0-0' when none). Shared by stream state (one node) and cluster poll (one bucket).
export const STREAM_STATE = `local now = clock()
local epoch = tonumber(redis.call('ZSCORE', KEYS[1], EPOCH) or '0') or 0
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
`;
