import type { RedisClient } from '../redis/client.js';
import type { UserIdList } from '../tencent/user-id-list.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import {
  DETECTION_LETTERS,
  isObservedCode,
  type FirstObservationPolicy,
  type ObservedCode,
} from '../vocabulary.js';
import { decodeRecord, type StoredState } from './record.js';

/** What one chunk saw for one user. */
export interface Observation {
  userId: string;
  code: ObservedCode;
  /** Short hash of the device list ('' without detail), so device-only changes are detectable cheaply. */
  deviceHash: string;
  /** Devices as JSON for the event ('' without detail). */
  devicesJson: string;
}

/**
 * One chunk's answer to a query without detail, as the compact reading gives it (tencent/parse-codes.ts): the asked
 * IDs and one letter per ID. Users whose letter is no observed code (an account error, a set-aside entry) are left
 * untouched, exactly as `toObservations` leaves them out.
 */
export interface CodedObservations {
  userIds: UserIdList;
  codes: string;
}

/**
 * What counting a chunk done for its sweep came to (schedule/lua/include/finish-chunk.lua): by the diff of an
 * observed chunk in the same step, or by SweepTracker.finishChunk for a chunk that was not observed.
 */
export interface ChunkProgress {
  /** Chunks of the sweep still outstanding; -1 when the chunk was counted already or belongs to an old sweep. */
  remaining: number;
  /** This completed a sweep that had a tick deferred meanwhile: start the follow-up sweep now. */
  startNext: boolean;
  /** The sweep's duration, when this chunk completed it. */
  durationMs?: number;
}

/** Reads the reply of finish-chunk.lua: {remaining, startNext[, durationMs]}. */
export function chunkProgressOf([remaining = -1, startNext, durationMs]: readonly number[]): ChunkProgress {
  return { remaining, startNext: startNext === 1, ...(durationMs === undefined ? {} : { durationMs }) };
}

export interface ApplyResult {
  applied: number;
  events: number;
  stale: number;
  untracked: number;
  /** With `countDoneFor`: what counting the chunk done for its sweep came to. */
  chunkProgress?: ChunkProgress;
}

export interface MembershipResult {
  changed: number;
  untracked: number;
}

export interface StateStore {
  /** Diffs one chunk's answer against stored states and appends its events to the outbox, in one atomic script. */
  applyObservations(input: {
    /**
     * The chunk that observed: its watermark orders retried and concurrent attempts. `hint`: a hint call;
     * `callback`: a trusted callback's state. Neither has a chunk or a watermark.
     */
    source: { watchlist: string; version: string; chunk: number } | 'hint' | 'callback';
    observedAtMs: number;
    firstObservation: FirstObservationPolicy;
    deviceEvents: boolean;
    observations: readonly Observation[] | CodedObservations;
    /**
     * A sweep's chunk: the id of its sweep, to count the chunk done for it in the same step (as
     * SweepTracker.finishChunk would, at the answer's time): one script call per observed chunk, not two.
     */
    countDoneFor?: string;
  }): Promise<ApplyResult>;
  /** Adds users to, or removes them from, one watchlist (untracked events for users left in none). */
  updateMembership(input: {
    op: 'add' | 'remove';
    watchlistId: number;
    userIds: readonly string[];
    nowMs: number;
  }): Promise<MembershipResult>;
  /** Re-publishes the current state of these users as `snapshot` events (next seq each); returns how many. */
  emitSnapshots(userIds: readonly string[]): Promise<number>;
  readState(userId: string): Promise<StoredState | undefined>;
  /** The records of several users in one round trip, in order (`undefined`: not tracked). */
  readStates(userIds: readonly string[]): Promise<Array<StoredState | undefined>>;
}

const SCRIPTS = {
  presenceApplyObservations: { source: 'state/apply-observations', numberOfKeys: 8 },
  presenceUpdateMembership: { source: 'state/update-membership', numberOfKeys: 2 },
  presenceEmitSnapshots: { source: 'state/emit-snapshots', numberOfKeys: 1 },
} satisfies Record<string, ScriptSpec>;

