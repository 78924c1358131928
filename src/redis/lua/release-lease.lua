--[[
  release-lease: give a lease up, only if this holder still has it.

  KEYS[1]   lease key
  ARGV[1]   token of this holder
  Returns   1 when released, 0 when held by another holder (or free)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
