--[[
  trim-low-outbox: after Kafka acknowledged a batch of a shard's low-priority stream (claim-low-batch.lua), delete it,
  forget the pending entries it published and end the claim it finishes, in one step and only while still holding
  the relay lease. As in trim-outbox.lua, the batch is the oldest entries left (a claimed entry is never moved out of
  the stream), so one XTRIM MINID deletes exactly it.

  KEYS[1]   relay lease (of the shard)
  KEYS[2]   low-priority stream (of the shard)
  KEYS[3]   its hash (UserID -> pending entry id, `@claim`)
  KEYS[4]   relay state hash (published counter)
  ARGV[1]   lease token of this relay
  ARGV[2]   the id right after the batch's last entry
  ARGV[3]   the batch's last entry id
  ARGV[4..] pairs: UserID, entry id, for each entry of the batch (a field is deleted only while it still holds that
            id: a newer pending entry of the user stays)
  Returns   entries deleted, or -1 when the lease is not ours
]]
--- @include "../../events/lua/include/outbox-entry.lua"

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local deleted = redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2])
for i = 4, #ARGV, 2 do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[3], ARGV[i]) end
end
local claim = redis.call('HGET', KEYS[3], '@claim')
if claim and streamIdAtMost(claim, ARGV[3]) then redis.call('HDEL', KEYS[3], '@claim') end
redis.call('HINCRBY', KEYS[4], 'published', deleted)
return deleted
