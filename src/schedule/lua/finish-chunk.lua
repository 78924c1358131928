--[[
  finish-chunk: count one chunk of a sweep as done (completed, or given up after its last attempt), once.

  KEYS[1]   sweep hash (see begin-sweep.lua)
  KEYS[2]   done bitmap of the current sweep
  ARGV[1]   sweep id the chunk belongs to
  ARGV[2]   chunk index
  ARGV[3]   nowMs
  Returns   {remaining, startNext[, durationMs]}: chunks still outstanding after this one (-1 when the chunk was
            already counted or belongs to an old sweep); startNext 1 when this completed the sweep and a tick came
            while it ran (the caller starts the follow-up sweep now); durationMs when this completed the sweep (also
            stored in lastDurationMs).
]]
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return {-1, 0} end
if redis.call('SETBIT', KEYS[2], tonumber(ARGV[2]), 1) == 1 then return {-1, 0} end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
if remaining ~= 0 then return {remaining, 0} end
local durationMs = tonumber(ARGV[3]) - tonumber(redis.call('HGET', KEYS[1], 'startedAt'))
redis.call('HSET', KEYS[1], 'lastDurationMs', durationMs, 'lastCompletedAt', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'completed', 1)
return {0, redis.call('HDEL', KEYS[1], 'pending'), durationMs}
