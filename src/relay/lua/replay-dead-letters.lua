--[[
  replay-dead-letters: append dead-lettered entries back to the outbox (at its end, with their original fields) and
  delete them from the dead-letter stream, in one step so an entry is never in both or in neither.

  Like every appending script, it first moves the user's pending snapshot of the shard's low-priority stream (if
  any, and unless it is in the batch the relay has claimed) to the end of the outbox stream (promotePending in
  events/lua/include/outbox-entry.lua, "Low-priority snapshots"), so nothing of the user waits in the outbox stream
  behind it: the replayed entry then follows the user's events appended before the replay, in either stream. It
  does so whatever redis.snapshotPriority is now (with `normal`, the low stream holds only what a time with `low`
  left). A replayed snapshot goes to the outbox stream, not the low one.

  KEYS[1]   dead-letter stream
  KEYS[2]   outbox stream (of the shard of the entries' users: src/relay/dead-letters.ts groups them)
  KEYS[3]   the shard's low-priority stream
  KEYS[4]   its hash (UserID -> pending entry id, `@claim`)
  ARGV[1..] dead-letter entry ids to replay (ids no longer there are skipped)
  Returns   entries replayed
]]
--- @include "../../events/lua/include/outbox-entry.lua"

local low = { KEYS[3], KEYS[4] }
local replayed = 0
for i = 1, #ARGV do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #found == 1 then
    local stored = found[1][2]
    local fields = {}
    local user
    for j = 1, #stored, 2 do
      if string.sub(stored[j], 1, 1) ~= '_' then
        fields[#fields + 1] = stored[j]
        fields[#fields + 1] = stored[j + 1]
        if stored[j] == 'u' then user = stored[j + 1] end
      end
    end
    if user then promotePending(KEYS[2], low, user) end
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    redis.call('XDEL', KEYS[1], ARGV[i])
    replayed = replayed + 1
  end
end
return replayed
