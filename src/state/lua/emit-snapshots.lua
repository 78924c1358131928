--[[
  emit-snapshots: re-publish the current state of users as `snapshot` events (e.g. for a consumer rebuilding
  its view). Each gets the next seq; users never observed, not found or not tracked are skipped.

  KEYS[1]       outbox stream of shard 0 (names the app: the call is routed by it; the users' keys are named in the
                script, see "Per-user keys" in outbox-entry.lua)
  ARGV[1]       the app's key space: the users' buckets and outboxes are named from it (see "Per-user keys" in
                outbox-entry.lua)
  ARGV[2..]     pairs: userId, id of its state bucket
  Returns       snapshot events appended
]]
--- @include "include/record.lua"
--- @include "../../events/lua/include/outbox-entry.lua"

useKeySpace(ARGV[1])
local emitted = 0
for i = 2, #ARGV, 2 do
  local user, bucketId = ARGV[i], ARGV[i + 1]
  local bucket = stateBucketKey(bucketId)
  local record = redis.call('HGET', bucket, user)
  if record then
    local members, state, seq, seenAt, devHash, epoch = decodeRecord(record)
    if state == CODE_ONLINE or state == CODE_PUSH_ONLINE or state == CODE_OFFLINE then
      seq = seq + 1
      appendEvent(outboxOfBucket(bucketId), user, 'snapshot', '', state, seq, seenAt, seenAt, members, '', epoch, '')
      redis.call('HSET', bucket, user, encodeRecord(members, state, seq, seenAt, devHash, epoch))
      emitted = emitted + 1
    end
  end
end
return emitted
