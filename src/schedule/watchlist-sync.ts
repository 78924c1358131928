import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FirstObservationPolicy } from '../events/event.js';
import type { AppKeys } from '../state/keys.js';
import { createLease } from '../state/lease.js';
import type { StateStore } from '../state/state-store.js';
import type { WatchlistDefinition, WatchlistRegistry } from '../state/watchlist-registry.js';
import { MAX_IDS_PER_CALL } from '../tencent/types.js';

/** A watchlist as the configuration describes it (the config module's resolved watchlist fits this shape). */
export interface WatchlistSpec {
  name: string;
  intervalMs: number;
  detail: boolean;
  deviceEvents: boolean;
  firstObservation: FirstObservationPolicy;
  topic?: string | undefined;
  priority: number;
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

/** Splits members into chunk blobs of at most 500 IDs each (the unit of one API call). */
export function chunkMembers(userIds: readonly string[]): string[] {
  const blobs: string[] = [];
  for (let i = 0; i < userIds.length; i += MAX_IDS_PER_CALL) {
    blobs.push(userIds.slice(i, i + MAX_IDS_PER_CALL).join('\n'));
  }
  return blobs;
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
  const hash = createHash('sha256');
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
  deps: { redis: Redis; keys: AppKeys; registry: WatchlistRegistry; stateStore: StateStore },
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
    const current = new Map((await registry.list()).map((definition) => [definition.name, definition]));
    const staleChunkKeys: string[] = [];
    // Removals wait until every watchlist's additions are done: a user moving from one list to another must
    // never pass through "in no list" (that would publish a false untracked and drop its state).
    const removals: Array<{ watchlistId: number; userIds: string[] }> = [];

    for (const spec of specs) {
      const old = current.get(spec.name);
      const memberVersion = memberVersions.get(spec.name)!;
      const id = old?.id ?? (await redis.incr(keys.watchlistIdCounter));
      const definition: WatchlistDefinition = {
        id,
        name: spec.name,
        intervalMs: spec.intervalMs,
        detail: spec.detail,
        deviceEvents: spec.deviceEvents,
        firstObservation: spec.firstObservation,
        priority: spec.priority,
        version: memberVersion,
        chunkCount: Math.ceil(spec.userIds.length / MAX_IDS_PER_CALL),
        userCount: spec.userIds.length,
        ...(spec.topic ? { topic: spec.topic } : {}),
      };
      await redis.hset(keys.watchlistIds, String(id), JSON.stringify({ name: spec.name, topic: spec.topic }));

      if (old?.version !== memberVersion) {
        const chunkKey = keys.watchlistChunks(spec.name, memberVersion);
        const blobs = chunkMembers(spec.userIds);
        const write = redis.multi().del(chunkKey);
        for (let i = 0; i < blobs.length; i += 1_000) write.rpush(chunkKey, ...blobs.slice(i, i + 1_000));
        await write.exec();

        // A new watchlist adds everyone: no sets of a million IDs to build for that.
        const before = old ? new Set(await registry.readMembers(old)) : undefined;
        const after = before ? new Set(spec.userIds) : undefined;
        const added = before ? spec.userIds.filter((userId) => !before.has(userId)) : spec.userIds;
        // Add before publishing the new version, so its chunks only name users that have a record.
        report.usersAdded += (
          await stateStore.updateMembership({ op: 'add', watchlistId: id, userIds: added, nowMs: Date.now() })
        ).changed;
        if (before)
          removals.push({ watchlistId: id, userIds: [...before].filter((userId) => !after!.has(userId)) });
        if (old) {
          staleChunkKeys.push(keys.watchlistChunks(old.name, old.version));
          // Only the old version's watermarks: chunks of the new one may already be running.
          const oldFields = Array.from({ length: old.chunkCount }, (_, chunk) => `${old.version}:${chunk}`);
          for (let i = 0; i < oldFields.length; i += 1_000) {
            await redis.hdel(keys.chunkWatermarks(old.name), ...oldFields.slice(i, i + 1_000));
          }
        }
      }
      if (!old) report.added.push(spec.name);
      else if (JSON.stringify(old) !== JSON.stringify(definition)) report.updated.push(spec.name);
      await redis.hset(keys.watchlists, spec.name, JSON.stringify(definition));
    }

    const wanted = new Set(specs.map((spec) => spec.name));
    for (const old of current.values()) {
      if (wanted.has(old.name)) continue;
      removals.push({ watchlistId: old.id, userIds: await registry.readMembers(old) });
      report.removed.push(old.name);
      await redis.hdel(keys.watchlists, old.name);
      staleChunkKeys.push(
        keys.watchlistChunks(old.name, old.version),
        keys.sweep(old.name),
        keys.sweepDone(old.name),
        keys.chunkWatermarks(old.name),
      );
    }

    for (const { watchlistId, userIds } of removals) {
      const dropped = await stateStore.updateMembership({
        op: 'remove',
        watchlistId,
        userIds,
        nowMs: Date.now(),
      });
      report.usersRemoved += dropped.changed;
      report.untracked += dropped.untracked;
    }

    // Chunk jobs of an old version that are still queued find their list gone and finish as obsolete.
    if (staleChunkKeys.length > 0) await redis.del(...staleChunkKeys);
    await redis.set(keys.configVersion, version);
    return report;
  } finally {
    await lock.release();
  }
}
