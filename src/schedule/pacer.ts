import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineScripts, loadLua } from '../state/lua-script.js';

/**
 * The global pacer: every call to Tencent, from any process, first takes a send slot from Redis.
 *
 * Why slots rather than BullMQ's limiter: the limiter is a fixed window that lets up to 2x the cap through across a
 * window edge, while Tencent counts calls in a sliding second. Evenly spaced slots keep any one-second window under
 * the cap as long as calls start close to their slot; a call that would start later than `maxLatenessMs` after its
 * slot takes a fresh slot instead, which bounds the bunching that late starts could cause.
 *
 * With spacing s = 1000 / (cap x (1 - safetyMargin)) ms and lateness L, a one-second window holds at most
 * ceil((1000 + L) / s) starts: 200 for cap 200, margin 0.02, L 20 ms. The margin is spent on lateness at the
 * sender; jitter after the start (network, the server's own event loop) is not covered by it, and a rate-limit
 * answer then slows the pacer down (penalize).
 *
 * Priorities: within a process, callers wait in a local queue by priority and only `lanes` of them hold a Redis
 * reservation at a time. Reservations are therefore never more than a few slots ahead, and a chunk of a small,
 * urgent watchlist overtakes the queued chunks of a big one instead of waiting behind their reservations.
 */
export interface PacerOptions {
  /** The app's call cap, calls per second (Tencent default 200). */
  callsPerSecond: number;
  /** Share of the cap left unused as a guard against clock and network jitter. Default 0.02. */
  safetyMargin?: number;
  /** A slot started later than this is given back and a new one taken. Default 20 ms. */
  maxLatenessMs?: number;
  /** Speed recovery after a penalty, in factor units per second. Default 0.05 (0.8 -> 1.0 in 4 s). */
  recoveryPerSecond?: number;
  /**
   * Reservations held at once by this process. Default: 80 ms worth of the cap (16 at 200 calls/s, at least 2):
   * deep enough to ride out event-loop stalls and Redis round trips, shallow enough that priorities still decide.
   */
  lanes?: number;
  /** Told each time a slot is given back for lateness (a metric). */
  onLateSlot?: () => void;
}

export interface AcquireOptions {
  /** 1 is served first (BullMQ's convention). Default 5. */
  priority?: number;
  signal?: AbortSignal;
}

export interface Pacer {
  /** Resolves when the caller may start one call. Rejects with the signal's reason when aborted. */
  acquire(options?: AcquireOptions): Promise<void>;
  /** Called after a rate-limit answer: pause everyone for `pauseMs` and slow down. Returns the new speed factor. */
  penalize(pauseMs: number): Promise<number>;
}

const SCRIPTS = {
  presenceReserveCall: { lua: loadLua(new URL('./lua/reserve-call.lua', import.meta.url)), numberOfKeys: 1 },
  presencePenalizeCalls: {
    lua: loadLua(new URL('./lua/penalize-calls.lua', import.meta.url)),
    numberOfKeys: 1,
  },
};

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
}

const PRIORITIES = 10;

export function createPacer(redis: Redis, pacerKey: string, options: PacerOptions): Pacer {
  const {
    callsPerSecond,
    safetyMargin = 0.02,
    maxLatenessMs = 20,
    recoveryPerSecond = 0.05,
    lanes = Math.max(2, Math.ceil(options.callsPerSecond * 0.08)),
  } = options;
  if (!(callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${callsPerSecond}`);
  const scripts = defineScripts(redis, SCRIPTS);
  const spacingUs = 1_000_000 / (callsPerSecond * (1 - safetyMargin));
  const queues: Waiter[][] = Array.from({ length: PRIORITIES }, () => []);
  let activeLanes = 0;

  function nextWaiter(): Waiter | undefined {
    for (const queue of queues) {
      while (queue.length > 0) {
        const waiter = queue.shift()!;
        if (!waiter.signal?.aborted) return waiter;
      }
    }
    return undefined;
  }

  /** Takes a slot from Redis and waits for it; retakes one when the wait overran by more than maxLatenessMs. */
  async function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const askedAt = performance.now();
      const [waitUs] = (await scripts.presenceReserveCall(pacerKey, spacingUs, recoveryPerSecond)) as [
        string,
        string,
      ];
      const answeredAt = performance.now();
      const waitMs = Number(waitUs) / 1000;
      // Redis ran the script somewhere between askedAt and answeredAt. Waiting from answeredAt never starts early;
      // measuring lateness from askedAt also counts a reply that sat unread behind a busy event loop.
      const wakeAt = answeredAt + waitMs;
      if (waitMs > 0) await sleep(Math.ceil(waitMs));
      while (performance.now() < wakeAt) await sleep(1);
      if (performance.now() - (askedAt + waitMs) <= maxLatenessMs) return;
      options.onLateSlot?.();
    }
  }

  function pump(): void {
    while (activeLanes < lanes) {
      const waiter = nextWaiter();
      if (!waiter) return;
      activeLanes++;
      takeSlot(waiter.signal)
        .then(
          () => waiter.resolve(),
          (error: unknown) => waiter.reject(waiter.signal?.aborted ? waiter.signal.reason : error),
        )
        .finally(() => {
          activeLanes--;
          pump();
        });
    }
  }

  return {
    acquire({ priority = 5, signal } = {}) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const waiter: Waiter = { resolve, reject, signal };
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        const level = Math.min(PRIORITIES, Math.max(1, Math.round(priority))) - 1;
        queues[level]!.push(waiter);
        pump();
      });
    },
    async penalize(pauseMs) {
      return Number(await scripts.presencePenalizeCalls(pacerKey, Math.round(pauseMs * 1000), 0.9, 0.5));
    },
  };
}
