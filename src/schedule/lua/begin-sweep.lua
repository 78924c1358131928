--[[
  begin-sweep: the overlap policy. A sweep starts only when the previous one of the same watchlist has finished
  (every chunk completed or given up), or has been running longer than the stale limit (then it is abandoned).
  Otherwise the tick is skipped and counted, and one follow-up sweep is marked `pending`: finish-chunk starts it
  as soon as the running sweep completes. Work never piles up (at most one sweep running, one pending), and a
  sweep longer than its interval still keeps the cap busy instead of idling until the next tick.
  Re-running begin for the sweep already in progress (a retried sweep job) answers 'resume'.

  KEYS[1]   sweep hash: id, version, startedAt, remaining, chunks, lastTickAt, pending; counters started, skipped,
            abandoned, completed
  KEYS[2]   done bitmap of the current sweep
  ARGV[1]   sweep id (deterministic per scheduler tick)
  ARGV[2]   nowMs
  ARGV[3]   number of chunks
  ARGV[4]   stale limit in ms
  ARGV[5]   members version
  Returns   'start' | 'resume' | 'skip'
]]
redis.call('HSET', KEYS[1], 'lastTickAt', ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'id', 'startedAt', 'remaining')
local now = tonumber(ARGV[2])
if current[1] == ARGV[1] then return 'resume' end
local remaining = tonumber(current[3]) or 0
if remaining > 0 then
  if now - (tonumber(current[2]) or 0) < tonumber(ARGV[4]) then
    redis.call('HINCRBY', KEYS[1], 'skipped', 1)
    redis.call('HSET', KEYS[1], 'pending', 1)
    return 'skip'
  end
  redis.call('HINCRBY', KEYS[1], 'abandoned', 1)
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'pending')
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'startedAt', ARGV[2], 'remaining', ARGV[3], 'chunks', ARGV[3],
  'version', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'started', 1)
if tonumber(ARGV[3]) == 0 then redis.call('HINCRBY', KEYS[1], 'completed', 1) end
return 'start'
