import type { AppRuntime } from './app-runtime.js';
import type { Closer } from './roles.js';

/** How often what happened is written to Redis: a few small writes a second per process, whatever the call rate. */
const FLUSH_INTERVAL_MS = 1_000;

interface LastFailure {
  at: number;
  kind: string;
  code: number | undefined;
}

/**
 * Writes what `status` needs and only a running poller knows into Redis: the outcome of the app's last calls (so
 * anyone can tell whether the credentials still work) and the chunks given up per watchlist (added to the sweep
 * hash). It listens to the flow events and writes at most once a second, so the hot path pays nothing.
 */
export function startStatusRecorder(runtime: AppRuntime): Closer {
  const { events, label, redis, keys, logger } = runtime;
  let lastOkAt: number | undefined;
  let lastFailure: LastFailure | undefined;
  const givenUp = new Map<string, number>();

  const subscriptions = [
    events.on('call', ({ app, outcome }) => {
      if (app === label && outcome === 'ok') lastOkAt = Date.now();
    }),
    events.on('callFailed', ({ app, kind, errorCode }) => {
      if (app === label) lastFailure = { at: Date.now(), kind, code: errorCode };
    }),
    events.on('chunkGivenUp', ({ app, watchlist }) => {
      if (app === label) givenUp.set(watchlist, (givenUp.get(watchlist) ?? 0) + 1);
    }),
  ];

  async function flush(): Promise<void> {
    if (lastOkAt === undefined && lastFailure === undefined && givenUp.size === 0) return;
    const pipeline = redis.pipeline();
    if (lastOkAt !== undefined) pipeline.hset(keys.callStatus, 'lastOkAt', lastOkAt);
    if (lastFailure !== undefined) {
      pipeline.hset(keys.callStatus, {
        lastFailedAt: lastFailure.at,
        lastFailureKind: lastFailure.kind,
        lastFailureCode: lastFailure.code ?? '',
      });
    }
    for (const [watchlist, count] of givenUp) pipeline.hincrby(keys.sweep(watchlist), 'givenUp', count);
    lastOkAt = undefined;
    lastFailure = undefined;
    givenUp.clear();
    await pipeline.exec();
  }

  let flushing: Promise<void> | undefined;
  const timer = setInterval(() => {
    flushing ??= flush()
      .catch((error: unknown) => logger.debug({ err: error }, 'status not recorded'))
      .finally(() => (flushing = undefined));
  }, FLUSH_INTERVAL_MS);

  return async () => {
    clearInterval(timer);
    for (const unsubscribe of subscriptions) unsubscribe();
    await flushing;
    await flush().catch(() => undefined);
  };
}
