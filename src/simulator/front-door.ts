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
  /** Stops the thread: every connection closes, held calls included. */
  close(): Promise<void>;
}

/** The clock of the arrival stamps, the same in every thread of the process: ms since the Unix epoch, sub-ms. */
export function arrivalClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Young generation of the thread's heap: small, so its collections stay short (it holds only open calls). */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };

/**
 * Opens the front door; `onCall` answers each call through its reply. Calls reach `onCall` in arrival order, stamped
 * with `arrivalClock()` in the thread.
 */
export async function openFrontDoor(
  settings: FrontDoorSettings,
  onCall: (call: IncomingCall, reply: Reply) => void,
  onFailure: (message: string) => void,
): Promise<FrontDoor> {
  const thread: Worker = startModuleThread(import.meta.url, 'front-door-thread', {
    workerData: settings,
    resourceLimits: THREAD_LIMITS,
  });
  const post = (message: ToFrontDoor): void => thread.postMessage(message);
  let closing = false;
  let listening = false;
  let failed = false;

  const address = await new Promise<AddressInfo>((resolve, reject) => {
    // Before it listens, a failure fails the start and stops the thread (nothing else would: no FrontDoor exists).
    const fail = (message: string): void => {
      failed = true;
      if (!listening) {
        reject(new Error(message));
        void thread.terminate();
      }
      onFailure(message);
    };
    thread.on('message', (message: FromFrontDoor) => {
      switch (message.type) {
        case 'listening':
          listening = true;
          resolve(message.address);
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
    thread.on('error', (error) => fail(`simulator front door failed: ${error.message}`));
    thread.on('exit', (code) => {
      if (!closing && !failed) fail(`simulator front door exited (code ${code})`);
    });
  });

  return {
    address,
    async close() {
      closing = true;
      await thread.terminate();
    },
  };
}
