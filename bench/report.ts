/** Turns the measured runs into the summary table, the pass/fail verdicts and the JSON written to .bench/. */
import type { BaselineResult } from './baseline.js';
import type { BurstResult, CapResult, StateCost, SweepResult } from './scenarios.js';

export interface RunResult {
  cap?: CapResult;
  sweep?: SweepResult;
  scaleWorkers?: CapResult;
  scaleApps?: CapResult;
  baseline?: BaselineResult;
  /** One result per `kafka.fencing` setting measured. */
  burst?: BurstResult[];
}

export interface Row {
  figure: string;
  value: number | undefined;
  unit: string;
  /** The bar, as text; empty for context figures. */
  bar: string;
  pass?: boolean;
  note?: string;
}

export function median(values: readonly (number | undefined)[]): number | undefined {
  const list = values
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (list.length === 0) return undefined;
  const mid = Math.floor(list.length / 2);
  return list.length % 2 ? list[mid] : ((list[mid - 1] as number) + (list[mid] as number)) / 2;
}

const max = (values: readonly (number | undefined)[]) =>
  values.some((v) => typeof v === 'number')
    ? Math.max(...values.filter((v): v is number => typeof v === 'number'))
    : undefined;

/** Targets per 100,000 user states on the 2-core bench machine (issue 18): worker and Redis CPU seconds. */
const COST_LIMITS = { worker: 0.3, redis: 0.15 };

/** Worker and Redis CPU per 100,000 states over one scenario's windows, each against its limit (medians). */
function costRows(window: string, costs: Array<StateCost | undefined>, note: string): Row[] {
  const loads = costs.map((c) => c?.loadAverage[0]);
  const loadNote = `load average (1 min) at the end of each window: ${loads.map((l) => fmt(l, 1, 2)).join(', ')}`;
  return (['worker', 'redis'] as const).map((side) => {
    const value = median(
      costs.map((c) =>
        side === 'worker' ? c?.workerCpuSecondsPer100kStates : c?.redisCpuSecondsPer100kStates,
      ),
    );
    const limit = COST_LIMITS[side];
    return {
      figure: `${side} CPU per 100,000 user states (${window})`,
      value,
      unit: 'CPU s',
      bar: `<= ${limit}`,
      pass: value !== undefined && value <= limit,
      note: `${value === undefined ? '' : `${(value / limit).toFixed(2)} x the limit; `}${loadNote}${note ? `; ${note}` : ''}`,
    };
  });
}

