--[[
  report-start: callers started the calls of these reservations; record the actual starts in their ring fields (see
  reserve-call.lua and include/record-start.lua). Most reports ride on the process's next reserve-call instead; this
  script sends the ones left when no reservation follows soon.

  KEYS[1]   pacer hash (see reserve-call.lua)
  ARGV[1]   windowCalls, as given to reserve-call
  ARGV[2..] pairs: seq returned by reserve-call, the start (µs on the Redis clock: slot + measured lateness)
  Returns   how many were recorded (see include/record-start.lua)
]]
--- @include "include/record-start.lua"

return recordStarts(KEYS[1], 2, tonumber(ARGV[1]))
