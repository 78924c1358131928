--[[
  finish-chunk: count one chunk of a sweep as done (completed, or given up after its last attempt), once.

  KEYS[1]   sweep hash (see begin-sweep.lua)
  KEYS[2]   done bitmap of the current sweep
  ARGV[1]   sweep id the chunk belongs to
  ARGV[2]   chunk index
  ARGV[3]   nowMs
  Returns   remaining chunks after this one; -1 when the chunk was already counted or belongs to an old sweep.
            When it reaches 0 the sweep is complete and its duration is stored in lastDurationMs.
]]
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return -1 end
if redis.call('SETBIT', KEYS[2], tonumber(ARGV[2]), 1) == 1 then return -1 end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
if remaining == 0 then
  local startedAt = tonumber(redis.call('HGET', KEYS[1], 'startedAt'))
  redis.call('HSET', KEYS[1], 'lastDurationMs', tonumber(ARGV[3]) - startedAt, 'lastCompletedAt', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'completed', 1)
end
return remaining
