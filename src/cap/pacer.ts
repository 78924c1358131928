import type { RedisClient } from '../redis/client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import { createRedisClock } from './redis-clock.js';

/**
 * The global pacer: every call to Tencent, from any process, first takes a send slot from Redis.
 *
 * Why slots rather than BullMQ's limiter: the limiter is a fixed window that lets up to 2x the cap through across a
 * window edge, while Tencent counts calls in a sliding second. Slots are spaced evenly at
 * s = 1000 / (cap x (1 - callMargin)) ms, so `cap` consecutive slots span 1000 / (1 - callMargin) ms: 1020 ms
 * for the default margin of 0.02.
 *
 * Calls do not start exactly on their slot (timers, a busy event loop, garbage collection). Each caller reports
 * when it actually started, and Redis keeps the starts of the last `cap` reservations: a new slot is never earlier
 * than the start of the call `cap` reservations back plus 1020 ms - `startSlackMs` (see lua/reserve-call.lua). So
 * the starts themselves, not only the slots, hold at most `cap` calls in any 1015 ms (defaults), and 15 of the
 * margin's 20 ms are kept for what happens after the start: the network and the server's own stamping of arrivals.
 * The slack lets the usual few milliseconds of timer lateness go free; a start later than that costs the excess
 * once, by pushing later slots back, and a slot that would start more than `maxLatenessMs` late is given back
 * instead (one slot lost is cheaper than more lateness). Lateness is measured against the slot mapped onto the
 * local clock (redis-clock.ts), so a reservation whose reply was slow is not charged for it. A rate-limit answer
 * still pauses everyone and slows the pace (penalize).
 *
 * Priorities: within a process, callers wait in a local queue by priority, and at most `lanes` Redis reservations
 * (never more than callers waiting) are held at a time, so reservations are never more than a few slots ahead. A
 * reservation belongs to no caller: when its slot comes, it goes to the first caller in the queue at that moment.
 * So a chunk of a small, urgent watchlist or a hint call (priority 1) takes the very next slot, instead of waiting
 * behind the `lanes` reservations already taken for the sweep chunks queued before it (~80 ms at 200 calls/s).
 */
export interface PacerOptions {
  /** The app's call cap, calls per second (Tencent default 200). */
  callsPerSecond: number;
  /** Share of the cap left unused as a guard against jitter (the app's `callMargin` setting). Default 0.02. */
  callMargin?: number;
  /**
   * A slot that would start later than this is given back and a new one taken. Default 10 ms: two spacings at
   * 200 calls/s, about where the slot given back costs less than the lateness it would push onto later slots.
   */
  maxLatenessMs?: number;
  /** Speed recovery after a penalty, in factor units per second. Default 0.05 (0.8 -> 1.0 in 4 s). */
  recoveryPerSecond?: number;
  /**
   * Reservations held at once by this process. Default: 80 ms worth of the cap (16 at 200 calls/s, at least 2):
   * deep enough to ride out event-loop stalls and Redis round trips, shallow enough that priorities still decide.
   */
  lanes?: number;
  /**
   * Lateness a start may have without pushing later slots back. Default 5 ms, at most the margin's span
   * (1000 / (1 - callMargin) - 1000 ms); the rest of that span is left for jitter after the start.
   */
  startSlackMs?: number;
  /** Told each time a slot is given back for lateness (a metric). */
  onLateSlot?: () => void;
}

export interface AcquireOptions {
  /** 1 is served first (BullMQ's convention). Default 5. */
  priority?: number;
  signal?: AbortSignal;
}

export interface Pacer {
  /**
   * Resolves when the caller may start one call, with how late that is after its slot (ms; a histogram of it shows
   * the lateness the margin does not have to cover). Rejects with the signal's reason when aborted.
   */
  acquire(options?: AcquireOptions): Promise<number>;
  /** Called after a rate-limit answer: pause everyone for `pauseMs` and slow down. Returns the new speed factor. */
  penalize(pauseMs: number): Promise<number>;
}

const SCRIPTS = {
  presenceReserveCall: { source: 'cap/reserve-call', numberOfKeys: 1 },
  presenceReportStart: { source: 'cap/report-start', numberOfKeys: 1 },
  presencePenalizeCalls: { source: 'cap/penalize-calls', numberOfKeys: 1 },
} satisfies Record<string, ScriptSpec>;

interface Waiter {
  resolve(latenessMs: number): void;
  reject(reason: unknown): void;
}

const PRIORITIES = 10;
/** The longest a start report waits for the next reservation to ride on (see reportStart). */
const REPORT_FLUSH_MS = 50;

