--[[
  release-lease: give the relay lease up on shutdown, only if this relay still holds it.

  KEYS[1]   relay lease
  ARGV[1]   token of this relay
  Returns   1 when released, 0 when held by another relay (or free)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
