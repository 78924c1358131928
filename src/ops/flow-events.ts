/**
 * What happens in the flow, as typed events: the chunk and sweep jobs, the schedulers' watchdog, the sending thread,
 * the relay and the reloader say what they did here, and know nothing of how it is counted. ops/flow-metrics.ts
 * turns these events into Prometheus metrics in one place; anything else (a test, a log) may listen too.
 *
 * `app` is the SDKAppID as a string in every event. Listeners run synchronously and must be cheap; one that throws
 * is isolated (the flow never fails because of an observer).
 */
import type { DetectionSource, HeldReason, QuarantineKind } from '../vocabulary.js';

export interface FlowEventMap {
  /** A Tencent call that was sent: its outcome, and (from the sending thread) how it was timed. */
  call: { app: string; outcome: 'ok' | 'error' };
  /** Timing of a call the sending thread started, whatever its outcome. */
  callTiming: { app: string; waitMs: number; latenessMs: number; durationMs: number };
  /** The pacer gave a slot back because the call would have started too late. */
  lateSlot: { app: string };
  /** A failed call, as classified. */
  callFailed: { app: string; kind: string; errorCode: number | undefined };
  /** A rate-limit answer slowed every process's calls. */
  rateLimited: { app: string };
  /** Per-account error entries of an answer other than "account not found". */
  accountErrors: { app: string; errorCodes: readonly number[] };
  /** Entries of an answer set aside (the rest of the answer was applied), one kind per entry. */
  entriesQuarantined: { app: string; kinds: readonly QuarantineKind[] };
  /** A chunk's answer was diffed into Redis. */
  chunkObserved: { app: string; watchlist: string; users: number; events: number; stale: number };
  /** A chunk job found its watchlist version or sweep gone and made no call. */
  chunkObsolete: { app: string; watchlist: string };
  /** A chunk failed its last attempt: its users wait for the next sweep. `error` is its last failure. */
  chunkGivenUp: { app: string; watchlist: string; error: unknown };
  /** A scheduler tick's decision (start, resume, skip). */
  sweepDecided: { app: string; watchlist: string; decision: string };
  /** The last chunk of a sweep finished. */
  sweepCompleted: { app: string; watchlist: string; durationMs: number };
  /** The watchdog re-created a job scheduler that had stopped ticking. */
  schedulerRepaired: { app: string; watchlist: string };
  /** The poller's watchdog replaced a BullMQ worker that took no job while jobs were ready (schedule/kept-worker.ts). */
  workerReplaced: { app: string; queue: string };
  /** Kafka acknowledged a batch of events. */
  eventsPublished: {
    app: string;
    kinds: readonly string[];
    /** Per published event (state records of membership changes excluded), from its observation to the ack. */
    latenciesMs: readonly number[];
    /** The transitions among them, with how each was detected. */
    transitions: readonly { detectedBy: DetectionSource; latencyMs: number }[];
  };
  /** A publish attempt failed (it is retried, or split when Kafka refused it as too large). */
  publishFailed: { app: string };
  /**
   * A batch was held back (it is retried): fewer Redis replicas than `redis.waitForReplicas` acknowledged it
   * (`replicas` of them did), or the master refused to ask them (`redis_refused`, with Redis's answer, redacted).
   */
  publishHeld: { app: string; reason: HeldReason; replicas: number; refusal?: string };
  /** An event Kafka refuses as too large even alone was moved to the dead-letter stream. */
  eventDeadLettered: { app: string };
  /** The relay's Kafka producer connected or lost its connection. */
  kafkaConnection: { connected: boolean };
  /** The outbox holds more than `redis.outboxWarnEntries` events (reported at most once a minute). */
  outboxOverWarnLevel: { app: string; entries: number };
  /** One iteration of an app's relay loop began (liveness: it keeps coming while the relay is not stuck). */
  relayLoop: { app: string };
  /** This process took or lost the relay lease of one of the app's outbox shards (0 with a single outbox). */
  relayLease: { app: string; shard: number; held: boolean };
  /** Redis was found without the app's data while the service ran (see roles/state-recovery.ts). */
  redisDataLost: { app: string };
  /** A restore of the app's states from the state topic started or finished (`restored`: records written). */
  stateRecovery: { app: string; phase: 'started' | 'finished'; restored: number };
  /** A request reached the webhook role: `accepted`, or why it was refused. `app` when the SdkAppid is known. */
  callbackReceived: { app: string | undefined; outcome: string };
  /** Hinted users joined the app's hint queue (`merged`: already waiting; `overflow`: dropped, the queue is full). */
  hintsQueued: { app: string; added: number; merged: number; overflow: number };
  /** Hinted users no call was made for: not tracked or never observed yet, or their call failed. */
  hintsDropped: { app: string; reason: 'untracked' | 'call_failed'; users: number };
  /** A hint call's answer was diffed; `waitsMs`: per user, from the callback's arrival to the answer. */
  hintsObserved: { app: string; users: number; events: number; waitsMs: readonly number[] };
  /**
   * Trusted callbacks (apps with trustCallbacks) went through the diff: `published` made an event, `unchanged`
   * matched the known state, `skipped` found the user untracked or never observed, `stale` was older than what is
   * known, `too_old` arrived too long after its EventTime to be trusted (it stays a hint).
   */
  callbacksTrusted: {
    app: string;
    published: number;
    unchanged: number;
    skipped: number;
    stale: number;
    tooOld: number;
  };
  /** A configuration reload finished. */
  configReloaded: { outcome: string };
}

export type FlowEventName = keyof FlowEventMap;
export type FlowListener<Name extends FlowEventName> = (event: FlowEventMap[Name]) => void;

export interface FlowEvents {
  emit<Name extends FlowEventName>(name: Name, event: FlowEventMap[Name]): void;
  /** Adds a listener; the returned function removes it. */
  on<Name extends FlowEventName>(name: Name, listener: FlowListener<Name>): () => void;
}

export function createFlowEvents(): FlowEvents {
  const listeners = new Map<FlowEventName, Set<FlowListener<FlowEventName>>>();
  return {
    emit(name, event) {
      const set = listeners.get(name);
      if (!set) return;
      for (const listener of set) {
        try {
          (listener as FlowListener<typeof name>)(event);
        } catch {
          // An observer's failure must never become the flow's.
        }
      }
    },
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      const entry = listener as FlowListener<FlowEventName>;
      set.add(entry);
      return () => void set.delete(entry);
    },
  };
}
