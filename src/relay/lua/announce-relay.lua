--[[
  announce-relay: a relay process says it is alive, and learns how many relay processes of the app are, so each
  holds a fair share of the outbox shards' leases (src/relay/relay-group.ts). Times are Redis's own (TIME), so the
  hosts' clocks need not agree.

  KEYS[1]   relay processes (sorted set: token -> last announcement, ms)
  ARGV[1]   token of this process
  ARGV[2]   how long an announcement counts, in ms (the shard lease time: a process silent that long is gone, and its
            leases have expired too)
  ARGV[3]   '1' to announce, '0' to leave (a process stopping, so the others take its shards at once)
  Returns   relay processes alive, this one included when announcing
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
-- Gone with the last process: nothing is left behind by a deployment that stops relaying.
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
