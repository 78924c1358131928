--[[
  Counting a chunk of a sweep as done (completed, or given up after its last attempt), once: finish-chunk.lua for a
  chunk that was not observed, and the diff (state/lua/apply-observations.lua) in the same step as the chunk's
  observations.

  sweepKey  sweep hash (see begin-sweep.lua)
  doneKey   done bitmap of the current sweep
  Returns   {remaining, startNext[, durationMs]}: chunks still outstanding after this one (-1 when the chunk was
            already counted or belongs to an old sweep); startNext 1 when this completed the sweep and a tick came
            while it ran (the caller starts the follow-up sweep now); durationMs when this completed the sweep (also
            stored in lastDurationMs).
]]
local function finishChunk(sweepKey, doneKey, sweepId, chunk, nowMs)
  if redis.call('HGET', sweepKey, 'id') ~= sweepId then return {-1, 0} end
  if redis.call('SETBIT', doneKey, tonumber(chunk), 1) == 1 then return {-1, 0} end
  local remaining = redis.call('HINCRBY', sweepKey, 'remaining', -1)
  if remaining ~= 0 then return {remaining, 0} end
  local durationMs = tonumber(nowMs) - tonumber(redis.call('HGET', sweepKey, 'startedAt'))
  redis.call('HSET', sweepKey, 'lastDurationMs', durationMs, 'lastCompletedAt', nowMs)
  redis.call('HINCRBY', sweepKey, 'completed', 1)
  return {0, redis.call('HDEL', sweepKey, 'pending'), durationMs}
end