/** Sweep chunks whose bucket ids a state store keeps (~1.5 KB each): 20,000 chunks are 10,000,000 members. */
const MAX_CACHED_CHUNKS = 20_000;

/** Users per membership / snapshot script call: keeps each script short so Redis never blocks long. */
const MEMBERSHIP_BATCH = 1_000;

/** How many users coded observations observe: the letters that are observed codes (the same users `toObservations` keeps). */
export function countObserved({ codes }: CodedObservations): number {
  let count = 0;
  for (let i = 0; i < codes.length; i += 1) if (isObservedCode(codes[i]!)) count += 1;
  return count;
}

/** The per-app state store: every change goes through one of the Lua scripts in ./lua. */
export function createStateStore(redis: RedisClient, keys: AppKeys): StateStore {
  const commands = defineScripts(redis, SCRIPTS);
  // The scripts name each user's bucket and outbox shard from the app's key space and the bucket's id, so a call
  // passes a few fixed keys, not one per bucket (see "Per-user keys" in events/lua/include/outbox-entry.lua).
  const bucketIdOf = (userId: string): string => keys.stateBucketId(keys.stateBucketIndexOf(userId));
  // The diff takes the bucket ids at a fixed width, one after the other: one string, no separator to search for.
  const paddedBucketIds: string[] = [];
  const paddedBucketIdOf = (userId: string): string => {
    const bucket = keys.stateBucketIndexOf(userId);
    return (paddedBucketIds[bucket] ??= keys.stateBucketId(bucket).padEnd(keys.stateBucketIdWidth, ' '));
  };
  const bucketIdsOf = (userIds: readonly string[]): string => {
    let ids = '';
    for (const userId of userIds) ids += paddedBucketIdOf(userId);
    return ids;
  };
  // A sweep chunk's members are fixed by its watchlist's version (a hash of the member list), so its bucket ids
  // are worked out once per chunk rather than per call: ~3 bytes a user, bounded by starting over when full.
  const chunkBucketIds = new Map<string, string>();
  const chunkBucketIdsOf = (
    { watchlist, version, chunk }: { watchlist: string; version: string; chunk: number },
    userIds: UserIdList,
  ): string => {
    // The count and the first and last member in the key guard against a chunk whose members are not those of its
    // version (they always should be).
    const last = userIds.count - 1;
    const key = `${watchlist}\n${version}\n${chunk}\n${userIds.count}\n${userIds.idAt(0)}\n${userIds.idAt(last)}`;
    let ids = chunkBucketIds.get(key);
    if (ids === undefined) {
      ids = bucketIdsOf(userIds.ids());
      if (chunkBucketIds.size >= MAX_CACHED_CHUNKS) chunkBucketIds.clear();
      chunkBucketIds.set(key, ids);
    }
    return ids;
  };

  /** Runs a per-user script over batches of users, one batch at a time; returns each batch's reply as numbers. */
  async function runPerUserBatches(
    userIds: readonly string[],
    call: (batch: readonly string[]) => Promise<unknown>,
  ): Promise<number[][]> {
    const replies: number[][] = [];
    for (let start = 0; start < userIds.length; start += MEMBERSHIP_BATCH) {
      const reply = await call(userIds.slice(start, start + MEMBERSHIP_BATCH));
      replies.push((Array.isArray(reply) ? reply : [reply]).map(Number));
    }
    return replies;
  }

  return {
    async applyObservations({
      source,
      observedAtMs,
      firstObservation,
      deviceEvents,
      observations,
      countDoneFor,
    }) {
      // The script's per-user arguments (see apply-observations.lua): the UserIDs, a letter and a bucket id each,
      // and for an answer read whole the device detail of each. An answer read as codes passes the chunk's IDs
      // and letters as they are: nothing is built per user but the bucket ids.
      let userIds: string;
      let letters: string;
      let bucketIds: string;
      let details = '';
      if ('codes' in observations) {
        if (countObserved(observations) === 0) return { applied: 0, events: 0, stale: 0, untracked: 0 };
        userIds = observations.userIds.text;
        letters = observations.codes;
        bucketIds =
          typeof source === 'string'
            ? bucketIdsOf(observations.userIds.ids())
            : chunkBucketIdsOf(source, observations.userIds);
      } else {
        if (observations.length === 0) return { applied: 0, events: 0, stale: 0, untracked: 0 };
        const ids = observations.map((o) => o.userId);
        userIds = ids.join('\n');
        letters = observations.map((o) => o.code).join('');
        bucketIds = bucketIdsOf(ids);
        details = observations.map((o) => `${o.deviceHash}\t${o.devicesJson}`).join('\n');
      }
      const sweep = typeof source !== 'string' && countDoneFor !== undefined ? source.watchlist : undefined;
      const [applied = 0, events = 0, stale = 0, untracked = 0, ...progress] =
        (await commands.presenceApplyObservations(
          keys.outbox,
          // Without a chunk (hint call, trusted callback) the watermark key is passed but never read (the script's
          // chunk field is '').
          typeof source === 'string' ? keys.hints : keys.chunkWatermarks(source.watchlist),
          keys.detailWatchlistIds,
          keys.deviceEventWatchlistIds,
          keys.watchlists,
          keys.stateWrites,
          // Without a sweep to count the chunk for, any key of the app: never read.
          sweep === undefined ? keys.hints : keys.sweep(sweep),
          sweep === undefined ? keys.hints : keys.sweepDone(sweep),
          observedAtMs,
          firstObservation,
          deviceEvents ? '1' : '0',
          typeof source === 'string' ? '' : `${source.version}:${source.chunk}`,
          userIds,
          letters,
          typeof source === 'string' ? '' : source.watchlist,
          DETECTION_LETTERS[typeof source === 'string' ? source : 'sweep'],
          keys.keySpace,
          bucketIds,
          details,
          sweep === undefined ? '' : countDoneFor!,
        )) as number[];
      return {
        applied,
        events,
        stale,
        untracked,
        ...(sweep === undefined ? {} : { chunkProgress: chunkProgressOf(progress) }),
      };
    },

    async updateMembership({ op, watchlistId, userIds, nowMs }) {
      const results = await runPerUserBatches(userIds, (batch) =>
        commands.presenceUpdateMembership(
          keys.outbox,
          keys.stateWrites,
          nowMs,
          op,
          watchlistId,
          // One packed argument, as for observations: 1,000 users are one string, not 2,000 arguments.
          batch.map((userId) => `${userId}\t${bucketIdOf(userId)}`).join('\n'),
          keys.keySpace,
        ),
      );
      return {
        changed: results.reduce((sum, [changed = 0]) => sum + changed, 0),
        untracked: results.reduce((sum, [, untracked = 0]) => sum + untracked, 0),
      };
    },

    async emitSnapshots(userIds) {
      const results = await runPerUserBatches(userIds, (batch) =>
        commands.presenceEmitSnapshots(
          keys.outbox,
          keys.keySpace,
          ...batch.flatMap((userId) => [userId, bucketIdOf(userId)]),
        ),
      );
      return results.reduce((sum, [emitted = 0]) => sum + emitted, 0);
    },

    async readState(userId) {
      const record = await redis.hget(keys.stateBucketOf(userId), userId);
      return record === null ? undefined : decodeRecord(record);
    },
    async readStates(userIds) {
      const pipeline = redis.pipeline();
      for (const userId of userIds) pipeline.hget(keys.stateBucketOf(userId), userId);
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, record]) => {
        if (error) throw error;
        return typeof record === 'string' ? decodeRecord(record) : undefined;
      });
    },
  };
}