/** Medians over repeats (sums for violation counts: one violation in any run is a failure). */
export function buildRows(runs: RunResult[]): Row[] {
  const rows: Row[] = [];
  const pick = <T>(get: (r: RunResult) => T | undefined) => runs.map(get);
  // Every window that ran, whichever scenarios were chosen; a window without simulator figures counts as none.
  const rejectedIn = (get: (r: RunResult) => number | undefined) =>
    pick(get).reduce<number>((sum, v) => sum + (Number.isFinite(v) ? v! : 0), 0);
  const rejectedByWindow = {
    cap: rejectedIn((r) => r.cap?.rejectedOverCap),
    sweep: rejectedIn((r) => r.sweep?.rejectedOverCap),
    '2 workers': rejectedIn((r) => r.scaleWorkers?.rejectedOverCap),
    '2 apps': rejectedIn((r) => r.scaleApps?.rejectedOverCap),
  };
  const rejectedAll = Object.values(rejectedByWindow).reduce((a, b) => a + b, 0);
  rows.push({
    figure: 'calls rejected over the cap (all windows, all runs)',
    value: rejectedAll,
    unit: 'calls',
    bar: '0',
    pass: rejectedAll === 0,
    note: `${Object.entries(rejectedByWindow)
      .map(([window, n]) => `${window} ${n}`)
      .join(', ')}; simulator event-loop delay in the cap window p99 ${fmt(
      median(pick((r) => r.cap?.simulatorLoop.eventLoopDelayMs.p99)),
    )} ms, max ${fmt(median(pick((r) => r.cap?.simulatorLoop.eventLoopDelayMs.max)))} ms (late arrival stamps)`,
  });
  const cap = runs.filter((r) => r.cap);
  if (cap.length) {
    const utilization = median(pick((r) => r.cap?.utilization));
    const rejected = rejectedByWindow.cap;
    rows.push({
      figure: 'cap utilization, 1 worker (admitted calls/s / cap)',
      value: utilization,
      unit: '',
      bar: '>= 0.97, 0 over cap',
      pass: utilization !== undefined && utilization >= 0.97 && rejected === 0,
      note: `calls started within 1 / 5 / 10 ms of their slot: ${['0.001', '0.005', '0.01']
        .map((le) => fmt(median(pick((r) => r.cap?.startLateness[le])), 0.01))
        .join(' / ')} %; slots given back for lateness: ${fmt(
        median(pick((r) => r.cap?.workerCounters.pacerLateSlots)),
      )}`,
    });
    rows.push({
      figure: 'max calls in any 1 s window',
      value: max(pick((r) => r.cap?.maxCallsInAnyWindow)),
      unit: 'calls',
      bar: '<= 200',
      pass: (max(pick((r) => r.cap?.maxCallsInAnyWindow)) ?? 0) <= 200,
    });
    rows.push({
      figure: 'most calls started in any 1 s (all processes)',
      value: max(pick((r) => r.cap?.maxStartsInAnySecond)),
      unit: 'calls',
      bar: '<= 200',
      pass: (max(pick((r) => r.cap?.maxStartsInAnySecond)) ?? Infinity) <= 200,
      note: 'the cap invariant (ARCHITECTURE.md) at the sender: the starts each worker reported to the pacer, on the Redis clock',
    });
    rows.push({
      figure: 'user states/s, 1 app',
      value: median(pick((r) => r.cap?.statesPerSecond)),
      unit: 'states/s',
      bar: '',
      note: `cores used during the window: ${coreShares(cap[0]!.cap!.cpu.coresUsed)}; worker event-loop delay p99 ${fmt(
        median(pick((r) => r.cap?.eventLoopDelayMs[0]?.p99)),
      )} ms, max ${fmt(median(pick((r) => r.cap?.eventLoopDelayMs[0]?.max)))} ms`,
    });
    rows.push(
      ...costRows(
        'cap window',
        pick((r) => r.cap?.cost),
        '',
      ),
    );
  }
  const sweep = runs.filter((r) => r.sweep);
  if (sweep.length) {
    const first = sweep[0]!.sweep!;
    const limitMs = first.idealSweepMs * 1.06;
    const steady = median(pick((r) => r.sweep?.steadySweepMs));
    const users = first.users.toLocaleString('en-US');
    rows.push({
      figure: `sweep of ${users} users (${first.chunks} chunks), median after the first`,
      value: steady === undefined ? undefined : steady / 1000,
      unit: 's',
      bar: `<= ${(limitMs / 1000).toFixed(1)} (ideal ${(first.idealSweepMs / 1000).toFixed(1)})`,
      pass: steady !== undefined && steady <= limitMs,
      note: `first sweep ${fmt(median(pick((r) => r.sweep?.firstSweepMs)), 1000)} s; all: ${sweep
        .map((r) => r.sweep!.sweepDurationsMs.map((d) => (d / 1000).toFixed(2)).join(', '))
        .join(' | ')}; in the steady window: ${sweep
        .map(
          (r) =>
            `${r.sweep!.workerCounters.rateLimitPenalties} rate-limit pauses, ${r.sweep!.workerCounters.pacerLateSlots} late slots, simulator loop delay max ${fmt(r.sweep!.simulatorLoop.eventLoopDelayMs.max)} ms`,
        )
        .join(' | ')}`,
    });
    const p99 = median(pick((r) => r.sweep?.latency.ackP99Ms));
    rows.push({
      figure: 'transition latency API answer -> Kafka ack, p50',
      value: median(pick((r) => r.sweep?.latency.ackP50Ms)),
      unit: 'ms',
      bar: '',
    });
    rows.push({
      figure: 'transition latency API answer -> Kafka ack, p99',
      value: p99,
      unit: 'ms',
      bar: '<= 250',
      pass: p99 !== undefined && p99 <= 250,
      note: `${median(pick((r) => r.sweep?.latency.count))} transitions; bench consumer receive p99 ${fmt(median(pick((r) => r.sweep?.latency.consumeP99Ms)))} ms`,
    });
    const bytes = median(pick((r) => r.sweep?.redis.bytesPerUser));
    rows.push({
      figure: 'Redis bytes per tracked user (used_memory delta)',
      value: bytes,
      unit: 'B',
      bar: '<= 100',
      pass: bytes !== undefined && bytes <= 100,
      note: `state buckets ~${fmt(median(pick((r) => r.sweep && r.sweep.redis.stateBucketsBytesEstimate / r.sweep.users)))} B/user, member chunks ${fmt(
        median(pick((r) => r.sweep && r.sweep.redis.chunkListBytes / r.sweep.users)),
      )} B/user, rest ${fmt(median(pick((r) => r.sweep && r.sweep.redis.otherBytes / r.sweep.users)))} B/user`,
    });
    const rss = median(pick((r) => r.sweep?.workerPeakRssBytes));
    rows.push({
      figure: `worker peak RSS at ${users} users`,
      value: rss === undefined ? undefined : rss / 1_048_576,
      unit: 'MiB',
      bar: first.users >= 1_000_000 ? '<= 300' : '(bar applies at 1M)',
      pass: first.users >= 1_000_000 ? rss !== undefined && rss <= 300 * 1_048_576 : undefined,
    });
    rows.push(
      ...costRows(
        'steady sweeps',
        pick((r) => r.sweep?.cost),
        `cores used in the sweep window: ${coreShares(sweep[0]!.sweep!.cpu.coresUsed)}`,
      ),
    );
    rows.push({
      figure: 'worker start incl. sync of all members into Redis',
      value: median(pick((r) => r.sweep?.workerStartMs)),
      unit: 'ms',
      bar: '',
    });
  }
  const scaleWorkers = runs.filter((r) => r.scaleWorkers);
  if (scaleWorkers.length) {
    const u = median(pick((r) => r.scaleWorkers?.utilization));
    const rejected = rejectedByWindow['2 workers'];
    rows.push({
      figure: 'scale-out: 2 worker processes, 1 app: utilization',
      value: u,
      unit: '',
      bar: '>= 0.97, 0 over cap',
      pass: u !== undefined && u >= 0.97 && rejected === 0,
      note: `${rejected} over cap, max ${max(pick((r) => r.scaleWorkers?.maxCallsInAnyWindow))} in any 1 s at the simulator, ${max(
        pick((r) => r.scaleWorkers?.maxStartsInAnySecond),
      )} started in any 1 s`,
    });
  }
  const scaleApps = runs.filter((r) => r.scaleApps);
  if (scaleApps.length) {
    const ratio = median(
      pick((r) => (r.scaleApps && r.cap ? r.scaleApps.statesPerSecond / r.cap.statesPerSecond : undefined)),
    );
    const rejected = rejectedByWindow['2 apps'];
    rows.push({
      figure: 'scale-out: 2 apps, 1 worker: throughput vs 1 app',
      value: ratio,
      unit: 'x',
      bar: '~2 (>= 1.9), 0 over cap',
      pass: ratio !== undefined && ratio >= 1.9 && rejected === 0,
      note: `lowest app utilization ${fmt(median(pick((r) => r.scaleApps?.utilization)), 1, 3)}; ${fmt(
        median(pick((r) => r.scaleApps?.statesPerSecond)),
        1,
        0,
      )} states/s; ${rejected} over cap`,
    });
  }
  const baseline = runs.filter((r) => r.baseline);
  if (baseline.length) {
    const naive = median(pick((r) => r.baseline?.statesPerSecond));
    rows.push({
      figure: 'naive baseline (sequential calls, per-user GET/SET)',
      value: naive,
      unit: 'states/s',
      bar: '',
    });
    const product = median(pick((r) => r.cap?.statesPerSecond));
    if (product !== undefined && naive)
      rows.push({ figure: 'product / naive', value: product / naive, unit: 'x', bar: '' });
  }
  for (const fencing of [false, true]) {
    const of = (r: RunResult) => r.burst?.find((b) => b.fencing === fencing);
    if (!runs.some(of)) continue;
    const low = runs.some((r) => of(r)?.snapshotPriority === 'low');
    const label = `burst, fencing ${fencing ? 'on' : 'off'}${low ? ', snapshots low priority' : ''}`;
    const ratio = median(pick((r) => of(r)?.relayToRaw));
    rows.push({
      figure: `${label}: relay events/s ÷ raw kafkajs events/s under the same load`,
      value: ratio,
      unit: 'x',
      bar: '>= 0.8',
      pass: ratio !== undefined && ratio >= 0.8,
      note: `relay ${fmt(median(pick((r) => of(r)?.firstSweep.eventsPerSecond)), 1, 0)}/s, raw ${fmt(
        median(pick((r) => of(r)?.rawUnderLoad.eventsPerSecond)),
        1,
        0,
      )}/s`,
    });
    rows.push({
      figure: `${label}: the same, the relay's drain after the first sweep ended`,
      value: median(pick((r) => of(r)?.relayToRawAfterFirstSweep)),
      unit: 'x',
      bar: '',
      note: `relay ${fmt(median(pick((r) => of(r)?.afterFirstSweep?.eventsPerSecond)), 1, 0)}/s over ${fmt(
        median(pick((r) => of(r)?.afterFirstSweep?.seconds)),
        1,
        0,
      )} s, both windows under steady sweeps`,
    });
    rows.push({
      figure: `${label}: relay events/s ÷ raw kafkajs events/s, machine idle`,
      value: median(pick((r) => of(r)?.relayToIdleRaw)),
      unit: 'x',
      bar: '',
      note: `raw ${fmt(median(pick((r) => of(r)?.rawIdle.eventsPerSecond)), 1, 0)}/s after the deployment stopped`,
    });
    rows.push({
      figure: `${label}: first-sweep snapshots drained in`,
      value: median(pick((r) => of(r)?.firstSweep.drainSeconds)),
      unit: 's',
      bar: '',
      note: `${fmt(median(pick((r) => of(r)?.users)), 1, 0)} users, peak backlog ${fmt(
        median(pick((r) => of(r)?.firstSweep.peakBacklog)),
        1,
        0,
      )}`,
    });
    rows.push({
      figure: `${label}: transition p99 (ack) during the first-sweep burst`,
      value: median(pick((r) => of(r)?.firstSweep.transitions.ackP99Ms)),
      unit: 'ms',
      bar: '',
      note: `${fmt(median(pick((r) => of(r)?.firstSweep.transitions.count)), 1, 0)} transitions`,
    });
    rows.push({
      figure: `${label}: mass change drained in`,
      value: median(pick((r) => of(r)?.massChange.drainSeconds)),
      unit: 's',
      bar: '',
      note: `${fmt(median(pick((r) => of(r)?.massChange.usersChanged)), 1, 0)} users, ${fmt(
        median(pick((r) => of(r)?.massChange.eventsPerSecond)),
        1,
        0,
      )} events/s, transition p99 ${fmt(median(pick((r) => of(r)?.massChange.transitions.ackP99Ms)), 1, 0)} ms`,
    });
  }
  return rows;
}

function coreShares(cores: Record<string, number>): string {
  return Object.entries(cores)
    .map(([name, share]) => `${name} ${share.toFixed(2)}`)
    .join(', ');
}

function fmt(value: number | undefined, divisor = 1, digits = 1): string {
  return value === undefined ? 'n/a' : (value / divisor).toFixed(digits);
}

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined) return 'n/a';
  const digits =
    unit === '' || unit === 'CPU s' ? 3 : unit === 'x' || unit === 's' ? 2 : Math.abs(value) >= 100 ? 0 : 1;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit ? ` ${unit}` : ''}`;
}

export function formatTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.figure,
    formatValue(r.value, r.unit),
    r.bar,
    r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const header = ['figure', 'value', 'bar', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `  - ${r.figure}: ${r.note}`);
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    '',
    'notes:',
    ...notes,
  ].join('\n');
}
