--[[
  Recording when a reserved call actually started (see reserve-call.lua): its ring field held the provisional latest
  start (slot + maxLateness). Only ever moves the field earlier, and only while the field still belongs to this
  reservation (fewer than windowCalls reservations since): a report that comes late, or never, leaves the
  provisional start, which only spaces later slots further apart.

  Returns 1 when recorded, 0 when the field had moved on or already held an earlier time.
]]
local function recordStart(pacerKey, seq, startUs, windowCalls)
  local latest = tonumber(redis.call('HGET', pacerKey, 'seq')) or 0
  if latest - seq >= windowCalls then return 0 end
  local ringField = 's' .. (seq % windowCalls)
  local current = tonumber(redis.call('HGET', pacerKey, ringField))
  if current == nil or startUs >= current then return 0 end
  redis.call('HSET', pacerKey, ringField, string.format('%.0f', startUs))
  return 1
end

-- The reports packed as ARGV pairs from `first` on: seq, start (µs on the Redis clock). Returns how many recorded.
local function recordStarts(pacerKey, first, windowCalls)
  local recorded = 0
  for i = first, #ARGV - 1, 2 do
    recorded = recorded + recordStart(pacerKey, tonumber(ARGV[i]), tonumber(ARGV[i + 1]), windowCalls)
  end
  return recorded
end
