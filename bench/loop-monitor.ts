/**
 * Event-loop delay and GC pauses of the current process, since the last reset. Both children report it: in the
 * worker a late timer forfeits its pacer slot; in the simulator a stalled loop stamps call arrivals late, in a burst,
 * which its one-second window can count as calls over the cap.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface PauseStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface LoopReport {
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** GC pauses by kind (major, minor, incremental, weakcb). */
  gcPauses: Record<string, PauseStats>;
}

export interface LoopMonitor {
  reset(): void;
  report(): LoopReport;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export function startLoopMonitor(): LoopMonitor {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let gcPauses: Record<string, PauseStats> = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as unknown as { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
      const stats = (gcPauses[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      stats.count++;
      stats.totalMs += entry.duration;
      stats.maxMs = Math.max(stats.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    reset() {
      loopDelay.reset();
      gcPauses = {};
    },
    report: () => ({
      eventLoopDelayMs: {
        p50: loopDelay.percentile(50) / 1e6,
        p99: loopDelay.percentile(99) / 1e6,
        max: loopDelay.max / 1e6,
      },
      gcPauses,
    }),
  };
}
