--[[
  report-start: a caller started the call of reservation `seq`; record the actual start in its ring field (see
  reserve-call.lua), which until now held the provisional latest start. Only ever moves the field earlier, and only
  while the field still belongs to this reservation (fewer than windowCalls reservations since).

  KEYS[1]   pacer hash (see reserve-call.lua)
  ARGV[1]   seq returned by reserve-call
  ARGV[2]   the start, µs on the Redis clock (slot + measured lateness)
  ARGV[3]   windowCalls, as given to reserve-call
  Returns   1 when recorded, 0 when the field had moved on or already held an earlier time
]]
local seq, startUs, windowCalls = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local latest = tonumber(redis.call('HGET', KEYS[1], 'seq')) or 0
if latest - seq >= windowCalls then return 0 end
local ringField = 's' .. (seq % windowCalls)
local current = tonumber(redis.call('HGET', KEYS[1], ringField))
if current == nil or startUs >= current then return 0 end
redis.call('HSET', KEYS[1], ringField, string.format('%.0f', startUs))
return 1
