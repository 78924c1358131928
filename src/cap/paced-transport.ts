/**
 * The poller's transport: send slots and sockets in a thread of their own.
 *
 * Why a thread: a call must start within a few milliseconds of its slot (pacer.ts), and the main thread cannot
 * promise that. It parses answers, diffs them into Redis, runs BullMQ and the Kafka relay; its major GCs and long
 * tasks made calls start late, and each late start either pushed the schedule back or gave a slot away (BENCHMARKS.md
 * has the figures before and after). The thread holds only the pacer, its Redis connection and the HTTP
 * connections, so its event loop is idle between slots and its heap stays small. The main thread hands it built
 * requests and gets the answers' text back; parsing and every decision stay in the main thread.
 *
 * If the thread dies, the calls it held fail as network errors (retried like any other) and a later call starts a
 * new thread: after 1 s, doubling up to 30 s while threads keep dying without answering anything.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../ops/module-thread.js';
import { redactSecrets } from '../ops/redact.js';
import {
  TransportError,
  type Transport,
  type TransportFailureReason,
  type TransportRequest,
  type TransportResponse,
} from '../tencent/transport.js';
import type { PacerOptions } from './pacer.js';
import type { RedisTarget } from '../redis/client.js';

/** How one call went, measured in the sending thread. */
export interface CallTiming {
  /** From handing the call over to its send slot. */
  waitMs: number;
  /** How long after its slot the call started. */
  latenessMs: number;
  /** From the start to the complete answer (or the failure). */
  durationMs: number;
}

export interface PacedTransportOptions {
  /** The Redis holding the pacer, as configured (the thread opens its own connection to it). */
  redis: RedisTarget;
  pacerKey: string;
  /** Plain pacer settings (callbacks cannot cross to the thread: see the hooks below). */
  pacer: Omit<PacerOptions, 'onLateSlot'>;
  /** Keep-alive HTTP connections; also the most calls in flight. */
  connections: number;
  /** Largest answer body read (tencent/transport.ts); a larger one fails the call as `too_large`. */
  maxAnswerBytes?: number;
  connectTimeoutMs?: number;
  /** Names the thread's Redis connection (CLIENT LIST). */
  connectionName?: string;
  /**
   * Nice value the thread asks for itself (Linux: per thread; `poller.sendingThreadNice`): a thread that waits for
   * a core starts its calls late. 0 or absent: the process's own.
   */
  nice?: number;
  /** Told after every call that got a slot and was sent (answered or not, awaited or not). */
  onCall?: (timing: CallTiming) => void;
  /** Told each time the pacer gave a slot back for lateness. */
  onLateSlot?: () => void;
  /** Told when the thread could not take the `nice` value asked for (no CAP_SYS_NICE): why, redacted. */
  onNiceRefused?: (message: string) => void;
  /** Told when the thread failed, or its Redis connection reports an error. Messages are redacted. */
  onError?: (message: string) => void;
}

export interface PacedTransport extends Transport {
  /** After a rate-limit answer: pause every process for `pauseMs` and slow down. Resolves with the speed factor. */
  penalize(pauseMs: number): Promise<number>;
}

/** Data the thread starts with: the options without the hooks (functions cannot cross to a thread). */
export type ThreadSettings = Omit<
  PacedTransportOptions,
  'onCall' | 'onLateSlot' | 'onNiceRefused' | 'onError'
>;

export type ToThread =
  | { type: 'send'; id: number; request: Omit<TransportRequest, 'signal'> }
  | { type: 'abort'; id: number }
  | { type: 'penalize'; id: number; pauseMs: number }
  | { type: 'close' };

export type FromThread =
  | { type: 'answer'; id: number; response: TransportResponse; timing: CallTiming }
  | {
      type: 'failure';
      id: number;
      reason: TransportFailureReason;
      message: string;
      code: string | undefined;
      timing: CallTiming | undefined;
    }
  | { type: 'penalized'; id: number; factor: number }
  | { type: 'late-slot' }
  | { type: 'nice-refused'; message: string }
  | { type: 'error'; message: string };

interface Pending {
  /** The thread's reply for this call. */
  settle(reply: FromThread): void;
  /** No reply will come (the caller aborted, the thread died, the transport closed). */
  fail(error: Error): void;
}

const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How long `close()` lets the thread finish (its Redis QUIT may hang while Redis is down) before terminating it. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Starts the sending thread. `close()` fails the calls it still holds as network errors (retried elsewhere, never
 * given up) and stops it; the poller closes it only after its chunk jobs have finished.
 */
