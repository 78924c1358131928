--[[
  trim-outbox: after Kafka acknowledged a batch, delete exactly those entries, but only while still holding the
  relay lease (a relay that lost its lease must not trim what the new holder may still be publishing).

  KEYS[1]   relay lease
  KEYS[2]   outbox stream
  KEYS[3]   relay state hash (published counter, lastId)
  ARGV[1]   lease token of this relay
  ARGV[2..] entry ids to delete
  Returns   entries deleted, or -1 when the lease is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local deleted = redis.call('XDEL', KEYS[2], unpack(ids))
redis.call('HINCRBY', KEYS[3], 'published', deleted)
redis.call('HSET', KEYS[3], 'lastId', ARGV[#ARGV])
return deleted
