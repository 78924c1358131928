import { randomUUID } from 'node:crypto';
import { readStateTopic, type CurrentState } from '@presence-poller/events';
import type { RedisClient } from '../redis/client.js';
import type { Kafka } from 'kafkajs';
import type { AppKeys } from '../redis/keys.js';
import { encodeRecord } from './record.js';

export interface RestoreReport {
  /** State records of this app found on the topic. */
  read: number;
  /** Records written into Redis. */
  restored: number;
  /** Records of users no watchlist tracks any more, or that Redis already had. */
  skipped: number;
}

/** Records written per pipeline: bounded memory and round trips at a million users. */
const PIPELINE_SIZE = 5_000;

/**
 * Rebuilds the app's state records in Redis from the compacted state topic, as Kafka Streams restores a store from
 * its changelog: the topic holds every tracked user's last published state, `seq` and `epoch`, so after Redis lost
 * its data the poller carries on where the published stream ended — no new epoch, no snapshot per user, and no
 * `eventId` ever given to two different events.
 *
 * A restored record has no watchlist (the sync that follows adds the user to its lists and keeps state, seq and
 * epoch) and no device hash (the next observation with detail learns it without publishing a device change).
 * Users the configuration no longer tracks are skipped: the sync would never remove them. A record Redis already
 * has is left alone (HSETNX): Redis is newer than the topic for every user it still knows.
 */
export async function restoreStates(input: {
  redis: RedisClient;
  keys: AppKeys;
  kafka: Kafka;
  topic: string;
  sdkAppId: number;
  isTracked: (userId: string) => boolean;
  /** Longest wait for the end of the topic. */
  timeoutMs: number;
}): Promise<RestoreReport> {
  const { redis, keys, kafka, topic, sdkAppId, isTracked, timeoutMs } = input;
  // Few retries: with Kafka away, polling on in new epochs beats not polling at all.
  const retry = { retries: 2 };
  const admin = kafka.admin({ retry });
  // A group of its own, read from the beginning and deleted afterwards: nothing is committed anywhere that matters.
  const groupId = `presence-poller-restore-${sdkAppId}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, retry });
  await Promise.all([admin.connect(), consumer.connect()]);
  try {
    const report: RestoreReport = { read: 0, restored: 0, skipped: 0 };
    // Nothing was ever published (a first start): asking for the topic's offsets could create it uncompacted.
    if (!(await admin.listTopics()).includes(topic)) return report;
    const view = await readStateTopic({ consumer, admin, topic, timeoutMs });
    let pipeline = redis.pipeline();
    let queued = 0;
    const flush = async (): Promise<void> => {
      if (queued === 0) return;
      const results = (await pipeline.exec()) ?? [];
      for (const [error, written] of results) {
        if (error) throw error;
        if (written === 1) report.restored += 1;
        else report.skipped += 1;
      }
      pipeline = redis.pipeline();
      queued = 0;
    };
    for (const state of view.states()) {
      if (state.sdkAppId !== sdkAppId) continue;
      report.read += 1;
      if (!isTracked(state.userId)) {
        report.skipped += 1;
        continue;
      }
      pipeline.hsetnx(keys.stateBucketOf(state.userId), state.userId, recordOf(state));
      if (++queued >= PIPELINE_SIZE) await flush();
    }
    await flush();
    return report;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    // An empty group would expire on its own; deleting it keeps the broker's group list readable.
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

function recordOf(state: CurrentState): string {
  return encodeRecord({
    watchlistIds: [],
    state: state.state,
    notFound: state.state === null,
    seq: state.seq,
    observedAtMs: Date.parse(state.observedAt),
    deviceHash: '',
    epoch: state.epoch,
  });
}
