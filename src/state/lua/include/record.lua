--[[
  The state record of one user, shared by every script that reads or writes one. src/state/record.ts decodes and
  encodes the same format; a round-trip test keeps the two in step.

  Hash field = UserID, in the user's state bucket:  <members><state><seq>|<changedAt>|<epoch>[|<deviceHash>]
    members       comma-separated numeric ids of the watchlists that track the user ('' for a restored record)
    state         a state code (CODE_ONLINE, CODE_PUSH_ONLINE, CODE_OFFLINE, CODE_NOT_FOUND) or CODE_NEVER_OBSERVED:
                  one character that is never a digit or a comma, so it also ends the members
    seq           events emitted for the user in this tracking epoch, base 36
    changedAt     observation time of the last change written (first observation, transition, device change), as
                  base-36 ms after the epoch ('-' before a negative one); '' for 0 (never observed)
    epoch         base-36 ms timestamp of when tracking began (keeps event ids unique across re-tracking)
    deviceHash    short hash of the last device list seen with detail; left out, with its '|', when none

  Every byte here is paid once per tracked user (a million per app), so numbers are base 36 and the time is
  relative: `1F1|1ijk|mip1abcd` is 17 bytes where the first format below wrote 29. The epoch is the base because
  every record has one and the time is never much older than it: 4 characters for a user tracked for minutes,
  6 for weeks, 7 for years. An epoch that is not base 36 (at most 10 digits, exact in a double) counts as base 0.

  The first format, `members|state|seq|changedAtMs|deviceHash|epoch` with decimal numbers, is still read: a record
  written by an older version keeps it until its next write.
]]
--- @include "vocabulary"

local BASE36_DIGITS = {}
for d = 0, 35 do BASE36_DIGITS[d] = string.sub('0123456789abcdefghijklmnopqrstuvwxyz', d + 1, d + 1) end

-- A whole number >= 0 in base 36 (lowercase, no leading zeros).
local function toBase36(n)
  n = math.floor(n)
  if n < 36 then return BASE36_DIGITS[n] end
  local out = ''
  while n > 0 do
    local d = n % 36
    out = BASE36_DIGITS[d] .. out
    n = (n - d) / 36
  end
  return out
end

-- The ms an epoch stands for, the base of changedAt.
local function epochMs(epoch)
  if #epoch <= 10 and string.find(epoch, '^[%da-z]+$') then return tonumber(epoch, 36) end
  return 0
end

-- Returns members, state, seq (number), changedAt (ms, number), deviceHash, epoch.
local function decodeRecord(record)
  local members, state, seq, changed, epoch, deviceHash =
    string.match(record, '^([%d,]*)([^%d,|])(%w+)|(%-?%w*)|([^|]*)|?([^|]*)$')
  if not members then
    local changedAt
    members, state, seq, changedAt, deviceHash, epoch =
      string.match(record, '^([^|]*)|([^|]*)|(%d+)|(%d+)|([^|]*)|([^|]*)$')
    return members, state, tonumber(seq), tonumber(changedAt), deviceHash, epoch
  end
  local changedAt = 0
  if changed ~= '' then
    if string.byte(changed) == 45 then -- '-'
      changedAt = epochMs(epoch) - tonumber(string.sub(changed, 2), 36)
    else
      changedAt = epochMs(epoch) + tonumber(changed, 36)
    end
  end
  return members, state, tonumber(seq, 36), changedAt, deviceHash, epoch
end

-- The state code alone, without decoding the rest (either format).
local function stateOfRecord(record)
  return string.match(record, '^[%d,]*([^%d,|])') or string.match(record, '^[^|]*|([^|]*)')
end

local function encodeRecord(members, state, seq, changedAt, deviceHash, epoch)
  local changed = ''
  if changedAt ~= 0 then
    local delta = math.floor(changedAt) - epochMs(epoch)
    if delta < 0 then changed = '-' .. toBase36(-delta) else changed = toBase36(delta) end
  end
  local record = members .. state .. toBase36(seq) .. '|' .. changed .. '|' .. epoch
  if deviceHash ~= '' then record = record .. '|' .. deviceHash end
  return record
end

-- The state an event may name as `from`: '' for never observed and not found (the event says null).
local function publishedState(state)
  if state == CODE_NEVER_OBSERVED or state == CODE_NOT_FOUND then return '' end
  return state
end
