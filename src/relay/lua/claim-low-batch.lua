--[[
  claim-low-batch: the next batch of a shard's low-priority stream (redis.snapshotPriority: low), read only while the
  shard's outbox stream is empty, in the same step, and only while holding the relay lease. The batch is claimed:
  its last id is kept in the hash's `@claim` field until trim-low-outbox.lua removes it after Kafka acknowledged.
  While a batch is claimed, a new event of one of its users goes to the outbox stream without moving the pending
  snapshot (events/lua/include/outbox-entry.lua, "Low-priority snapshots"), so the relay must publish a claimed batch
  before anything else of the shard: a claim left by a relay that crashed is returned again first (published at
  most once more, with the same eventIds).

  KEYS[1]   relay lease (of the shard)
  KEYS[2]   outbox stream (of the shard)
  KEYS[3]   low-priority stream (of the shard)
  KEYS[4]   its hash (UserID -> pending entry id, `@claim` -> last id of the claimed batch)
  ARGV[1]   lease token of this relay
  ARGV[2]   entries per batch
  Returns   the batch as XRANGE rows (empty: no claim left and the outbox stream not empty, or nothing waiting),
            or -1 when the lease is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local claim = redis.call('HGET', KEYS[4], '@claim')
if claim then
  local claimed = redis.call('XRANGE', KEYS[3], '-', claim)
  if #claimed > 0 then return claimed end
  redis.call('HDEL', KEYS[4], '@claim')
end
if redis.call('XLEN', KEYS[2]) > 0 then return {} end
local rows = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', tonumber(ARGV[2]))
if #rows > 0 then redis.call('HSET', KEYS[4], '@claim', rows[#rows][1]) end
return rows
