/**
 * `npm run chaos [-- --minutes 5] [--seed 1]`: the seeded fault run of bench/chaos-run.ts. Prints the verdicts and
 * writes the full report to .bench/chaos-<time>.json; exits 1 when an invariant failed. RELIABILITY.md has the
 * figures of past runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CHAOS_ACTIONS,
  failedInvariants,
  runChaos,
  type ChaosActionName,
  type ChaosReport,
} from './chaos-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    dump: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const seed = Number(values.seed);
const only = values.only?.split(',') as ChaosActionName[] | undefined;
if (!(minutes >= 1) || !Number.isInteger(seed) || only?.some((a) => !CHAOS_ACTIONS.includes(a))) {
  console.error(
    `usage: npm run chaos -- [--minutes <at least 1>] [--seed <integer>] [--dump] [--only <comma list of ${CHAOS_ACTIONS.join(',')}>]`,
  );
  process.exit(2);
}

function print(report: ChaosReport): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `\nchaos run: ${report.minutes} min, seed ${report.seed}, ${report.machine.cpus} CPUs, load ${report.machine.loadAverage.join(' ')}`,
  );
  console.log(`  lost ${report.lost} (of ${report.counts.mustSee} states that lasted ≥ 2 intervals)`);
  console.log(
    `  invented ${report.invented}, reordered ${report.reordered}, eventIds reused ${report.reusedEventIds}`,
  );
  console.log(
    `  calls over the cap ${report.callsOverCap} (max ${report.counts.maxCallsInAnyWindow} in any second, cap ${report.counts.cap})`,
  );
  console.log(`  drained at the end: ${report.drained ? 'yes' : 'NO'}`);
  for (const [name, b] of Object.entries(report.blind)) {
    const verdict = Math.max(b.longestSweepGapMs, b.longestDetectionMs) <= b.boundMs ? 'ok' : 'OVER';
    console.log(
      `  blind ${name} (interval ${s(b.intervalMs)}): sweep gap ${s(b.longestSweepGapMs)}, detection ${s(b.longestDetectionMs)}, bound ${s(b.boundMs)} ${verdict}`,
    );
  }
  const c = report.counts;
  console.log(
    `  ${c.calls} calls, ${c.faultsInjected} faults, ${c.changes} changes, ${c.events} events (${c.redelivered} redelivered), ${c.workerKills} kills, ${c.workerStartFailures} failed starts, ${c.usersWithSeveralEpochs} users in 2+ epochs`,
  );
}

const dir = resolve(import.meta.dirname, '../.bench');
const dumpDir = values.dump
  ? join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  : undefined;
const report = await runChaos({ minutes, seed, dumpDir, only, log: (line) => console.log(line) });
print(report);
if (dumpDir) console.log(`worker output, events and ground truth: ${dumpDir}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, `chaos-${report.startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`report: ${file}`);
const failed = failedInvariants(report);
if (failed.length > 0) {
  console.error(`FAILED: ${failed.join('; ')}`);
  process.exit(1);
}
process.exit(0);
