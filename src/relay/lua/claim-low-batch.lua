--[[
  claim-low-batch: the next batch of a shard's low-priority stream, in one step and only while holding the relay
  lease. The batch is claimed: its last id is kept in the hash's `@claim` field until trim-low-outbox.lua removes it
  after Kafka acknowledged. While a batch is claimed, a new event of one of its users goes to the outbox stream
  without moving the pending snapshot (events/lua/include/outbox-entry.lua, "Low-priority snapshots"), so the relay
  must publish a claimed batch before anything else of the shard: a claim left by a relay that crashed is returned
  again first (published at most once more, with the same eventIds).

  Which batch: the oldest entries appended in an earlier millisecond than the head of the outbox stream (all of them
  while it is empty), whatever redis.snapshotPriority is now.
    - This keeps each user's order: a user's entry written to the outbox stream before its snapshot has an id of the
      same or an earlier millisecond (even with the server's clock behind: lowEntryId in outbox-entry.lua), so while
      it is unpublished (at or after the head) the snapshot is not taken; in one millisecond the outbox stream's
      entries go first. Entries written after the snapshot moved it ahead
      (promotePending) unless it was claimed, and a claimed batch is published before anything else.
    - With `low` the relay alternates: one batch from here, one read of the outbox stream. So a transition waits
      behind at most two low batches, and the snapshots still drain while new transitions keep the outbox stream
      from ever being empty (claiming only while it is empty starved them under steady churn).
    - With `normal` (after a switch back, snapshots still wait here and nothing appends any more) the relay merges
      the two streams by time: it reads the outbox stream only up to the millisecond of this stream's head, then
      takes from here. A user's entries written after the switch (nothing moves the snapshot any more) follow it.

  KEYS[1]   relay lease (of the shard)
  KEYS[2]   outbox stream (of the shard)
  KEYS[3]   low-priority stream (of the shard)
  KEYS[4]   its hash (UserID -> pending entry id, `@claim` -> last id of the claimed batch)
  ARGV[1]   lease token of this relay
  ARGV[2]   entries per batch
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
  upTo = '(' .. string.match(head[1][1], '^(%d+)-') .. '-0'
end
local rows = redis.call('XRANGE', KEYS[3], '-', upTo, 'COUNT', tonumber(ARGV[2]))
if #rows > 0 then redis.call('HSET', KEYS[4], '@claim', rows[#rows][1]) end
return rows
