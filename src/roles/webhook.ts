import type { LoadedConfig } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { createHintQueue, type Hint, type HintQueue } from '../schedule/hint-queue.js';
import { MAX_IDS_PER_CALL } from '../vocabulary.js';
import { startCallbackReceiver, type CallbackReceiver } from '../webhook/receiver.js';
import type { AppRuntime } from './app-runtime.js';

/** Longest a received hint waits in this process before it is written to the app's hint queue. */
const FLUSH_MS = 20;

interface AppHints {
  runtime: AppRuntime;
  queue: HintQueue;
  pending: Hint[];
}

/**
 * The webhook role: receives Tencent's state-change callbacks for the configured apps and turns each into a hint
 * (schedule/hint-queue.ts) that the pollers call about within their share of the cap. A callback is never a state:
 * nothing here touches a user's record. Hints are written to Redis in small batches (every 20 ms or 500 users);
 * a batch that cannot be written is dropped and logged: the sweeps still find the change.
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
      { runtime, queue: createHintQueue(runtime.redis, runtime.keys), pending: [] },
    ]),
  );

  async function flush(entry: AppHints): Promise<void> {
    const hints = entry.pending.splice(0, entry.pending.length);
    if (hints.length === 0) return;
    try {
      const result = await entry.queue.add(hints, config.webhook.maxPendingHints);
      events.emit('hintsQueued', { app: entry.runtime.label, ...result });
    } catch (error) {
      logger.warn({ err: error, app: entry.runtime.label, hints: hints.length }, 'hints not queued');
    }
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
