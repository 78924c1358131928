--[[
  reserve-call: hand out the next send slot of an app's call budget, shared by every process.

  Slots are spaced evenly (GCRA-style): slot = max(now, next); next = slot + spacing / factor. A caller waits until
  its slot, so calls start at most once per spacing across all processes. `factor` (0 < f <= 1) is lowered by
  penalize-calls.lua after a rate-limit answer and recovers linearly back to 1.

  KEYS[1]   pacer hash: next (µs), factor, adjustedAt (µs)
  ARGV[1]   spacing between calls at full speed, in µs
  ARGV[2]   recovery of factor per second (e.g. 0.05)
  Returns   {waitUs, slotUs}  µs to wait from now (Redis clock), and the slot's absolute time
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing, recovery = tonumber(ARGV[1]), tonumber(ARGV[2])

local state = redis.call('HMGET', KEYS[1], 'next', 'factor', 'adjustedAt')
local nextSlot = tonumber(state[1]) or 0
local factor = tonumber(state[2]) or 1
local adjustedAt = tonumber(state[3]) or now

if factor < 1 then
  factor = math.min(1, factor + recovery * (now - adjustedAt) / 1000000)
end

local slot = math.max(now, nextSlot)
redis.call('HSET', KEYS[1], 'next', string.format('%.0f', slot + spacing / factor),
  'factor', tostring(factor), 'adjustedAt', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], 60000)
return {string.format('%.0f', slot - now), string.format('%.0f', slot)}
