import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppKeys } from '../redis/keys.js';
import { createLease } from '../redis/lease.js';
import type { StateStore } from './state-store.js';
import { encodeChunk, type WatchlistDefinition, type WatchlistRegistry } from './watchlist-registry.js';
import { MAX_IDS_PER_CALL, type WatchlistSettings } from '../vocabulary.js';

/** A watchlist as the configuration wants it: its settings and its members. */
export interface WatchlistSpec extends WatchlistSettings {
  /** Distinct UserIDs, in file order. */
  userIds: readonly string[];
}

export interface SyncReport {
  /** False when Redis already held this exact configuration (nothing written). */
  changed: boolean;
  version: string;
  added: string[];
  removed: string[];
  updated: string[];
  usersAdded: number;
  usersRemoved: number;
  untracked: number;
}

const LOCK_TTL_MS = 120_000;
/**
 * Chunks per RPUSH, and per read of a stored list: a million members are written and read in pieces of 50,000
 * users (~400 KB of blobs), never all at once. What a command's arguments and reply reference outlives the command
 * until a full GC (see state-store.ts), so one MULTI of all 2,000 blobs, or one LRANGE of them, held it all.
 */
const CHUNKS_PER_PIECE = 100;
/** Users per membership call when removing: the set of leaving users is handed over in slices of this size. */
const REMOVAL_PIECE = CHUNKS_PER_PIECE * MAX_IDS_PER_CALL;

/** Splits members `from`..`to` (500-aligned `from`) into stored chunks of at most 500 IDs each (one API call). */
export function chunkMembers(userIds: readonly string[], from = 0, to = userIds.length): Buffer[] {
  const blobs: Buffer[] = [];
  for (let i = from; i < to; i += MAX_IDS_PER_CALL) {
    blobs.push(encodeChunk(userIds.slice(i, Math.min(i + MAX_IDS_PER_CALL, to))));
  }
  return blobs;
}

/**
 * Stores a member list as chunk blobs under its version's key, a piece at a time. Not in one MULTI: nothing reads
 * this version before its definition is published (after this), a list left half-written by a process that died
 * is deleted and rewritten by the next sync (the published version still differs), and since the key is
 * content-addressed, any chunk a reader does find is the right one.
 */
async function writeChunks(redis: RedisClient, chunkKey: string, userIds: readonly string[]): Promise<void> {
  await redis.del(chunkKey);
  const step = CHUNKS_PER_PIECE * MAX_IDS_PER_CALL;
  for (let from = 0; from < userIds.length; from += step) {
    await redis.rpush(chunkKey, ...chunkMembers(userIds, from, Math.min(from + step, userIds.length)));
  }
}

/** Users leaving a watchlist: the rest of its old members once the kept ones are deleted, or a whole stored list. */
type Leaving = Set<string> | WatchlistDefinition;

/** The leaving users in order, in pieces: slices of a set, or a stored list read back chunk by chunk. */
async function* piecesOf(registry: WatchlistRegistry, leaving: Leaving): AsyncIterable<string[]> {
  if (!(leaving instanceof Set)) {
    yield* registry.memberPieces(leaving, CHUNKS_PER_PIECE);
    return;
  }
  let piece: string[] = [];
  for (const userId of leaving) {
    piece.push(userId);
    if (piece.length === REMOVAL_PIECE) {
      yield piece;
      piece = [];
    }
  }
  if (piece.length > 0) yield piece;
}

/** Calls `visit` for every member of a stored list version, read back a piece at a time. */
async function forEachStoredMember(
  registry: WatchlistRegistry,
  list: Pick<WatchlistDefinition, 'name' | 'version'>,
  visit: (userId: string) => void,
): Promise<void> {
  for await (const piece of registry.memberPieces(list, CHUNKS_PER_PIECE)) piece.forEach(visit);
}

/** Removes the leaving users from one watchlist, a piece at a time, and counts the outcome in the report. */
async function removeMembers(
  deps: { registry: WatchlistRegistry; stateStore: StateStore },
  watchlistId: number,
  leaving: Leaving,
  report: SyncReport,
): Promise<void> {
  const nowMs = Date.now();
  for await (const userIds of piecesOf(deps.registry, leaving)) {
    const result = await deps.stateStore.updateMembership({ op: 'remove', watchlistId, userIds, nowMs });
    report.usersRemoved += result.changed;
    report.untracked += result.untracked;
  }
}

/** A changed watchlist between two member versions: `from` was published, `to` is being published. */
interface PendingRemoval {
  name: string;
  from: string;
  to: string;
}

/**
 * Completes a changed watchlist that a sync left half-way. If the new version was published, its leaving members
 * (in `from`, not in `to`) may not all be removed yet; if it was not, the members added for it (in `to`, not in
 * `from`) are in a version nobody will poll. Either way: remove those of the dropped version that the kept one does
 * not name, and delete the dropped version's chunks. Removal is idempotent, so members already removed are no change.
 */
