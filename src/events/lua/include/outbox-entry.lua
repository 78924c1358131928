--[[
  One outbox entry, shared by every script that records an event. src/events/outbox-entry.ts parses the same
  fields; a round-trip test keeps the two in step. Single-letter field names keep the stream small.

    u  UserID                    k  event kind (transition, snapshot, not_found, untracked, devices), or
                                    membership: the user's watchlists changed; a state record only, no event
    f  from: state code or ''    t  to: state code or ''
    s  seq                       o  observedAtMs
    p  previousObservedAtMs      w  comma-separated watchlist ids tracking the user
    d  devices JSON or ''        e  epoch
    b  how the change was seen: s sweep, h hint call, c trusted callback; absent when nothing was observed
       (untracked, membership, a snapshot re-published from the stored state)
]]
--[[
  Low-priority snapshots (redis.snapshotPriority: low). Each shard then has, beside its outbox stream, a low stream
  for `snapshot` entries and a hash: UserID -> id of the user's pending entry in the low stream (at most one per
  user), and `@claim` -> the last id of the low batch the relay is publishing (src/relay/lua/claim-low-batch.lua).
  The relay alternates one low batch with one read of the outbox stream, taking only snapshots appended before the
  outbox stream's head (src/relay/lua/claim-low-batch.lua), so a burst of snapshots holds up another user's
  transition by at most two batches. A user's order is kept here:
    - any entry for a user with a pending low entry first moves that entry to the end of the outbox stream (same
      fields, new id); then a snapshot goes to the low stream (and is the user's pending entry), anything else to
      the outbox stream. So a user has at most one pending low entry, and nothing of it waits in the outbox stream
      behind it;
    - unless the pending entry is in the claimed batch: the relay finishes a claimed batch before it reads the
      outbox stream again (even after a crash: the claim is in Redis), so the new entry simply goes after it (the
      hash then names the new entry if it is a snapshot; the trim deletes a field only while it names what it
      published).
  `lowOutboxes` maps an outbox stream to {low stream, hash}; outboxOfBucket fills it.
]]
local lowOutboxes = {}

-- The millisecond part of a stream id.
local function streamIdMs(id)
  return tonumber(string.match(id, '^(%d+)-'))
end

-- Stream ids compare as (ms, seq) pairs; both parts fit a Lua number exactly.
local function streamIdAtMost(a, b)
  local aMs, aSeq = string.match(a, '^(%d+)-(%d+)$')
  local bMs, bSeq = string.match(b, '^(%d+)-(%d+)$')
  aMs, bMs = tonumber(aMs), tonumber(bMs)
  return aMs < bMs or (aMs == bMs and tonumber(aSeq) <= tonumber(bSeq))
end

-- Moves the user's pending low entry ahead of a new entry (see above); returns nothing.
local function promotePending(outbox, low, user)
  local pendingId = redis.call('HGET', low[2], user)
  if not pendingId then return end
  local claim = redis.call('HGET', low[2], '@claim')
  if claim and streamIdAtMost(pendingId, claim) then return end
  local found = redis.call('XRANGE', low[1], pendingId, pendingId)
  if #found == 1 then
    redis.call('XADD', outbox, '*', unpack(found[1][2]))
    redis.call('XDEL', low[1], pendingId)
  end
  redis.call('HDEL', low[2], user)
end

