--[[
  hold-lease: take a lease (the relay lease, the sync lock) when free, or extend it when already ours.

  KEYS[1]   lease key
  ARGV[1]   token of this holder
  ARGV[2]   lease time in ms
  Returns   1 when held by this token afterwards, 0 when another holder has it
]]
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
