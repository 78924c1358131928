/**
 * The simulator's front door in a thread of its own: the thread accepts the connections, reads each call and stamps
 * when it arrived; the main thread decides and answers (server.ts `answerCall`), and the thread writes the answer.
 *
 * Why: the call cap is a sliding window over arrival times. Stamped on the main thread, whose heap holds every
 * simulated user (hundreds of MB at 1,000,000 users), a garbage-collection pause of a few hundred ms stamps all
 * calls that came in during it at its end, bunched with the calls of the next second: the window then counts and
 * rejects calls that were never over the cap when they arrived (BENCHMARKS.md, "Calls over the cap"). Tencent's
 * edge does not pause with the size of its user table. The thread's heap holds only the open calls, so its stamps
 * stay within a millisecond or so of arrival; a main-thread pause delays answers, as a slow server would, but no
 * longer moves calls in the window.
 */
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../ops/module-thread.js';
import type { IncomingCall, Reply } from './server.js';

export interface FrontDoorSettings {
  host: string;
  port: number;
  keepAliveTimeoutMs: number;
}

export type FromFrontDoor =
  | { type: 'listening'; address: AddressInfo }
  | { type: 'failed'; message: string }
  | ({ type: 'call'; id: number; arrivedAtMs: number } & Omit<IncomingCall, 'arrivedAtMs'>);

export type ToFrontDoor =
  | { type: 'send'; id: number; status: number; contentType: string; body: string }
  | { type: 'reset'; id: number };

export interface FrontDoor {
  readonly address: AddressInfo;
  /** The thread taking calls now (a new one after each restart); for diagnostics and tests. */
  readonly thread: Worker;
  /** Threads that died after listening and were replaced, since the door opened. */
  readonly restarts: number;
  /** Stops the thread: every connection closes, held calls included. */
  close(): Promise<void>;
}

/** What happens to the front door after it opened. */
export interface FrontDoorEvents {
  /** Its thread died (`reason`) and a new one listens on the same address again (`restarts` so far). */
  restarted(reason: string, restarts: number): void;
  /**
   * Its thread died and could not be replaced (the address is taken meanwhile, or threads keep dying): no call is
   * answered any more. Called once; the door is closed by then.
   */
  failed(message: string): void;
}

/** The arrival clock of the stamps, the same in every thread of the process: ms since the Unix epoch, sub-ms. */
export function arrivalClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Young generation of the thread's heap: small, so its collections stay short (it holds only open calls). */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** More restarts than this within a minute: the thread keeps dying, and restarting it again would only hide that. */
export const MAX_FRONT_DOOR_RESTARTS_PER_MINUTE = 5;

/** A started thread: it listens, or it failed to (the thread is stopped then). */
interface Started {
  thread: Worker;
  listening: Promise<AddressInfo>;
  /** Settles when the thread ends on its own after it listened: with why. */
  died: Promise<string>;
}

/**
 * Starts one front-door thread. Its replies go to this thread only: a call it took is never answered by a thread
 * started later (a restarted thread numbers its calls from 1 again), and a reply to a dead thread is dropped.
 */
function startThread(
  settings: FrontDoorSettings,
  onCall: (call: IncomingCall, reply: Reply) => void,
): Started {
  const thread: Worker = startModuleThread(import.meta.url, 'front-door-thread', {
    workerData: settings,
    resourceLimits: THREAD_LIMITS,
  });
  const post = (message: ToFrontDoor): void => thread.postMessage(message);
  let listening = false;
  let stopping = false;
  let reason: string | undefined;
  let onListening: (address: AddressInfo) => void = () => undefined;
  let onStartFailed: (error: Error) => void = () => undefined;
  let onDied: (why: string) => void = () => undefined;
  const started = new Promise<AddressInfo>((resolve, reject) => {
    onListening = resolve;
    onStartFailed = reject;
  });
  const died = new Promise<string>((resolve) => (onDied = resolve));
  // Before it listens, a failure fails the start and stops the thread (nothing else would: no FrontDoor exists);
  // after, it stops the thread, whose exit reports it.
  const fail = (message: string): void => {
    reason ??= message;
    if (!listening) onStartFailed(new Error(message));
    if (!stopping) {
      stopping = true;
      void thread.terminate();
    }
  };
  thread.on('message', (message: FromFrontDoor) => {
    switch (message.type) {
      case 'listening':
        listening = true;
        onListening(message.address);
        return;
      case 'failed':
        fail(message.message);
        return;
      case 'call': {
        const { id, ...call } = message;
        onCall(call, {
          send: (status, contentType, body) => post({ type: 'send', id, status, contentType, body }),
          reset: () => post({ type: 'reset', id }),
          // The thread keeps an unanswered call open until it stops.
          hold: () => undefined,
        });
        return;
      }
    }
  });
  thread.on('error', (error) => fail(`the front-door thread failed: ${error.message}`));
  thread.on('exit', (code) => {
    const why = reason ?? `the front-door thread exited (code ${code})`;
    if (!listening) onStartFailed(new Error(why));
    else onDied(why);
  });
  return { thread, listening: started, died };
}

/**
 * Opens the front door; `onCall` answers each call through its reply. Calls reach `onCall` in arrival order, stamped
 * with `arrivalClock()` in the thread. A thread that dies after it listened (an uncaught error, the thread's memory
 * limit, a terminate from outside) is replaced at once by a new one on the same host and port, reported through
 * `events.restarted`; calls open on the dead thread are lost with it (their clients see the connection close). When
 * no new thread can listen, or threads died more than MAX_FRONT_DOOR_RESTARTS_PER_MINUTE times in a minute,
 * `events.failed` says so and the door stays closed.
 */
export async function openFrontDoor(
  settings: FrontDoorSettings,
  onCall: (call: IncomingCall, reply: Reply) => void,
  events: FrontDoorEvents,
  maxRestartsPerMinute = MAX_FRONT_DOOR_RESTARTS_PER_MINUTE,
): Promise<FrontDoor> {
  let current = startThread(settings, onCall);
  const address = await current.listening;
  // A restarted thread listens where the first one does (port 0 became a port).
  const again: FrontDoorSettings = { ...settings, port: address.port };
  let closing = false;
  let starting: Started | undefined;
  let restarts = 0;
  const diedAt: number[] = [];

  const watch = (started: Started): void => {
    void started.died.then(async (why) => {
      if (closing) return;
      const now = Date.now();
      diedAt.push(now);
      while (diedAt[0]! < now - 60_000) diedAt.shift();
      if (diedAt.length > maxRestartsPerMinute) {
        closing = true;
        events.failed(`${why}; it died ${diedAt.length} times within a minute, so it is not started again`);
        return;
      }
      const next = (starting = startThread(again, onCall));
      try {
        await next.listening;
      } catch (error) {
        if (closing) return;
        closing = true;
        events.failed(`${why}, and a new thread could not listen again: ${(error as Error).message}`);
        return;
      } finally {
        starting = undefined;
      }
      if (closing) {
        await next.thread.terminate();
        return;
      }
      current = next;
      restarts += 1;
      events.restarted(why, restarts);
      watch(next);
    });
  };
  watch(current);

  return {
    address,
    get thread() {
      return current.thread;
    },
    get restarts() {
      return restarts;
    },
    async close() {
      closing = true;
      await Promise.all([current.thread.terminate(), starting?.thread.terminate()]);
    },
  };
}