async function finishPendingRemovals(
  deps: { redis: RedisClient; keys: AppKeys; registry: WatchlistRegistry; stateStore: StateStore },
  report: SyncReport,
): Promise<void> {
  const { redis, keys, registry } = deps;
  for (const [id, json] of Object.entries(await redis.hgetall(keys.pendingRemovals))) {
    const { name, from, to } = JSON.parse(json) as PendingRemoval;
    const published = await registry.get(name);
    const [kept, dropped] = published?.version === from ? [from, to] : [to, from];
    const leaving = new Set<string>();
    await forEachStoredMember(registry, { name, version: dropped }, (userId) => leaving.add(userId));
    await forEachStoredMember(registry, { name, version: kept }, (userId) => leaving.delete(userId));
    await removeMembers(deps, Number(id), leaving, report);
    await redis.del(keys.watchlistChunks(name, dropped));
    await redis.hdel(keys.pendingRemovals, id);
  }
}

const DERIVED_DATA_FORMAT = 'detail-if-any/1';

/**
 * One rule for device detail: a user gets `devices` if any of its watchlists asks for detail. For a watchlist
 * without detail, returns the chunks that hold such a user (they must ask Tencent for detail too).
 */
export function chunksWithDetailUsers(
  userIds: readonly string[],
  detailUsers: ReadonlySet<string>,
): number[] {
  const chunks: number[] = [];
  if (detailUsers.size === 0) return chunks;
  for (let start = 0; start < userIds.length; start += MAX_IDS_PER_CALL) {
    const end = Math.min(start + MAX_IDS_PER_CALL, userIds.length);
    for (let i = start; i < end; i++) {
      if (detailUsers.has(userIds[i]!)) {
        chunks.push(start / MAX_IDS_PER_CALL);
        break;
      }
    }
  }
  return chunks;
}

function versionOf(userIds: readonly string[]): string {
  // Incremental: joining a million IDs first would build one more 8 MB string per call.
  const hash = createHash('sha256');
  for (const userId of userIds) hash.update(userId).update('\n');
  return hash.digest('hex').slice(0, 16);
}

