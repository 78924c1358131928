--[[
  trim-outbox: after Kafka acknowledged a batch, delete it from the outbox, but only while still holding the relay
  lease (a relay that lost its lease must not trim what the new holder may still be publishing).

  The relay publishes the outbox from its head and a batch is always the oldest entries left (earlier ones were
  trimmed or dead-lettered), so the batch is exactly the entries below ARGV[2]: one XTRIM MINID frees them, and
  whole stream nodes at once, where XDEL of each id would leave the nodes half empty until their last entry goes.

  KEYS[1]   relay lease
  KEYS[2]   outbox stream
  KEYS[3]   relay state hash (published counter, last published id of each shard)
  ARGV[1]   lease token of this relay
  ARGV[2]   the id right after the batch's last entry
  ARGV[3]   the batch's last entry id
  ARGV[4]   the field of KEYS[3] holding the shard's last published id
  Returns   entries deleted, or -1 when the lease is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local deleted = redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2])
redis.call('HINCRBY', KEYS[3], 'published', deleted)
redis.call('HSET', KEYS[3], ARGV[4], ARGV[3])
return deleted
