--[[
  reserve-call: hand out the next send slot of an app's call budget, shared by every process.

  Slots are spaced evenly (GCRA-style): slot = max(now, next); next = slot + spacing / factor. A caller waits until
  its slot, so calls start at most once per spacing across all processes. `factor` (0 < f <= 1) is lowered by
  penalize-calls.lua after a rate-limit answer and recovers linearly back to 1.

  Even spacing alone does not bound a one-second window once calls start late: a call that starts 15 ms after its
  slot sits 15 ms closer to the call `windowCalls` slots later. So every reservation also keeps, in ring field
  `s<seq % windowCalls>`, when its call started (provisionally slot + maxLateness until report-start.lua records
  the actual start), and a slot is never earlier than the start of the call `windowCalls` reservations back plus
  `windowUs`. Any `windowUs` span then holds at most `windowCalls` starts, whatever the lateness.

  KEYS[1]   pacer hash: next (µs), factor, adjustedAt (µs), seq, s0..s<windowCalls-1> (µs)
  ARGV[1]   spacing between calls at full speed, in µs
  ARGV[2]   recovery of factor per second (e.g. 0.05)
  ARGV[3]   windowCalls: calls allowed per window (the cap per second)
  ARGV[4]   windowUs: the shortest span that may hold windowCalls + 1 starts, in µs
  ARGV[5]   provisional lateness in µs: the latest a caller starts after its slot (it gives the slot back otherwise)
  ARGV[6..] pairs: starts of earlier reservations of this process not reported yet (seq, start µs), recorded first
            (include/record-start.lua): a report rides on the next reservation instead of a script call of its own
  Returns   {waitUs, slotUs, seq}  µs to wait from now (Redis clock), the slot's absolute time, its sequence number
]]
--- @include "include/record-start.lua"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing, recovery = tonumber(ARGV[1]), tonumber(ARGV[2])
local windowCalls, windowUs, provisional = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
recordStarts(KEYS[1], 6, windowCalls)

local state = redis.call('HMGET', KEYS[1], 'next', 'factor', 'adjustedAt')
local nextSlot = tonumber(state[1]) or 0
local factor = tonumber(state[2]) or 1
local adjustedAt = tonumber(state[3]) or now

if factor < 1 then
  factor = math.min(1, factor + recovery * (now - adjustedAt) / 1000000)
end

local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local ringField = 's' .. (seq % windowCalls)
local windowStart = tonumber(redis.call('HGET', KEYS[1], ringField)) or 0

local slot = math.max(now, nextSlot, windowStart + windowUs)
redis.call('HSET', KEYS[1], 'next', string.format('%.0f', slot + spacing / factor),
  'factor', tostring(factor), 'adjustedAt', string.format('%.0f', now),
  ringField, string.format('%.0f', slot + provisional))
redis.call('PEXPIRE', KEYS[1], 60000)
return {string.format('%.0f', slot - now), string.format('%.0f', slot), seq}
