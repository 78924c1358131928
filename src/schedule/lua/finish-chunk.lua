--[[
  finish-chunk: count one chunk of a sweep as done, once, for a chunk that was not observed (obsolete, or given up
  after its last attempt). An observed chunk is counted by the diff itself (state/lua/apply-observations.lua).

  KEYS[1]   sweep hash (see begin-sweep.lua)
  KEYS[2]   done bitmap of the current sweep
  ARGV[1]   sweep id the chunk belongs to
  ARGV[2]   chunk index
  ARGV[3]   nowMs
  Returns   see include/finish-chunk.lua
]]
--- @include "include/finish-chunk.lua"

return finishChunk(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
