import type { Redis } from 'ioredis';
import type { FirstObservationPolicy } from '../events/event.js';
import type { AppKeys } from './keys.js';
import { loadLua } from './lua-script.js';
import { decodeRecord, type StateCode, type StoredState } from './record.js';

/** What one chunk saw for one user. */
export interface Observation {
  userId: string;
  code: StateCode;
  /** Short hash of the device list ('' without detail), so device-only changes are detectable cheaply. */
  deviceHash: string;
  /** Devices as JSON for the event ('' without detail). */
  devicesJson: string;
}

export interface ApplyResult {
  applied: number;
  events: number;
  stale: number;
  untracked: number;
}

export interface MembershipResult {
  changed: number;
  untracked: number;
}

export interface StateStore {
  /** Diffs one chunk's answer against stored states and appends its events to the outbox, in one atomic script. */
  applyObservations(input: {
    /** The chunk that observed: its watermark orders retried and concurrent attempts. */
    source: { watchlist: string; version: string; chunk: number };
    observedAtMs: number;
    firstObservation: FirstObservationPolicy;
    deviceEvents: boolean;
    observations: readonly Observation[];
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
}

const applyLua = loadLua(new URL('./lua/apply-observations.lua', import.meta.url));
const membershipLua = loadLua(new URL('./lua/update-membership.lua', import.meta.url));
const snapshotsLua = loadLua(new URL('./lua/emit-snapshots.lua', import.meta.url));
/** Users per membership script call: keeps each script short so Redis never blocks long. */
const MEMBERSHIP_BATCH = 1_000;

type ScriptRunner = (...args: (string | number)[]) => Promise<number[]>;

/**
 * The per-app state store. Scripts are registered once per connection with `defineCommand` (EVALSHA with
 * automatic fallback to EVAL).
 */
export function createStateStore(redis: Redis, keys: AppKeys): StateStore {
  if (!('presenceEmitSnapshots' in redis)) {
    redis.defineCommand('presenceApplyObservations', { lua: applyLua });
    redis.defineCommand('presenceUpdateMembership', { lua: membershipLua });
    redis.defineCommand('presenceEmitSnapshots', { lua: snapshotsLua });
  }
  const commands = redis as unknown as Record<
    'presenceApplyObservations' | 'presenceUpdateMembership' | 'presenceEmitSnapshots',
    ScriptRunner
  >;

  /** KEYS = [...leading, ...distinct buckets]; with the KEYS index (1-based) of each user's bucket, in order. */
  function bucketKeys(userIds: readonly string[], leading: string[]): { keys: string[]; indexOf: number[] } {
    const keysList = [...leading];
    const slot = new Map<string, number>();
    const indexOf = userIds.map((userId) => {
      const bucket = keys.stateBucketOf(userId);
      let index = slot.get(bucket);
      if (index === undefined) {
        keysList.push(bucket);
        index = keysList.length;
        slot.set(bucket, index);
      }
      return index;
    });
    return { keys: keysList, indexOf };
  }

  return {
    async applyObservations({ source, observedAtMs, firstObservation, deviceEvents, observations }) {
      if (observations.length === 0) return { applied: 0, events: 0, stale: 0, untracked: 0 };
      const { keys: scriptKeys, indexOf } = bucketKeys(
        observations.map((o) => o.userId),
        [keys.outbox, keys.chunkWatermarks(source.watchlist)],
      );
      // One packed argument instead of five per user: far less work building and parsing the command.
      const packed = observations
        .map((o, i) => `${o.userId}\t${indexOf[i]}\t${o.code}\t${o.deviceHash}\t${o.devicesJson}`)
        .join('\n');
      const [applied = 0, events = 0, stale = 0, untracked = 0] = await commands.presenceApplyObservations(
        scriptKeys.length,
        ...scriptKeys,
        observedAtMs,
        firstObservation,
        deviceEvents ? '1' : '0',
        `${source.version}:${source.chunk}`,
        packed,
      );
      return { applied, events, stale, untracked };
    },

    async updateMembership({ op, watchlistId, userIds, nowMs }) {
      const total: MembershipResult = { changed: 0, untracked: 0 };
      for (let start = 0; start < userIds.length; start += MEMBERSHIP_BATCH) {
        const batch = userIds.slice(start, start + MEMBERSHIP_BATCH);
        const { keys: scriptKeys, indexOf } = bucketKeys(batch, [keys.outbox]);
        const args: (string | number)[] = [nowMs, op, watchlistId];
        batch.forEach((userId, i) => args.push(userId, indexOf[i]!));
        const [changed = 0, untracked = 0] = await commands.presenceUpdateMembership(
          scriptKeys.length,
          ...scriptKeys,
          ...args,
        );
        total.changed += changed;
        total.untracked += untracked;
      }
      return total;
    },

    async emitSnapshots(userIds) {
      let emitted = 0;
      for (let start = 0; start < userIds.length; start += MEMBERSHIP_BATCH) {
        const batch = userIds.slice(start, start + MEMBERSHIP_BATCH);
        const { keys: scriptKeys, indexOf } = bucketKeys(batch, [keys.outbox]);
        const args = batch.flatMap((userId, i) => [userId, indexOf[i]!]);
        emitted += Number(await commands.presenceEmitSnapshots(scriptKeys.length, ...scriptKeys, ...args));
      }
      return emitted;
    },

    async readState(userId) {
      const record = await redis.hget(keys.stateBucketOf(userId), userId);
      return record === null ? undefined : decodeRecord(record);
    },
  };
}
