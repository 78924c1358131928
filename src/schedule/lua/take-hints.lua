--[[
  take-hints: takes the oldest waiting hinted users for one call, if this second's hint budget allows another call.
  The budget (a share of the app's cap) is counted across every process in one key per second, so hint calls never
  take more than their share; what they leave unused stays with the sweeps, which are paced by the same slots.

  KEYS[1]   hint queue (sorted set: UserID -> first callback time, ms)
  KEYS[2]   hint calls started in the current second (a counter that expires)
  ARGV[1]   hint calls allowed per second
  ARGV[2]   most users per call (500)

  Returns a flat list UserID, receivedAtMs, ... (empty when nothing waits or the budget of this second is spent)
]]
if redis.call('ZCARD', KEYS[1]) == 0 then return {} end
local calls = redis.call('INCR', KEYS[2])
if calls == 1 then redis.call('PEXPIRE', KEYS[2], 2000) end
if calls > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[2])
  return {}
end
return redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[2]))
