--[[
  add-hints: users named by state-change callbacks join the app's hint queue, atomically and bounded.
  A user already waiting keeps its place and first time (duplicates merge); beyond the bound new users are dropped
  and counted: the sweeps will reach them anyway.

  KEYS[1]   hint queue (sorted set: UserID -> ms the first callback naming it arrived)
  ARGV[1]   most users that may wait
  ARGV[2..] pairs: receivedAtMs, UserID

  Returns {added, merged, overflow}
]]
local max = tonumber(ARGV[1])
local added, merged, overflow = 0, 0, 0
local size = redis.call('ZCARD', KEYS[1])
for i = 2, #ARGV, 2 do
  local user = ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[1], user) then
    merged = merged + 1
  elseif size >= max then
    overflow = overflow + 1
  else
    redis.call('ZADD', KEYS[1], ARGV[i], user)
    size = size + 1
    added = added + 1
  end
end
return {added, merged, overflow}