--[[
  The id of a new entry of a low stream. The relay takes a low entry only while its millisecond is earlier than the
  outbox stream's head (src/relay/lua/claim-low-batch.lua), which keeps a user's order only if no entry written to
  the outbox stream before the snapshot has a later millisecond. Each stream's ids follow the Redis server's clock
  (never going below the stream's own last id), so after the clock stepped back, or a failover to a node whose
  clock is behind, a snapshot would get an earlier millisecond than the outbox entries written just before it: it
  then takes the millisecond of the outbox stream's last entry instead ('*' when the clock is ahead of it).
]]
local function lowEntryId(outbox, lowStream)
  local last = redis.call('XREVRANGE', outbox, '+', '-', 'COUNT', 1)
  if #last == 0 then return '*' end
  local lastMs = streamIdMs(last[1][1])
  local time = redis.call('TIME')
  if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > lastMs then return '*' end
  local top = redis.call('XREVRANGE', lowStream, '+', '-', 'COUNT', 1)
  if #top > 0 and streamIdMs(top[1][1]) >= lastMs then return '*' end
  return lastMs .. '-*'
end

-- XADD with `id`; an explicit id the stream refuses (below an id it generated before, already trimmed) falls back
-- to '*', which is then at least as late.
local function addEntry(stream, id, ...)
  if id ~= '*' then
    local added = redis.pcall('XADD', stream, id, ...)
    if type(added) ~= 'table' or not added.err then return added end
  end
  return redis.call('XADD', stream, '*', ...)
end

local function appendEvent(outbox, user, kind, from, to, seq, observedAt, previousAt, members, devices, epoch, by)
  local low = lowOutboxes[outbox]
  local id = '*'
  if low then
    promotePending(outbox, low, user)
    if kind == 'snapshot' then
      id = lowEntryId(outbox, low[1])
      outbox = low[1]
    end
  end
  if by == '' then
    id = addEntry(outbox, id, 'u', user, 'k', kind, 'f', from, 't', to, 's', seq, 'o', observedAt,
      'p', previousAt, 'w', members, 'd', devices, 'e', epoch)
  else
    id = addEntry(outbox, id, 'u', user, 'k', kind, 'f', from, 't', to, 's', seq, 'o', observedAt,
      'p', previousAt, 'w', members, 'd', devices, 'e', epoch, 'b', by)
  end
  if low and outbox == low[1] then redis.call('HSET', low[2], user, id) end
end

--[[
  Per-user keys, named in the script. A user's state bucket and outbox shard are not passed in KEYS: the scripts
  build their names from the app's key space, the same names src/redis/keys.ts builds (the state and outbox-shard
  tests read what the scripts wrote through keys.ts, so the two stay in step). A chunk of 500 users spans ~430
  buckets, and passing each as a key was most of every diff call's bytes and of the worker's time writing it
  (BENCHMARKS.md, "Keys named in the script"). Every such key carries the app's hash tag, like KEYS[1], so on a
  Redis Cluster it lives in the slot the call was routed to.

  useKeySpace(spec) reads the key space argument, `<hash tag>,<outbox shards>,<snapshot priority>,<bucket id
  width>` (AppKeys.keySpace), e.g. `{presence:1400000000},1,normal,3`. A bucket is named by its id: its number in
  base 36, at most `bucket id width` characters.
  Outbox shards (redis.outboxShards): a user's entries go to the outbox stream of its shard, the bucket's number
  modulo the shards; shard 0's stream is the single outbox of one shard. With low-priority snapshots each outbox
  stream has its low stream and hash (see above).
]]
local keySpaceTag, keySpaceShards, keySpaceLow, keySpaceBucketIdWidth = nil, 1, false, 1

local function useKeySpace(spec)
  local tag, shards, priority, width = string.match(spec, '^(.+),(%d+),(%a+),(%d+)$')
  if not tag then error('malformed key space argument: ' .. spec) end
  keySpaceTag, keySpaceShards, keySpaceLow = tag, tonumber(shards), priority == 'low'
  keySpaceBucketIdWidth = tonumber(width)
end

local function stateBucketKey(bucketId)
  return keySpaceTag .. ':s:' .. bucketId
end

local outboxOfBucketId = {}
-- The outbox stream of a bucket's shard (its low stream registered in lowOutboxes when snapshots are low).
local function outboxOfBucket(bucketId)
  local outbox = outboxOfBucketId[bucketId]
  if outbox then return outbox end
  local shard = tonumber(bucketId, 36) % keySpaceShards
  outbox = shard == 0 and (keySpaceTag .. ':outbox') or (keySpaceTag .. ':outbox:' .. shard)
  if keySpaceLow then lowOutboxes[outbox] = { outbox .. ':low', outbox .. ':low-pending' } end
  outboxOfBucketId[bucketId] = outbox
  return outbox
end
