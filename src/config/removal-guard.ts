/**
 * The reload guard against wipes: a reload may not remove more than `watchlists.maxRemovedShare` of a list's
 * members. A user file read while an editor, `cp` or a shell `>` rewrites it in place can be empty or a prefix,
 * and applying it would untrack everyone it misses (then snapshot them again in a new epoch).
 *
 * The running process no longer holds the member lists (run.ts drops them once synced), so the guard keeps one
 * 32-bit hash per member, sorted: 4 MB per million users. A removed user whose hash collides with a kept one's is
 * not counted, which can only understate a share by a handful of users in a million.
 */
import type { ResolvedWatchlist } from './types.js';

/** The members of each list, as the guard remembers them. */
export type MemberDigests = Map<string, Uint32Array>;

export interface RemovalOverShare {
  watchlist: string;
  members: number;
  removed: number;
}

/** Digests of every list's members; take them before the lists are dropped from memory. */
export function digestMembers(watchlists: readonly ResolvedWatchlist[]): MemberDigests {
  return new Map(watchlists.map((list) => [list.name, digestIds(list.userIds)]));
}

/**
 * The lists of `next` that lose more than `maxRemovedShare` of the members they had in `previous`. A list that is
 * gone from `next` as a whole is not counted: deleting a watchlist file is deliberate, not a half-written read.
 */
export function removalsOverShare(
  previous: MemberDigests,
  next: MemberDigests,
  maxRemovedShare: number,
): RemovalOverShare[] {
  if (maxRemovedShare >= 1) return [];
  const over: RemovalOverShare[] = [];
  for (const [name, nextDigests] of next) {
    const before = previous.get(name);
    if (!before || before.length === 0) continue;
    const removed = countMissing(before, nextDigests);
    if (removed / before.length > maxRemovedShare) {
      over.push({ watchlist: name, members: before.length, removed });
    }
  }
  return over;
}

function digestIds(userIds: readonly string[]): Uint32Array {
  const digests = new Uint32Array(userIds.length);
  userIds.forEach((id, index) => (digests[index] = fnv1a(id)));
  return digests.sort();
}

/** How many of the sorted `before` are not in the sorted `after` (one merge pass). */
function countMissing(before: Uint32Array, after: Uint32Array): number {
  let missing = 0;
  let j = 0;
  for (const digest of before) {
    while (j < after.length && after[j]! < digest) j += 1;
    if (j >= after.length || after[j] !== digest) missing += 1;
  }
  return missing;
}

/** FNV-1a over the UTF-16 code units (UserIDs are printable ASCII). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
