import type { LoadedConfig } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { createHintQueue, type Hint, type HintQueue } from '../schedule/hint-queue.js';
import { createStateStore, type Observation, type StateStore } from '../state/state-store.js';
import { MAX_IDS_PER_CALL, STATE_CODES } from '../vocabulary.js';
import type { StateChange } from '../webhook/callback.js';
import { startCallbackReceiver, type CallbackReceiver } from '../webhook/receiver.js';
import type { AppRuntime } from './app-runtime.js';

/**
 * Longest a received hint waits in this process before it is written to the app's hint queue (one Redis call per
 * app per flush with hints, so at most 100 a second).
 */
const FLUSH_MS = 10;
/**
 * A trusted callback must arrive within this time of its EventTime. Tencent does not retry or order callbacks: a
 * late one may describe a state the user already left, so it is only a hint.
 */
export const TRUST_MAX_AGE_MS = 2_000;

interface AppHints {
  runtime: AppRuntime;
  queue: HintQueue;
  pending: Hint[];
  /** Apps with trustCallbacks: the latest Login / Logout per user since the last flush. */
  trusted: Map<string, StateChange> | undefined;
  stateStore: StateStore;
}

/**
 * The webhook role: receives Tencent's state-change callbacks for the configured apps and turns each into a hint
 * (schedule/hint-queue.ts) that the pollers call about within their share of the cap. Hints are written to Redis
 * in small batches (every 20 ms or 500 users); a batch that cannot be written is dropped and logged: the sweeps
 * still find the change.
 *
 * A callback is not a state, except for apps with `trustCallbacks`: there a fresh Login is also applied as Online
 * and a Logout as Offline, through the same diff as an answer (detectedBy: callback), and the hint call that follows
 * confirms it (no event) or corrects it (a transition). Disconnect is never trusted: the user may be PushOnline.
 */
export async function startWebhookRole(
  runtimes: readonly AppRuntime[],
  config: LoadedConfig,
  events: FlowEvents,
  logger: Logger,
): Promise<{ receiver: CallbackReceiver; close: () => Promise<void> }> {
  const apps = new Map<number, AppHints>(
    runtimes.map((runtime) => [
      runtime.app.sdkAppId,
      {
        runtime,
        queue: createHintQueue(runtime.redis, runtime.keys),
        pending: [],
        trusted: runtime.app.trustCallbacks ? new Map() : undefined,
        stateStore: createStateStore(runtime.redis, runtime.keys),
      },
    ]),
  );

  async function flushTrusted(entry: AppHints): Promise<void> {
    if (!entry.trusted || entry.trusted.size === 0) return;
    const changes = [...entry.trusted.values()];
    entry.trusted.clear();
    const observations: Observation[] = changes.map((change) => ({
      userId: change.userId,
      code: change.action === 'Login' ? STATE_CODES.Online : STATE_CODES.Offline,
      deviceHash: '',
      devicesJson: '',
    }));
    try {
      // Observed now: a later answer is newer, an answer already applied from before now is older.
      const result = await entry.stateStore.applyObservations({
        source: 'callback',
        observedAtMs: Date.now(),
        firstObservation: 'silent',
        deviceEvents: false,
        observations,
      });
      events.emit('callbacksTrusted', {
        app: entry.runtime.label,
        published: result.events,
        unchanged: result.applied - result.events,
        skipped: result.untracked,
        stale: result.stale,
        tooOld: 0,
      });
    } catch (error) {
      // Each of these users is hinted too: the hint call still publishes the change.
      logger.warn(
        { err: error, app: entry.runtime.label, users: changes.length },
        'trusted callbacks not applied',
      );
    }
  }

  async function flush(entry: AppHints): Promise<void> {
    await flushTrusted(entry);
    const hints = entry.pending.splice(0, entry.pending.length);
    if (hints.length === 0) return;
    try {
      const result = await entry.queue.add(hints, config.webhook.maxPendingHints);
      events.emit('hintsQueued', { app: entry.runtime.label, ...result });
    } catch (error) {
      logger.warn({ err: error, app: entry.runtime.label, hints: hints.length }, 'hints not queued');
    }
  }

  function trust(entry: AppHints, change: StateChange, receivedAtMs: number): void {
    if (receivedAtMs - change.eventTimeMs > TRUST_MAX_AGE_MS) {
      const app = entry.runtime.label;
      events.emit('callbacksTrusted', { app, published: 0, unchanged: 0, skipped: 0, stale: 0, tooOld: 1 });
      return;
    }
    // Of several callbacks for a user in one flush, the one Tencent saw last.
    const known = entry.trusted!.get(change.userId);
    if (!known || known.eventTimeMs <= change.eventTimeMs) entry.trusted!.set(change.userId, change);
  }

  const timer = setInterval(() => {
    for (const entry of apps.values()) void flush(entry);
  }, FLUSH_MS);

  const receiver = await startCallbackReceiver({
    settings: config.webhook,
    tokenOf: (sdkAppId) => {
      const entry = apps.get(sdkAppId);
      return entry ? entry.runtime.app.callbackToken : null;
    },
    onOutcome: (outcome, sdkAppId) =>
      events.emit('callbackReceived', {
        app: sdkAppId === undefined ? undefined : String(sdkAppId),
        outcome,
      }),
    onStateChange: (sdkAppId, change, receivedAtMs) => {
      const entry = apps.get(sdkAppId)!;
      if (entry.trusted && change.action !== 'Disconnect') trust(entry, change, receivedAtMs);
      entry.pending.push({ userId: change.userId, receivedAtMs });
      if (entry.pending.length >= MAX_IDS_PER_CALL) void flush(entry);
    },
  });
  logger.info({ url: receiver.url }, 'webhook role listening for state-change callbacks');
  return {
    receiver,
    close: async () => {
      await receiver.close();
      clearInterval(timer);
      await Promise.all([...apps.values()].map(flush));
    },
  };
}
