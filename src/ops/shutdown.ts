/**
 * Graceful shutdown: on the first SIGTERM / SIGINT, run the steps in order (stop accepting, stop the service,
 * which finishes in-flight chunks and flushes the relay, close connections) within a deadline. A step that fails
 * is logged and the rest still run; the outcome is exit code 0 when every step finished, 1 otherwise. Past the
 * deadline, or on a second signal, the process exits at once with 1 (the outbox keeps anything unpublished, so an
 * abrupt exit loses no event: the next relay re-publishes it).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

export interface ShutdownStep {
  /** Named in the log. */
  name: string;
  run: () => Promise<unknown>;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Run in order on the first signal. */
  steps: readonly ShutdownStep[];
  /** Time allowed for all steps. Default 25000 ms (below Kubernetes' default 30 s grace period). */
  deadlineMs?: number;
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Hard exit for the deadline and the second signal. Default `process.exit`. */
  exit?: (code: number) => void;
  /** Where signals come from. Default `process`. */
  emitter?: EventEmitter;
}

export interface ShutdownHandle {
  /** Starts the shutdown (as a signal does); resolves with the exit code once every step ran. */
  shutdown(reason: string): Promise<number>;
  /** Resolves with the exit code when a shutdown (by signal or `shutdown()`) finished within the deadline. */
  readonly done: Promise<number>;
  /** Stops listening to signals. */
  dispose(): void;
}

export const DEFAULT_SHUTDOWN_OPTIONS = {
  deadlineMs: 25_000,
  signals: ['SIGTERM', 'SIGINT'],
} satisfies Partial<ShutdownOptions>;

export function installShutdown(options: ShutdownOptions): ShutdownHandle {
  const { logger, steps } = options;
  const deadlineMs = options.deadlineMs ?? DEFAULT_SHUTDOWN_OPTIONS.deadlineMs;
  const signals = options.signals ?? DEFAULT_SHUTDOWN_OPTIONS.signals;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const emitter = options.emitter ?? process;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let running: Promise<number> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      exit(1);
      return;
    }
    void shutdown(signal);
  };
  for (const signal of signals) emitter.on(signal, onSignal);

  function shutdown(reason: string): Promise<number> {
    if (running) return running;
    logger.info({ reason, deadlineMs }, 'shutting down');
    const startedAt = Date.now();
    // Deliberately not unref'd: if a step hangs on a promise with no I/O behind it, the process would otherwise
    // exit with code 0 as if the shutdown had been clean.
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown missed its deadline: exiting with in-flight work left behind');
      exit(1);
    }, deadlineMs);
    running = (async () => {
      let failed = 0;
      for (const step of steps) {
        try {
          await step.run();
        } catch (error) {
          failed += 1;
          logger.error({ err: error, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      const code = failed === 0 ? 0 : 1;
      logger.info(
        { ms: Date.now() - startedAt, failedSteps: failed },
        failed === 0 ? 'stopped cleanly' : 'stopped with errors',
      );
      resolveDone(code);
      return code;
    })();
    return running;
  }

  return {
    shutdown,
    done,
    dispose() {
      for (const signal of signals) emitter.off(signal, onSignal);
    },
  };
}
