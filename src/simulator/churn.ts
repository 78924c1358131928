/**
 * A seeded process that changes `changesPerSecond` imported users per second: each change moves one random device of
 * one random user to another status its platform allows. Every change lands in the ground-truth log (cause `churn`).
 */
import type { PresenceState } from '../tencent/types.js';
import { allowedStatuses } from './population.js';
import type { Rng } from './prng.js';
import type { World } from './world.js';

export interface Churn {
  /** Changes per second; 0 pauses. */
  setRate(changesPerSecond: number): void;
  readonly rate: number;
  /** Applies `count` changes now (also used by the timer). */
  step(count: number): void;
  start(): void;
  stop(): void;
  readonly changes: number;
}

/** Timer period of the churn process, in ms. */
export const CHURN_TICK_MS = 50;

/**
 * @param monotonicNow clock for pacing, ms; default `performance.now`
 */
export function createChurn(
  world: World,
  rng: Rng,
  changesPerSecond: number,
  monotonicNow: () => number = () => performance.now(),
): Churn {
  let rate = checkRate(changesPerSecond);
  let timer: NodeJS.Timeout | undefined;
  let lastTickMs = 0;
  let owed = 0;
  let changes = 0;

  function step(count: number): void {
    const ids = world.population.importedIds;
    if (ids.length === 0) return;
    for (let i = 0; i < count; i++) {
      const user = world.get(rng.pick(ids));
      if (!user || user.devices.length === 0) continue;
      const index = rng.int(0, user.devices.length - 1);
      const device = user.devices[index];
      if (!device) continue;
      const choices = allowedStatuses(device.platform).filter((s) => s !== device.status);
      const status: PresenceState = rng.pick(choices);
      const devices = user.devices.map((d, j) =>
        j === index ? { ...d, status, isBackground: status === 'Offline' ? false : rng.next() < 0.3 } : d,
      );
      world.setDevices(user.id, devices, 'churn');
      changes++;
    }
  }

  function tick(): void {
    const nowMs = monotonicNow();
    owed += (rate * (nowMs - lastTickMs)) / 1000;
    lastTickMs = nowMs;
    const due = Math.floor(owed);
    owed -= due;
    step(due);
  }

  return {
    setRate(next) {
      rate = checkRate(next);
    },
    get rate() {
      return rate;
    },
    step,
    start() {
      if (timer) return;
      lastTickMs = monotonicNow();
      owed = 0;
      timer = setInterval(tick, CHURN_TICK_MS);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    get changes() {
      return changes;
    },
  };
}

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError('churn rate must be a non-negative number');
  return rate;
}