export function createPacer(redis: RedisClient, pacerKey: string, options: PacerOptions): Pacer {
  const {
    callsPerSecond,
    callMargin = 0.02,
    maxLatenessMs = 10,
    startSlackMs = 5,
    recoveryPerSecond = 0.05,
    lanes = Math.max(2, Math.ceil(options.callsPerSecond * 0.08)),
  } = options;
  if (!(callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${callsPerSecond}`);
  const scripts = defineScripts(redis, SCRIPTS);
  const spacingUs = 1_000_000 / (callsPerSecond * (1 - callMargin));
  // Tencent counts whole calls per second; a fractional cap rounds down (never over it).
  const windowCalls = Math.max(1, Math.floor(callsPerSecond));
  // `windowCalls` slots span 1020 ms at full speed; the start slack comes out of the margin, never below 1 s.
  const windowUs = Math.max(1_000_000, windowCalls * spacingUs - Math.max(0, startSlackMs) * 1000);
  const provisionalLatenessUs = maxLatenessMs * 1000;
  const queues: Waiter[][] = Array.from({ length: PRIORITIES }, () => []);
  let activeLanes = 0;
  const clock = createRedisClock();
  /** Starts not reported yet, flat pairs: seq, start (µs on the Redis clock). */
  const unreportedStarts: number[] = [];
  let flushTimer: NodeJS.Timeout | undefined;

  /** Callers queued and not yet served (ten short arrays: counted when needed rather than kept in step). */
  const waiting = (): number => queues.reduce((count, queue) => count + queue.length, 0);

  function nextWaiter(): Waiter | undefined {
    for (const queue of queues) {
      const waiter = queue.shift();
      if (waiter) return waiter;
    }
    return undefined;
  }

  /** Takes a slot from Redis and waits for it; retakes one when the wait overran by more than maxLatenessMs. */
  async function takeSlot(): Promise<number> {
    for (;;) {
      const askedAt = performance.now();
      const [waitUs, slotUs, seq] = (await scripts.presenceReserveCall(
        pacerKey,
        spacingUs,
        recoveryPerSecond,
        windowCalls,
        windowUs,
        provisionalLatenessUs,
        // Starts not reported yet ride on this reservation (lost with it if it fails: see reportStart).
        ...unreportedStarts.splice(0),
      )) as [string, string, number];
      const answeredAt = performance.now();
      const slotMs = Number(slotUs) / 1000;
      clock.observe(askedAt, answeredAt, slotMs - Number(waitUs) / 1000);
      // The slot on the local clock, to within half the best recent round trip to Redis: measuring lateness from
      // when the reservation was asked would charge a slow reply (a busy Redis) as lateness and waste slots.
      const slotAt = clock.toLocal(slotMs);
      if (slotAt - performance.now() >= 1) await sleep(Math.floor(slotAt - performance.now()));
      while (performance.now() < slotAt) await sleep(1);
      const latenessMs = performance.now() - slotAt;
      if (latenessMs <= maxLatenessMs) {
        reportStart(seq, Number(slotUs) + Math.ceil(latenessMs * 1000));
        return latenessMs;
      }
      options.onLateSlot?.();
    }
  }

  /**
   * Not awaited: the caller starts now. The report rides on the process's next reservation (at the cap a few ms
   * later), or goes on its own after REPORT_FLUSH_MS without one. Only the reservation `windowCalls` later (about a
   * second) reads it; a report that fails or arrives late leaves the provisional start (slot + maxLatenessMs) in
   * place, which only ever spaces later slots further apart.
   */
  function reportStart(seq: number, startUs: number): void {
    unreportedStarts.push(seq, startUs);
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      if (unreportedStarts.length === 0) return;
      scripts
        .presenceReportStart(pacerKey, windowCalls, ...unreportedStarts.splice(0))
        .catch(() => undefined);
    }, REPORT_FLUSH_MS);
    flushTimer.unref();
  }

  /**
   * Starts reservations while callers wait for more than are held. A slot whose callers all gave up meanwhile is
   * left unused: it only spaces the next ones out.
   */
  function pump(): void {
    while (activeLanes < lanes && activeLanes < waiting()) {
      activeLanes++;
      takeSlot()
        .then(
          (latenessMs) => nextWaiter()?.resolve(latenessMs),
          (error: unknown) => nextWaiter()?.reject(error),
        )
        .finally(() => {
          activeLanes--;
          pump();
        });
    }
  }

  return {
    acquire({ priority = 5, signal } = {}) {
      return new Promise<number>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const queue = queues[Math.min(PRIORITIES, Math.max(1, Math.round(priority))) - 1]!;
        const waiter: Waiter = { resolve, reject };
        signal?.addEventListener(
          'abort',
          () => {
            const index = queue.indexOf(waiter);
            if (index >= 0) queue.splice(index, 1);
            reject(signal.reason);
          },
          { once: true },
        );
        queue.push(waiter);
        pump();
      });
    },
    async penalize(pauseMs) {
      return Number(await scripts.presencePenalizeCalls(pacerKey, Math.round(pauseMs * 1000), 0.9, 0.5));
    },
  };
}
