import { isKnownKind, type PresenceEvent, type PresenceEventEnvelope } from './contract.js';
import { decode, type DecodeError } from './decode.js';
import { createDeduper, type Deduper } from './dedupe.js';
import { createGapDetector, type GapCheck } from './gap-detector.js';
import type { KafkaMessageLike } from './kafka-records.js';
import { createPresenceView, type PresenceView } from './presence-view.js';

/** Where a record was read. */
export interface RecordOrigin {
  topic: string;
  partition: number;
  offset: string;
}

/** The consumer calls bootstrap and follow make; a kafkajs `Consumer` fits as is. */
export interface RecordConsumer {
  subscribe(subscription: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
  run(config: {
    eachMessage: (payload: {
      topic: string;
      partition: number;
      message: KafkaMessageLike & { offset: string };
    }) => Promise<void>;
  }): Promise<void>;
  stop(): Promise<void>;
  /**
   * kafkajs's instrumentation events (optional): with them a partition whose last offsets are transaction markers
   * (a transactional producer) counts as read once a batch reached them, although no message carries those offsets.
   */
  on?(
    event: string,
    listener: (event: { payload: { topic: string; partition: number; lastOffset: string } }) => void,
  ): unknown;
  events?: { END_BATCH_PROCESS: string };
}

/** The admin call that finds where a topic ends; a kafkajs `Admin` fits as is. */
export interface TopicOffsetsAdmin {
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>>;
}

export interface ReadStateTopicOptions {
  /** A connected consumer in a group of its own (it reads from the beginning); stopped, not disconnected, here. */
  consumer: RecordConsumer;
  admin: TopicOffsetsAdmin;
  /** The compacted state topic. */
  topic: string;
  /** The view to fill. Default: a new one. */
  view?: PresenceView;
  /** Called for a record that is not a valid state or tombstone (it is skipped). Default: ignored. */
  onError?: (error: DecodeError, origin: RecordOrigin) => void;
  /** Longest wait for the end of the topic, in ms. Default 60 s. */
  timeoutMs?: number;
}

/**
 * Reads the state topic from its beginning up to the end it had when the call began (its high watermarks) into a
 * view. Afterwards follow the transitions topics with `followTransitions`, which drops what the state records include.
 */
export async function readStateTopic(options: ReadStateTopicOptions): Promise<PresenceView> {
  const { consumer, admin, topic, view = createPresenceView(), onError, timeoutMs = 60_000 } = options;
  const offsets = await admin.fetchTopicOffsets(topic);
  // partition -> offset of the last record to read; empty partitions are done already.
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of offsets) {
    if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high) - 1n);
  }
  if (remaining.size === 0) return view;

  let finish!: () => void;
  const reachedEnd = new Promise<void>((resolve) => (finish = resolve));
  const reached = (partition: number, offset: string): void => {
    const last = remaining.get(partition);
    if (last === undefined || BigInt(offset) < last) return;
    remaining.delete(partition);
    if (remaining.size === 0) finish();
  };
  const stopListening = consumer.events
    ? consumer.on?.(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic) reached(payload.partition, payload.lastOffset);
      })
    : undefined;
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic: from, partition, message }) => {
      const last = remaining.get(partition);
      if (last === undefined) return;
      const result = decode(message);
      if (result.type === 'state') view.applyState(result.state);
      else if (result.type === 'tombstone') view.applyTombstone(result.sdkAppId, result.userId);
      else if (result.type === 'error') onError?.(result, { topic: from, partition, offset: message.offset });
      else onError?.(notAState(result.event), { topic: from, partition, offset: message.offset });
      reached(partition, message.offset);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const partitions = [...remaining.keys()].join(', ');
      reject(
        new Error(
          `state topic ${topic} not read to its end within ${timeoutMs} ms (partitions ${partitions})`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([reachedEnd, timedOut]);
  } finally {
    clearTimeout(timer);
    if (typeof stopListening === 'function') stopListening();
    await consumer.stop();
  }
  return view;
}

function notAState(event: PresenceEventEnvelope): DecodeError {
  const message = `a ${event.kind} event (${event.eventId}) on the state topic`;
  return { type: 'error', code: 'header_mismatch', message, details: [message] };
}

export interface FollowTransitionsOptions {
  /** A connected consumer in the application's group (commits after each handled record). */
  consumer: RecordConsumer;
  /** The view from `readStateTopic`. */
  view: PresenceView;
  /** Topics that carry every event of a user (the default transitions topic). */
  completeTopics: readonly string[];
  /** Per-watchlist topics: they carry a user's events only while the user is in that watchlist. */
  partialTopics?: readonly string[];
  /**
   * Skips eventIds already handled: the same event read from two topics, a redelivery, or (with a shared store)
   * one handled before a restart. Default: an in-memory one.
   */
  deduper?: Deduper;
  /**
   * Called once per event the state records did not include, then the view takes it. Across topics a user's
   * events may arrive out of order (each topic is ordered on its own); the view keeps the newest.
   */
  onEvent: (event: PresenceEvent, origin: RecordOrigin) => unknown;
  /** Called for an event of a kind this package does not know (the view is unchanged). */
  onUnknownKind?: (event: PresenceEventEnvelope, origin: RecordOrigin) => unknown;
  /** Called when events are missing from a complete topic. */
  onGap?: (
    gap: Extract<GapCheck, { type: 'gap' }>,
    event: PresenceEventEnvelope,
    origin: RecordOrigin,
  ) => unknown;
  /** Called for a record that is not a valid event (it is skipped). */
  onError?: (error: DecodeError, origin: RecordOrigin) => unknown;
}

/**
 * Follows the transitions topics after `readStateTopic`: decodes each record, checks for gaps (seeded with the
 * view's positions, so the first event after the state is checked too), drops what the state records include and
 * what the deduper has seen, hands the rest to `onEvent` and then to the view. Resolves once the consumer runs.
 */
export async function followTransitions(options: FollowTransitionsOptions): Promise<void> {
  const { consumer, view, completeTopics, partialTopics = [], deduper = createDeduper() } = options;
  const gaps = createGapDetector({ completeTopics, partialTopics });
  for (const state of view.states()) for (const topic of completeTopics) gaps.seed(topic, state);

  await consumer.subscribe({ topics: [...completeTopics, ...partialTopics], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const origin = { topic, partition, offset: message.offset };
      const result = decode(message);
      if (result.type === 'error') return void (await options.onError?.(result, origin));
      if (result.type !== 'event' && result.type !== 'unknown_kind') {
        const error = `a ${result.type} record on transitions topic ${topic}`;
        return void (await options.onError?.(
          { type: 'error', code: 'header_mismatch', message: error, details: [error] },
          origin,
        ));
      }
      const check = gaps.check(topic, result.event);
      if (check.type === 'gap') await options.onGap?.(check, result.event, origin);
      if (result.type === 'unknown_kind' || !isKnownKind(result.event.kind)) {
        return void (await options.onUnknownKind?.(result.event, origin));
      }
      const event = result.event;
      if (view.includes(event)) return;
      // Remembered only after onEvent succeeded: a failed record is retried, not taken as handled.
      await deduper.handleOnce(event.eventId, async () => {
        await options.onEvent(event, origin);
        view.applyEvent(event);
      });
    },
  });
}
