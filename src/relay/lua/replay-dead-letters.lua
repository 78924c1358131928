--[[
  replay-dead-letters: append dead-lettered entries back to the outbox (at its end, with their original fields) and
  delete them from the dead-letter stream, in one step so an entry is never in both or in neither.

  KEYS[1]   dead-letter stream
  KEYS[2]   outbox stream (of the shard of the entries' users: src/relay/dead-letters.ts groups them)
  ARGV[1..] dead-letter entry ids to replay (ids no longer there are skipped)
  Returns   entries replayed
]]
local replayed = 0
for i = 1, #ARGV do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #found == 1 then
    local stored = found[1][2]
    local fields = {}
    for j = 1, #stored, 2 do
      if string.sub(stored[j], 1, 1) ~= '_' then
        fields[#fields + 1] = stored[j]
        fields[#fields + 1] = stored[j + 1]
      end
    end
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    redis.call('XDEL', KEYS[1], ARGV[i])
    replayed = replayed + 1
  end
end
return replayed
