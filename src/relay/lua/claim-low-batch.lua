--[[
  claim-low-batch: the next batch of a shard's low-priority stream, in one step and only while holding the relay
  lease. The batch is claimed: its last id is kept in the hash's `@claim` field until trim-low-outbox.lua removes it
  after Kafka acknowledged. While a batch is claimed, a new event of one of its users goes to the outbox stream
  without moving the pending snapshot (events/lua/include/outbox-entry.lua, "Low-priority snapshots"), so the relay
  must publish a claimed batch before anything else of the shard: a claim left by a relay that crashed is returned
  again first (published at most once more, with the same eventIds).

  Which batch, by ARGV[3]:
    low     (redis.snapshotPriority: low) the oldest entries, only while the shard's outbox stream is empty.
    normal  (a switch back to `normal` with snapshots still waiting in the low stream, which nothing appends to
            any more) the oldest entries appended in an earlier millisecond than the head of the outbox stream (all
            of them while it is empty): the relay then merges the two streams by time, reading the outbox stream
            only up to the millisecond of the low stream's head. A user's entries of the outbox stream written
            before its pending snapshot go first and the ones written after it (after the switch, when nothing
            moves it ahead any more) follow it; in one millisecond the outbox stream's go first.

  KEYS[1]   relay lease (of the shard)
  KEYS[2]   outbox stream (of the shard)
  KEYS[3]   low-priority stream (of the shard)
  KEYS[4]   its hash (UserID -> pending entry id, `@claim` -> last id of the claimed batch)
  ARGV[1]   lease token of this relay
  ARGV[2]   entries per batch
  ARGV[3]   `low` (the default) or `normal`, see above
  Returns   the batch as XRANGE rows (empty: no claim left and nothing to publish from the low stream now), or -1
            when the lease is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local claim = redis.call('HGET', KEYS[4], '@claim')
if claim then
  local claimed = redis.call('XRANGE', KEYS[3], '-', claim)
  if #claimed > 0 then return claimed end
  redis.call('HDEL', KEYS[4], '@claim')
end
local upTo = '+'
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #head > 0 then
  if ARGV[3] ~= 'normal' then return {} end
  upTo = '(' .. string.match(head[1][1], '^(%d+)-') .. '-0'
end
local rows = redis.call('XRANGE', KEYS[3], '-', upTo, 'COUNT', tonumber(ARGV[2]))
if #rows > 0 then redis.call('HSET', KEYS[4], '@claim', rows[#rows][1]) end
return rows
