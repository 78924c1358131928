--[[
  update-membership: add users to, or remove them from, one watchlist, atomically.
  A user removed from its last watchlist gets an `untracked` event (if anything was ever published for it)
  and its state record is deleted. A published user whose set of watchlists changes otherwise (added to one more,
  removed from one of several, so also moved: added to the new list, then removed from the old) gets a
  `membership` entry: the relay turns it into a state record only, no event, so `watchlists` on the state topic
  is never stale. Its seq is the user's current one: it is not an event, and gap detection counts events.

  KEYS[1]       outbox stream of shard 0 (names the app: the call is routed by it; the users' keys are named in the
                script, see "Per-user keys" in outbox-entry.lua)
  KEYS[2]       state writes per watchlist id (apply-observations.lua, "Packed states"): a change counts one for
                the watchlist, so its chunks stop trusting what they knew of users that joined or left it
  ARGV[1]       nowMs (the untracked event's time; the epoch of newly tracked users)
  ARGV[2]       'add' | 'remove'
  ARGV[3]       watchlist id
  ARGV[4]       users, one per line (\n): userId \t id of its state bucket
  ARGV[5]       the app's key space: the users' buckets and outboxes are named from it (see "Per-user keys" in
                outbox-entry.lua)

  Returns {changed, untracked}
    changed     records created or whose membership changed
    untracked   users whose last watchlist was removed (records deleted)
]]
--- @include "include/record.lua"
--- @include "../../events/lua/include/outbox-entry.lua"

local now = tonumber(ARGV[1])
local op, wid = ARGV[2], ARGV[3]
local changed, untracked = 0, 0
useKeySpace(ARGV[5])

local epoch = toBase36(now)

-- Only users something was published for (seq > 0) have a state record to update; the entry's time is that of
-- the state it repeats, so the record reads as the same state with other watchlists.
local function appendMembership(outbox, user, members, state, seq, changedAt, epochOf)
  if seq > 0 then
    appendEvent(outbox, user, 'membership', '', state, seq, changedAt, 0, members, '', epochOf, '')
  end
end

for user, bucketId in string.gmatch(ARGV[4], '([^\t\n]+)\t(%w+)') do
  local bucket = stateBucketKey(bucketId)
  local outbox = outboxOfBucket(bucketId)
  local record = redis.call('HGET', bucket, user)
  if op == 'add' then
    if not record then
      redis.call('HSET', bucket, user, encodeRecord(wid, CODE_NEVER_OBSERVED, 0, 0, '', epoch))
      changed = changed + 1
    else
      local members, state, seq, seenAt, devHash, epochOf = decodeRecord(record)
      if not string.find(',' .. members .. ',', ',' .. wid .. ',', 1, true) then
        if members == '' then members = wid else members = members .. ',' .. wid end
        redis.call('HSET', bucket, user, encodeRecord(members, state, seq, seenAt, devHash, epochOf))
        appendMembership(outbox, user, members, state, seq, seenAt, epochOf)
        changed = changed + 1
      end
    end
  elseif record then
    local members, state, seq, seenAt, devHash, epochOf = decodeRecord(record)
    local kept, wasMember = {}, false
    for id in string.gmatch(members, '[^,]+') do
      if id == wid then wasMember = true else kept[#kept + 1] = id end
    end
    if wasMember then
      changed = changed + 1
      if #kept == 0 then
        if seq > 0 then
          appendEvent(outbox, user, 'untracked', publishedState(state), '', seq + 1, now, seenAt, wid, '', epochOf, '')
        end
        redis.call('HDEL', bucket, user)
        untracked = untracked + 1
      else
        local remaining = table.concat(kept, ',')
        redis.call('HSET', bucket, user, encodeRecord(remaining, state, seq, seenAt, devHash, epochOf))
        appendMembership(outbox, user, remaining, state, seq, seenAt, epochOf)
      end
    end
  end
end

if changed > 0 then redis.call('HINCRBY', KEYS[2], wid, 1) end

return {changed, untracked}
