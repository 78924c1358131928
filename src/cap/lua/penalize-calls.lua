--[[
  penalize-calls: the API answered "too many calls". Push every future slot back and slow down.

  KEYS[1]   pacer hash (see reserve-call.lua)
  ARGV[1]   pause in µs: no slot starts before now + pause
  ARGV[2]   multiply the speed factor by this (e.g. 0.9); never below ARGV[3]
  ARGV[3]   floor of the factor (e.g. 0.5)
  Returns   the new factor, as a string
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'next', 'factor')
local nextSlot = tonumber(state[1]) or 0
local factor = math.max(tonumber(ARGV[3]), (tonumber(state[2]) or 1) * tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'next', string.format('%.0f', math.max(nextSlot, now + tonumber(ARGV[1]))),
  'factor', tostring(factor), 'adjustedAt', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], 60000)
return tostring(factor)
