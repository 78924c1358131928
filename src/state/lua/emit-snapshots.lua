--[[
  emit-snapshots: re-publish the current state of users as `snapshot` events (e.g. for a consumer rebuilding
  its view). Each gets the next seq; users never observed, not found or not tracked are skipped.

  KEYS[1]       outbox stream
  KEYS[2..]     state buckets referenced below
  ARGV[1..]     pairs: userId, KEYS index of its bucket
  Returns       snapshot events appended
]]
--- @include "include/record.lua"
--- @include "../../events/lua/include/outbox-entry.lua"

local emitted = 0
for i = 1, #ARGV, 2 do
  local user, bucket = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  local record = redis.call('HGET', bucket, user)
  if record then
    local members, state, seq, seenAt, devHash, epoch = decodeRecord(record)
    if state == CODE_ONLINE or state == CODE_PUSH_ONLINE or state == CODE_OFFLINE then
      seq = seq + 1
      appendEvent(KEYS[1], user, 'snapshot', '', state, seq, seenAt, seenAt, members, '', epoch, '')
      redis.call('HSET', bucket, user, encodeRecord(members, state, seq, seenAt, devHash, epoch))
      emitted = emitted + 1
    end
  end
end
return emitted
