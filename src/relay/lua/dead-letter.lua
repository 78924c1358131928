--[[
  dead-letter: move one outbox entry that Kafka refused for its size to the dead-letter stream, in one step, and
  only while holding the relay lease (a relay that lost its lease leaves the entry to the new holder).
  The entry keeps its outbox fields as they are, so a replay can append them to the outbox unchanged; the fields
  added here start with "_" (outbox fields never do).

  KEYS[1]   relay lease (of the shard)
  KEYS[2]   outbox stream (of the shard)
  KEYS[3]   dead-letter stream
  KEYS[4]   relay state hash (deadLettered counter)
  KEYS[5]   optional, for an entry of a low-priority stream (KEYS[2]): its hash; the user's field goes when it still
            names this entry (events/lua/include/outbox-entry.lua, "Low-priority snapshots")
  ARGV[1]   lease token of this relay
  ARGV[2]   outbox entry id
  ARGV[3]   eventId of the entry
  ARGV[4]   why Kafka refused it
  ARGV[5..] the entry's fields and values, as read from the outbox
  Returns   1 when moved, 0 when the entry was no longer in the outbox, -1 when the lease is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if #redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2]) == 0 then return 0 end
local fields = { '_outboxId', ARGV[2], '_eventId', ARGV[3], '_reason', ARGV[4] }
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(fields))
redis.call('XDEL', KEYS[2], ARGV[2])
if KEYS[5] then
  for i = 5, #ARGV - 1, 2 do
    if ARGV[i] == 'u' then
      if redis.call('HGET', KEYS[5], ARGV[i + 1]) == ARGV[2] then redis.call('HDEL', KEYS[5], ARGV[i + 1]) end
      break
    end
  end
end
redis.call('HINCRBY', KEYS[4], 'deadLettered', 1)
return 1