/** Hash of the whole desired configuration: processes with the same files compute the same value. */
function configVersionOf(
  specs: readonly WatchlistSpec[],
  memberVersions: ReadonlyMap<string, string>,
): string {
  // The salt names the derived data a sync writes (detailChunks, detailWatchlistIds): changing it makes the first
  // sync after an upgrade write them even when the files did not change.
  const hash = createHash('sha256').update(DERIVED_DATA_FORMAT);
  for (const spec of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
    const { userIds: _members, ...settings } = spec;
    hash.update(JSON.stringify(settings)).update(memberVersions.get(spec.name)!);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes Redis hold exactly `specs` as the app's watchlists: new and changed member lists are stored as chunks,
 * membership of each user is updated (users left in no watchlist get `untracked` and lose their state), and
 * removed watchlists disappear. Runs under a lock so two processes never interleave; idempotent, so a sync that
 * died half-way is completed by the next one.
 */
export async function syncWatchlists(
  deps: { redis: RedisClient; keys: AppKeys; registry: WatchlistRegistry; stateStore: StateStore },
  specs: readonly WatchlistSpec[],
): Promise<SyncReport> {
  const { redis, keys, registry, stateStore } = deps;
  // Each member list is hashed once (a million IDs take a while): for the config version and for its chunks.
  const memberVersions = new Map(specs.map((spec) => [spec.name, versionOf(spec.userIds)]));
  const version = configVersionOf(specs, memberVersions);
  const report: SyncReport = {
    changed: false,
    version,
    added: [],
    removed: [],
    updated: [],
    usersAdded: 0,
    usersRemoved: 0,
    untracked: 0,
  };
  if ((await redis.get(keys.configVersion)) === version) return report;

  const lock = createLease(redis, keys.syncLock, LOCK_TTL_MS);
  while (!(await lock.hold())) await sleep(200);
  try {
    if ((await redis.get(keys.configVersion)) === version) return report;
    report.changed = true;
    // From here Redis is between two configurations: a sync that stops half-way must not look complete to the
    // next one, whichever configuration that one brings.
    await redis.del(keys.configVersion);
    await finishPendingRemovals(deps, report);
    const current = new Map((await registry.list()).map((definition) => [definition.name, definition]));
    const staleChunkKeys: string[] = [];
    // Removals wait until every watchlist's additions are done: a user moving from one list to another must
    // never pass through "in no list" (that would publish a false untracked and drop its state).
    const removals: Array<{ watchlistId: number; leaving: Leaving }> = [];
    const detailUsers = new Set(specs.filter((spec) => spec.detail).flatMap((spec) => spec.userIds));
    const detailIds: number[] = [];
    const deviceEventIds: number[] = [];

    for (const spec of specs) {
      const old = current.get(spec.name);
      const memberVersion = memberVersions.get(spec.name)!;
      const id = old?.id ?? (await redis.incr(keys.watchlistIdCounter));
      // Every setting is stored as it is: a new watchlist setting needs no change here.
      const { userIds: _members, ...settings } = spec;
      const definition: WatchlistDefinition = {
        ...settings,
        id,
        version: memberVersion,
        chunkCount: Math.ceil(spec.userIds.length / MAX_IDS_PER_CALL),
        userCount: spec.userIds.length,
      };
      if (spec.deviceEvents) deviceEventIds.push(id);
      if (spec.detail) detailIds.push(id);
      else {
        const detailChunks = chunksWithDetailUsers(spec.userIds, detailUsers);
        if (detailChunks.length > 0) definition.detailChunks = detailChunks;
      }
      await redis.hset(keys.watchlistIds, String(id), JSON.stringify({ name: spec.name, topic: spec.topic }));

      if (old?.version !== memberVersion) {
        await writeChunks(redis, keys.watchlistChunks(spec.name, memberVersion), spec.userIds);
        // A new watchlist adds everyone: no set of a million IDs to build for that. A changed one: one set of the
        // old members; deleting the kept ones leaves the leaving ones, still in the old list's order.
        let added = spec.userIds;
        if (old) {
          const leaving = new Set<string>();
          await forEachStoredMember(registry, old, (userId) => leaving.add(userId));
          added = spec.userIds.filter((userId) => !leaving.delete(userId));
          removals.push({ watchlistId: id, leaving });
          // Written before the new version is published: if this sync dies before the removals, the next one
          // finds the leaving members from the two stored versions (the old chunks are deleted only after).
          await redis.hset(
            keys.pendingRemovals,
            String(id),
            JSON.stringify({
              name: spec.name,
              from: old.version,
              to: memberVersion,
            } satisfies PendingRemoval),
          );
        }
        // Add before publishing the new version, so its chunks only name users that have a record.
        report.usersAdded += (
          await stateStore.updateMembership({ op: 'add', watchlistId: id, userIds: added, nowMs: Date.now() })
        ).changed;
        if (old) {
          staleChunkKeys.push(keys.watchlistChunks(old.name, old.version));
          // Only the old version's watermarks and packed states: chunks of the new one may already be running.
          const oldFields = Array.from({ length: old.chunkCount }, (_, chunk) => `${old.version}:${chunk}`);
          oldFields.push(...oldFields.map((field) => `${field}|s`));
          for (let i = 0; i < oldFields.length; i += 1_000) {
            await redis.hdel(keys.chunkWatermarks(old.name), ...oldFields.slice(i, i + 1_000));
          }
        }
      }
      if (!old) report.added.push(spec.name);
      else if (JSON.stringify(old) !== JSON.stringify(definition)) report.updated.push(spec.name);
      await redis.hset(keys.watchlists, spec.name, JSON.stringify(definition));
      // Packed chunk states stored before a version change are void (a version's name comes back when its member
      // list does, and the other version's chunks wrote its users without counting): see apply-observations.lua.
      if (old?.version !== memberVersion) await redis.hincrby(keys.stateWrites, String(id), 1);
    }

    const wanted = new Set(specs.map((spec) => spec.name));
    for (const old of current.values()) {
      if (wanted.has(old.name)) continue;
      // Read back when its turn comes, a piece at a time: its chunks are deleted only after the removals.
      removals.push({ watchlistId: old.id, leaving: old });
      report.removed.push(old.name);
      staleChunkKeys.push(
        keys.watchlistChunks(old.name, old.version),
        keys.sweep(old.name),
        keys.sweepDone(old.name),
        keys.chunkWatermarks(old.name),
      );
    }

    await redis.set(keys.detailWatchlistIds, detailIds.join(','));
    await redis.set(keys.deviceEventWatchlistIds, deviceEventIds.join(','));
    for (const { watchlistId, leaving } of removals) await removeMembers(deps, watchlistId, leaving, report);

    // Removed definitions go only now: a sync that died before its members were removed finds the list again
    // next time and finishes the job (removal is idempotent), instead of leaving them in a list that is gone.
    if (report.removed.length > 0) await redis.hdel(keys.watchlists, ...report.removed);
    // Chunk jobs of an old version that are still queued find their list gone and finish as obsolete.
    if (staleChunkKeys.length > 0) await redis.del(...staleChunkKeys);
    await redis.del(keys.pendingRemovals);
    await redis.set(keys.configVersion, version);
    return report;
  } finally {
    await lock.release();
  }
}
