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
