--[[
  hold-lease: take the relay lease when free, or extend it when already ours.

  KEYS[1]   relay lease
  ARGV[1]   token of this relay
  ARGV[2]   lease time in ms
  Returns   1 when held by this token afterwards, 0 when another relay holds it
]]
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
