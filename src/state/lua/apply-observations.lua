--[[
  apply-observations: the diff. Compares one chunk's answer with the stored states and records every change,
  atomically: the new state records and their outbox entries are written in the same step.

  A record is written only when something changed (state, or the device list of a detailed answer): an unchanged
  user costs one HGET, not a write (at the cap that is ~100,000 writes a second saved, and the AOF with them).
  Ordering is guarded twice:
    - the chunk's watermark (last observation time applied for this chunk of this watchlist version) rejects a
      retried or stalled attempt that answers after a newer one of the same chunk;
    - a user's changedAtMs rejects an older observation from another watchlist's chunk or from a hint call.
  A hint call (users named by callbacks, from any chunks) has no chunk and no watermark: its chunk field is ''.

  KEYS[1]       outbox stream of shard 0 (names the app: the call is routed by it; the users' keys are named in the
                script, see "Per-user keys" in outbox-entry.lua)
  KEYS[2]       chunk watermarks of the watchlist (hash: chunk field -> observedAtMs)
  KEYS[3]       ids of the watchlists with detail (comma-separated; absent before the first sync that writes it)
  KEYS[4]       ids of the watchlists with deviceEvents (the same)
  KEYS[5]       the watchlist definitions (hash: name -> JSON with id and version)
  KEYS[6]       state writes per watchlist id (see "Packed states" below)
  KEYS[7]       the sweep hash of the chunk's watchlist, and
  KEYS[8]       the done bitmap of its current sweep (see ARGV[12]; any key of the app when ARGV[12] is '')
  ARGV[1]       observedAtMs of this answer
  ARGV[2]       first-observation policy: 'snapshot' | 'silent'
  ARGV[3]       '1' to emit `devices` events on device-only changes, else '0' (used only without KEYS[4])
  ARGV[4]       chunk field (watchlist version and chunk index); '' for a hint call
  ARGV[5]       the UserIDs, one per line (\n): for an answer read as codes every asked ID of the chunk, in chunk
                order; else the users observed
  ARGV[6]       one letter per UserID of ARGV[5]: its observed state code, or a letter that is none (an account
                error, an entry set aside): that user is left untouched
  ARGV[7]       the chunk's watchlist name ('' for a hint call or a trusted callback)
  ARGV[8]       how the observations were made: 's' a sweep's chunk, 'h' a hint call, 'c' a trusted callback
  ARGV[9]       the app's key space: the users' buckets and outboxes are named from it (see "Per-user keys" in
                outbox-entry.lua)
  ARGV[10]      the id of each UserID's state bucket, in the same order, each padded with spaces to the key space's
                bucket id width
  ARGV[11]      for an answer read whole (with detail, a hint call, a callback): one line per UserID, device hash
                \t devices JSON (both '' without detail); '' for an answer read as codes
  ARGV[12]      the id of the sweep the chunk belongs to: the chunk is counted done for it in the same step
                (schedule/lua/include/finish-chunk.lua, with the answer's time); '' for none (a hint call, a callback)

  Packed states. An unchanged user costs no record read when its chunk knows the user's stored state: the chunk's
  field `<chunk field>|s` holds the count of KEYS[6] for its watchlist, '|', and one letter per asked ID: the state
  its record held after the chunk's last answer ('.' when unknown). An observation whose letter equals the packed one
  is unchanged, and counts as applied, exactly as its record would have said, provided nothing else wrote the record
  since. So every script that writes a state record counts the write in KEYS[6] for each watchlist of the user
  (membership changes count for their watchlist), except that a chunk using its packed states does not count its
  own watchlist: the other chunks of the same version share no user with it. Only the chunk version the definition
  names uses packed states, and only an answer read as codes (its letters are the chunk's); older versions, hint
  calls and answers read whole take the per-user path and count every watchlist, so their writes invalidate the
  current version's packed states.

  Returns {applied, events, stale, untracked}, followed when ARGV[12] names a sweep by what counting the chunk done
  came to ({remaining, startNext, durationMs when it completed the sweep}, see finish-chunk.lua)
    applied     users compared with this observation (written or unchanged)
    events      outbox entries appended
    stale       observations not applied because a newer one was already applied
    untracked   observations for users no longer tracked (no record): ignored, never resurrected; for a trusted
                callback also users never observed yet
]]
--- @include "include/record.lua"
--- @include "../../events/lua/include/outbox-entry.lua"
--- @include "../../schedule/lua/include/finish-chunk.lua"

local observedAt = tonumber(ARGV[1])
local policy = ARGV[2]
local deviceEvents = ARGV[3] == '1'
local detectedBy = ARGV[8]
useKeySpace(ARGV[9])
local applied, events, stale, untracked = 0, 0, 0, 0

-- The script's reply: its counts, and what counting the chunk done for its sweep came to. A stale answer counts it
-- too: its chunk was answered (by the newer attempt that applied first).
local function reply()
  local counts = {applied, events, stale, untracked}
  if ARGV[12] == '' then return counts end
  for _, value in ipairs(finishChunk(KEYS[7], KEYS[8], ARGV[12], string.match(ARGV[4], '(%d+)$'), ARGV[1])) do
    counts[#counts + 1] = value
  end
  return counts
end

-- The UserIDs, their letters, bucket ids and detail lines must pair up one to one; checked before anything is
-- written.
local OBSERVED_LETTERS = '[' .. CODE_ONLINE .. CODE_PUSH_ONLINE .. CODE_OFFLINE .. CODE_NOT_FOUND .. ']'
local ids, letters, bucketIds, details = ARGV[5], ARGV[6], ARGV[10], ARGV[11]
local function lineCount(text)
  return text == '' and 0 or select(2, string.gsub(text, '\n', '')) + 1
end
if lineCount(ids) ~= #letters or #bucketIds ~= #letters * keySpaceBucketIdWidth
  or (details ~= '' and lineCount(details) ~= #letters) then
  return redis.error_reply('ERR the UserIDs, their letters, bucket ids and details do not pair up')
end

local watermark = 0
if ARGV[4] ~= '' then
  watermark = tonumber(redis.call('HGET', KEYS[2], ARGV[4])) or 0
  if watermark >= observedAt then
    stale = select(2, string.gsub(letters, OBSERVED_LETTERS, ''))
    return reply()
  end
  redis.call('HSET', KEYS[2], ARGV[4], observedAt)
end

-- One rule for device detail: a user gets devices if any of its watchlists asks for detail, and only then. A chunk
-- asks for detail when one of its users needs it, so the answer may hold devices for users that do not: dropped.
-- Without the key (a sync of an older version wrote the registry) every answer with detail is kept, as before.
-- The same for devices events: a user gets them if any of its watchlists asks, whichever chunk (now with detail
-- too) sees the new device list first; otherwise a plain chunk would learn the list silently and the
-- deviceEvents watchlist's chunk would then see no change.
local function idSet(key)
  local list = redis.call('GET', key)
  if not list then return nil end
  local ids = {}
  for id in string.gmatch(list, '[^,]+') do ids[id] = true end
  return ids
end
local function inAny(members, ids)
  for id in string.gmatch(members, '[^,]+') do
    if ids[id] then return true end
  end
  return false
end
local detailIds, deviceEventIds = idSet(KEYS[3]), idSet(KEYS[4])
local function wantsDetail(members)
  return detailIds == nil or inAny(members, detailIds)
end
local function wantsDeviceEvents(members)
  if deviceEventIds == nil then return deviceEvents end
  return inAny(members, deviceEventIds)
end

-- Packed states (see above): the watchlist id whose writes this chunk does not count, and the packed letters.
local UNKNOWN = '.'
local ownId, packedField, writesSeen, packed = nil, nil, nil, nil
if ARGV[4] ~= '' and details == '' then
  local definition = redis.call('HGET', KEYS[5], ARGV[7])
  if definition then
    local d = cjson.decode(definition)
    local version = tostring(d.version)
    if string.sub(ARGV[4], 1, #version + 1) == version .. ':' and string.find(ARGV[4], '^%d+$', #version + 2) then
      ownId = tostring(d.id)
      packedField = ARGV[4] .. '|s'
      writesSeen = redis.call('HGET', KEYS[6], ownId) or '0'
      local stored = redis.call('HGET', KEYS[2], packedField)
      if stored then
        local bar = string.find(stored, '|', 1, true)
        if string.sub(stored, 1, bar - 1) == writesSeen and #stored - bar == #letters then
          packed = string.sub(stored, bar + 1)
        end
      end
    end
  end
end

-- Every chunk answer without a change costs no record read at all.
if packed ~= nil and packed == letters then
  applied = select(2, string.gsub(letters, OBSERVED_LETTERS, ''))
  return reply()
end

-- The watchlists whose packed states this script's record writes invalidate.
local written = {}
local function countWrite(members)
  for id in string.gmatch(members, '[^,]+') do
    if id ~= ownId then written[id] = true end
  end
end
-- The letters to store: where this answer read a record, the state it left there.
local learned = {}

-- One observation whose record is read: the per-user diff. `position` is its index in the letters.
local function observe(user, bucketId, code, devHash, devices, position)
  local bucket = stateBucketKey(bucketId)
  local record = redis.call('HGET', bucket, user)
  if ownId then learned[#learned + 1] = position; learned[#learned + 1] = UNKNOWN end
  if not record then
    untracked = untracked + 1
  elseif detectedBy == 'c' and stateOfRecord(record) == CODE_NEVER_OBSERVED then
    -- A trusted callback never makes a first observation: that is the sweep's snapshot (or silence) to publish.
    untracked = untracked + 1
  else
    local members, state, seq, changedAt, oldHash, epoch = decodeRecord(record)
    if devHash ~= '' and not wantsDetail(members) then devHash, devices = '', '' end
    if changedAt >= observedAt then
      stale = stale + 1
    else
      applied = applied + 1
      local kind = nil
      if state == CODE_NEVER_OBSERVED then
        if code == CODE_NOT_FOUND then kind = 'not_found' elseif policy == 'snapshot' then kind = 'snapshot' end
      elseif state ~= code then
        if code == CODE_NOT_FOUND then
          kind = 'not_found'
        elseif state == CODE_NOT_FOUND then
          kind = 'snapshot'
        else
          kind = 'transition'
        end
      elseif wantsDeviceEvents(members) and code ~= CODE_NOT_FOUND and devHash ~= '' and oldHash ~= '' and oldHash ~= devHash then
        kind = 'devices'
      end
      -- An answer without detail (another watchlist's) says nothing about devices: keep the known hash. A new
      -- hash from a detailed answer is stored even without an event, so the next one compares against it.
      local devicesLearned = devHash ~= '' and devHash ~= oldHash
      if devHash == '' then devHash = oldHash end
      if kind then
        seq = seq + 1
        -- The previous state was last seen at this chunk's previous observation, or at its change if later.
        appendEvent(outboxOfBucket(bucketId), user, kind, publishedState(state), code, seq, observedAt,
          math.max(changedAt, watermark), members, devices, epoch, detectedBy)
        events = events + 1
      end
      if kind or state == CODE_NEVER_OBSERVED or devicesLearned then
        redis.call('HSET', bucket, user, encodeRecord(members, code, seq, observedAt, devHash, epoch))
        countWrite(members)
      end
      state = code
    end
    if ownId and string.find(',' .. members .. ',', ',' .. ownId .. ',', 1, true) then
      learned[#learned] = state
    end
  end
end

-- Only the users whose letter differs from the packed one (every observed user without packed states) are read;
-- the others are unchanged.
local observed = {}
for _, code in ipairs({CODE_ONLINE, CODE_PUSH_ONLINE, CODE_OFFLINE, CODE_NOT_FOUND}) do
  observed[string.byte(code)] = true
end
local idFrom, detailFrom = 1, 1
for position = 1, #letters do
  local idEnd = string.find(ids, '\n', idFrom, true) or (#ids + 1)
  local detailEnd = details ~= '' and (string.find(details, '\n', detailFrom, true) or (#details + 1))
  local letter = string.byte(letters, position)
  if observed[letter] then
    if packed ~= nil and letter == string.byte(packed, position) then
      applied = applied + 1
    else
      local idAt = (position - 1) * keySpaceBucketIdWidth
      local bucketId = string.match(string.sub(bucketIds, idAt + 1, idAt + keySpaceBucketIdWidth), '^%w+')
      local devHash, devices = '', ''
      if detailEnd then
        devHash, devices = string.match(string.sub(details, detailFrom, detailEnd - 1), '^([^\t]*)\t(.*)$')
      end
      observe(string.sub(ids, idFrom, idEnd - 1), bucketId, string.char(letter), devHash, devices, position)
    end
  end
  idFrom = idEnd + 1
  if detailEnd then detailFrom = detailEnd + 1 end
end

for id in pairs(written) do redis.call('HINCRBY', KEYS[6], id, 1) end
if ownId then
  -- The letters known before, with what this answer read spliced in (positions in increasing order).
  local base = packed or string.rep(UNKNOWN, #letters)
  local parts, from = {}, 1
  for i = 1, #learned, 2 do
    parts[#parts + 1] = string.sub(base, from, learned[i] - 1)
    parts[#parts + 1] = learned[i + 1]
    from = learned[i] + 1
  end
  parts[#parts + 1] = string.sub(base, from)
  redis.call('HSET', KEYS[2], packedField, writesSeen .. '|' .. table.concat(parts))
end

return reply()