export function createPacedTransport(options: PacedTransportOptions): PacedTransport {
  const { onCall, onLateSlot, onNiceRefused, onError, ...settings } = options;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let thread: Worker | undefined = startThread();
  let closing: Promise<void> | undefined;
  let restartDelayMs = FIRST_RESTART_DELAY_MS;
  let restartNotBefore = 0;

  function startThread(): Worker {
    const worker = spawnThread(settings);
    worker.on('message', (message: FromThread) => onMessage(message));
    worker.on('error', (error) => threadLost(worker, `sending thread failed: ${error.message}`));
    worker.on('exit', (code) => threadLost(worker, `sending thread exited (code ${code})`));
    return worker;
  }

  function onMessage(message: FromThread): void {
    switch (message.type) {
      case 'late-slot':
        onLateSlot?.();
        return;
      case 'nice-refused':
        onNiceRefused?.(redactSecrets(message.message));
        return;
      case 'error':
        onError?.(redactSecrets(message.message));
        return;
      case 'answer':
        restartDelayMs = FIRST_RESTART_DELAY_MS;
        onCall?.(message.timing);
        break;
      case 'failure':
        // Also for a call whose caller is gone (aborted): it was sent, so it counts in the call metrics.
        if (message.timing) onCall?.(message.timing);
        break;
    }
    pending.get(message.id)?.settle(message);
  }

  function threadLost(worker: Worker, reason: string): void {
    if (thread !== worker) return;
    thread = undefined;
    if (closing) return;
    const message = redactSecrets(reason);
    onError?.(message);
    restartNotBefore = performance.now() + restartDelayMs;
    restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, restartDelayMs * 2);
    for (const call of pending.values()) call.fail(new TransportError(message, 'network'));
  }

  function post(message: ToThread): void {
    if (!thread) {
      // A thread that dies at start-up would otherwise be restarted by every retried call.
      if (performance.now() < restartNotBefore) {
        throw new TransportError('the sending thread failed; restarting it shortly', 'network');
      }
      thread = startThread();
    }
    thread.postMessage(message);
  }

  /**
   * Hands a message to the thread and waits for its reply; `outcome` turns the reply into the result (or throws).
   * After close() nothing is handed over.
   */
  function request<T>(
    message: (id: number) => ToThread,
    outcome: (reply: FromThread) => T,
  ): { id: number; promise: Promise<T> } {
    const id = nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      pending.set(id, {
        settle: (reply) => {
          pending.delete(id);
          try {
            resolve(outcome(reply));
          } catch (error) {
            reject(error as Error);
          }
        },
        fail: (error) => {
          pending.delete(id);
          reject(error);
        },
      });
    });
    try {
      if (closing) throw new TransportError('transport is closed', 'network');
      post(message(id));
    } catch (error) {
      pending.get(id)?.fail(error as Error);
    }
    return { id, promise };
  }

  return {
    send({ signal, ...call }) {
      // A closed transport says so first, whatever the signal (request() checks).
      if (signal?.aborted && !closing) {
        return Promise.reject(new TransportError('aborted before sending', 'aborted'));
      }
      const { id, promise } = request(
        (id) => ({ type: 'send', id, request: call }),
        (reply) => {
          if (reply.type === 'answer') return reply.response;
          if (reply.type === 'failure') {
            throw new TransportError(redactSecrets(reply.message), reply.reason, reply.code);
          }
          throw unexpected(reply);
        },
      );
      if (signal) {
        const onAbort = (): void => {
          pending.get(id)?.fail(new TransportError('aborted by the caller', 'aborted'));
          thread?.postMessage({ type: 'abort', id } satisfies ToThread);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        void promise.catch(() => undefined).finally(() => signal.removeEventListener('abort', onAbort));
      }
      return promise;
    },

    penalize(pauseMs) {
      return request(
        (id) => ({ type: 'penalize', id, pauseMs }),
        (reply) => {
          if (reply.type === 'penalized') return reply.factor;
          if (reply.type === 'failure') throw new Error(redactSecrets(reply.message));
          throw unexpected(reply);
        },
      ).promise;
    },

    close() {
      closing ??= (async () => {
        const worker = thread;
        if (!worker) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' } satisfies ToThread);
        const grace = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(grace);
        for (const call of pending.values()) call.fail(new TransportError('transport closed', 'network'));
      })();
      return closing;
    },
  };
}

function unexpected(reply: FromThread): Error {
  return new Error(`unexpected reply ${reply.type} from the sending thread`);
}

/**
 * The thread keeps little alive (in-flight bodies and answers, a few MB), so a small young generation is enough and
 * quick to collect, and peak RSS is lower than with V8's default (BENCHMARKS.md). A process-wide
 * `--max-semi-space-size` overrides it (the image's 16 MB, README "Operations", is counted in the RSS figures).
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** The thread runs the compiled module next to this file or, from TypeScript source (tests, tsx), the source. */
function spawnThread(settings: ThreadSettings): Worker {
  return startModuleThread(import.meta.url, 'paced-transport-thread', {
    workerData: settings,
    resourceLimits: THREAD_LIMITS,
  });
}
