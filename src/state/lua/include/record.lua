--[[
  The state record of one user, shared by every script that reads or writes one. src/state/record.ts decodes the
  same format; a round-trip test keeps the two in step.

  Hash field = UserID, in the user's state bucket:  members|state|seq|changedAtMs|deviceHash|epoch
    members       comma-separated numeric ids of the watchlists that track the user
    state         a state code (CODE_ONLINE, CODE_PUSH_ONLINE, CODE_OFFLINE, CODE_NOT_FOUND) or CODE_NEVER_OBSERVED
    seq           events emitted for the user in this tracking epoch
    changedAtMs   observation time of the last change written (first observation, transition, device change)
    deviceHash    short hash of the last device list seen with detail ('' when none)
    epoch         base-36 ms timestamp of when tracking began (keeps event ids unique across re-tracking)
]]
--- @include "vocabulary"

-- Returns members, state, seq (number), changedAtMs (number), deviceHash, epoch.
local function decodeRecord(record)
  local members, state, seq, changedAt, deviceHash, epoch =
    string.match(record, '^([^|]*)|([^|]*)|(%d+)|(%d+)|([^|]*)|([^|]*)$')
  return members, state, tonumber(seq), tonumber(changedAt), deviceHash, epoch
end

local function encodeRecord(members, state, seq, changedAt, deviceHash, epoch)
  return members .. '|' .. state .. '|' .. seq .. '|' .. changedAt .. '|' .. deviceHash .. '|' .. epoch
end

-- The state an event may name as `from`: '' for never observed and not found (the event says null).
local function publishedState(state)
  if state == CODE_NEVER_OBSERVED or state == CODE_NOT_FOUND then return '' end
  return state
end
