import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';

/**
 * The dead-letter stream of an app: outbox entries Kafka refused as too large even alone (the relay moves them
 * there so they cannot block the app's other events; see relay/lua/dead-letter.lua). Read and replayed by the
 * `presence-poller dead-letters` command.
 */
export interface DeadLetter {
  /** Id in the dead-letter stream (what `replay` takes). */
  id: string;
  /** The outbox entry's id when it was moved. */
  outboxId: string;
  eventId: string;
  reason: string;
  /** The UserID of the event (its outbox shard follows from it). */
  userId: string;
}

const SCRIPTS = {
  presenceReplayDeadLetters: { source: 'relay/replay-dead-letters', numberOfKeys: 4 },
} satisfies Record<string, ScriptSpec>;

/** Up to `count` dead letters, oldest first. */
export async function listDeadLetters(
  redis: RedisClient,
  keys: AppKeys,
  count = 1_000,
): Promise<DeadLetter[]> {
  const rows = (await redis.xrange(keys.deadLetters, '-', '+', 'COUNT', count)) as Array<[string, string[]]>;
  return rows.map(([id, fields]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1] ?? '';
    return {
      id,
      outboxId: f._outboxId ?? '',
      eventId: f._eventId ?? '',
      reason: f._reason ?? '',
      userId: f.u ?? '',
    };
  });
}

/** Dead letters read at most by one replay. */
const REPLAY_LIMIT = 100_000;

/**
 * Puts dead letters back at the end of the outbox with their original fields (same eventId), so the relay tries
 * them again: after raising the topic's `max.message.bytes`, say. `ids` absent: every dead letter. Each goes to the
 * outbox shard of its user, after the user's snapshot still waiting in the shard's low-priority stream (moved ahead
 * of it, as any new event does). They then reach Kafka after their users' later events; consumers recognise them by
 * eventId and `seq`. Returns how many moved.
 */
export async function replayDeadLetters(
  redis: RedisClient,
  keys: AppKeys,
  ids?: readonly string[],
): Promise<number> {
  const scripts = defineScripts(redis, SCRIPTS);
  const wanted = ids === undefined ? undefined : new Set(ids);
  const letters = (await listDeadLetters(redis, keys, REPLAY_LIMIT)).filter(
    (letter) => wanted === undefined || wanted.has(letter.id),
  );
  const byShard = new Map<number, string[]>();
  for (const letter of letters) {
    const shard = keys.outboxShardOf(letter.userId);
    const list = byShard.get(shard);
    if (list) list.push(letter.id);
    else byShard.set(shard, [letter.id]);
  }
  let replayed = 0;
  for (const [shard, chosen] of byShard) {
    replayed += Number(
      await scripts.presenceReplayDeadLetters(
        keys.deadLetters,
        keys.outboxShard(shard),
        keys.lowOutboxShard(shard),
        keys.lowPendingOf(shard),
        ...chosen,
      ),
    );
  }
  return replayed;
}
