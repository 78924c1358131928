--[[
  One outbox entry, shared by every script that records an event. src/events/outbox-entry.ts parses the same
  fields; a round-trip test keeps the two in step. Single-letter field names keep the stream small.

    u  UserID                    k  event kind (transition, snapshot, not_found, untracked, devices), or
                                    membership: the user's watchlists changed; a state record only, no event
    f  from: state code or ''    t  to: state code or ''
    s  seq                       o  observedAtMs
    p  previousObservedAtMs      w  comma-separated watchlist ids tracking the user
    d  devices JSON or ''        e  epoch
    b  how the change was seen: s sweep, h hint call, c trusted callback; absent when nothing was observed
       (untracked, membership, a snapshot re-published from the stored state)
]]
local function appendEvent(outbox, user, kind, from, to, seq, observedAt, previousAt, members, devices, epoch, by)
  if by == '' then
    redis.call('XADD', outbox, '*', 'u', user, 'k', kind, 'f', from, 't', to, 's', seq, 'o', observedAt,
      'p', previousAt, 'w', members, 'd', devices, 'e', epoch)
  else
    redis.call('XADD', outbox, '*', 'u', user, 'k', kind, 'f', from, 't', to, 's', seq, 'o', observedAt,
      'p', previousAt, 'w', members, 'd', devices, 'e', epoch, 'b', by)
  end
end

--[[
  Outbox shards (redis.outboxShards): a user's entries go to the outbox stream of its shard, a function of its state
  bucket (src/redis/keys.ts, outboxShardOfBucket). KEYS[1] of every appending script is the outbox of shard 0; the
  streams of the other shards a call needs follow its state buckets in KEYS, and `layout` names, for each bucket key
  in KEYS order from `firstBucket` on, the KEYS index of its outbox (comma-separated). An empty layout (a single
  shard) sends every entry to KEYS[1]. Returns: KEYS index of a bucket -> its outbox stream (nil: KEYS[1]).
]]
local function outboxesByBucket(firstBucket, layout)
  local byBucket = {}
  local slot = firstBucket
  for index in string.gmatch(layout, '%d+') do
    byBucket[slot] = KEYS[tonumber(index)]
    slot = slot + 1
  end
  return byBucket
end
