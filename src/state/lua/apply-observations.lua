--[[
  apply-observations: diff one chunk's answer against the stored states, atomically.

  State record (hash field = UserID, in the user's bucket):  members|state|seq|observedAtMs|deviceHash|epoch
    members     comma-separated numeric ids of the watchlists that track the user
    state       N Online, P PushOnline, F Offline, X not found (70107), - never observed
    seq         events emitted for the user in this tracking epoch
    epoch       base-36 ms timestamp of when tracking began (keeps event ids unique across re-tracking)

  KEYS[1]       outbox stream
  KEYS[2..]     state buckets referenced by the observations
  ARGV[1]       observedAtMs of this answer
  ARGV[2]       first-observation policy: 'snapshot' | 'silent'
  ARGV[3]       '1' to emit `devices` events on device-only changes, else '0'
  ARGV[4..]     one group of 5 per user: userId, KEYS index of its bucket, observed code (N|P|F|X),
                device hash ('' without detail), devices JSON ('' without detail)

  Returns {applied, events, stale, untracked}
    applied     users whose record now carries this observation
    events      outbox entries appended
    stale       observations not applied because the record holds a newer (or same-time) one
    untracked   observations for users no longer tracked (no record): ignored, never resurrected
]]
local observedAt = tonumber(ARGV[1])
local policy = ARGV[2]
local deviceEvents = ARGV[3] == '1'
local applied, events, stale, untracked = 0, 0, 0, 0

for i = 4, #ARGV, 5 do
  local user = ARGV[i]
  local bucket = KEYS[tonumber(ARGV[i + 1])]
  local code, devHash, devices = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local record = redis.call('HGET', bucket, user)
  if not record then
    untracked = untracked + 1
  else
    local members, state, seq, seenAt, oldHash, epoch =
      string.match(record, '^([^|]*)|([^|]*)|(%d+)|(%d+)|([^|]*)|([^|]*)$')
    seq, seenAt = tonumber(seq), tonumber(seenAt)
    if seenAt >= observedAt then
      stale = stale + 1
    else
      local kind = nil
      if state == '-' then
        if code == 'X' then kind = 'not_found' elseif policy == 'snapshot' then kind = 'snapshot' end
      elseif state ~= code then
        if code == 'X' then kind = 'not_found' elseif state == 'X' then kind = 'snapshot' else kind = 'transition' end
      elseif deviceEvents and code ~= 'X' and oldHash ~= devHash then
        kind = 'devices'
      end
      if kind then
        seq = seq + 1
        local from = state
        if state == '-' or state == 'X' then from = '' end
        redis.call('XADD', KEYS[1], '*', 'u', user, 'k', kind, 'f', from, 't', code, 's', seq,
          'o', observedAt, 'p', seenAt, 'w', members, 'd', devices, 'e', epoch)
        events = events + 1
      end
      redis.call('HSET', bucket, user,
        members .. '|' .. code .. '|' .. seq .. '|' .. observedAt .. '|' .. devHash .. '|' .. epoch)
      applied = applied + 1
    end
  end
end

return {applied, events, stale, untracked}
