--[[
  emit-snapshots: re-publish the current state of users as `snapshot` events (e.g. for a consumer rebuilding
  its view). Each gets the next seq; users never observed, not found or not tracked are skipped.

  KEYS[1]       outbox stream (of shard 0; see "Outbox shards" in outbox-entry.lua)
  KEYS[2..]     state buckets referenced below, then the outbox streams of the other shards they need
  ARGV[1]       outbox layout of the buckets from KEYS[2] on ('' with a single shard; see outboxesByBucket)
  ARGV[2..]     pairs: userId, KEYS index of its bucket
  Returns       snapshot events appended
]]
--- @include "include/record.lua"
--- @include "../../events/lua/include/outbox-entry.lua"

local outboxOf = outboxesByBucket(2, ARGV[1])
local emitted = 0
for i = 2, #ARGV, 2 do
  local bucketIndex = tonumber(ARGV[i + 1])
  local user, bucket = ARGV[i], KEYS[bucketIndex]
  local record = redis.call('HGET', bucket, user)
  if record then
    local members, state, seq, seenAt, devHash, epoch = decodeRecord(record)
    if state == CODE_ONLINE or state == CODE_PUSH_ONLINE or state == CODE_OFFLINE then
      seq = seq + 1
      appendEvent(outboxOf[bucketIndex] or KEYS[1], user, 'snapshot', '', state, seq, seenAt, seenAt, members, '', epoch, '')
      redis.call('HSET', bucket, user, encodeRecord(members, state, seq, seenAt, devHash, epoch))
      emitted = emitted + 1
    end
  end
end
return emitted
