--[[
  emit-snapshots: re-publish the current state of users as `snapshot` events (e.g. for a consumer rebuilding
  its view). Each gets the next seq; users never observed, not found or not tracked are skipped.

  KEYS[1]       outbox stream
  KEYS[2..]     state buckets referenced below
  ARGV[1..]     pairs: userId, KEYS index of its bucket
  Returns       snapshot events appended
]]
local emitted = 0
for i = 1, #ARGV, 2 do
  local user, bucket = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  local record = redis.call('HGET', bucket, user)
  if record then
    local members, state, seq, seenAt, devHash, epoch =
      string.match(record, '^([^|]*)|([^|]*)|(%d+)|(%d+)|([^|]*)|([^|]*)$')
    if state == 'N' or state == 'P' or state == 'F' then
      seq = tonumber(seq) + 1
      redis.call('XADD', KEYS[1], '*', 'u', user, 'k', 'snapshot', 'f', '', 't', state, 's', seq,
        'o', seenAt, 'p', seenAt, 'w', members, 'd', '', 'e', epoch)
      redis.call('HSET', bucket, user,
        members .. '|' .. state .. '|' .. seq .. '|' .. seenAt .. '|' .. devHash .. '|' .. epoch)
      emitted = emitted + 1
    end
  end
end
return emitted
