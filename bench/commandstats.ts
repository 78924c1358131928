/**
 * Where the redis-server's CPU goes, per command and per Lua script. Redis's `INFO commandstats` counts every
 * script under one `evalsha` line, so the scripts are told apart by a short slowlog sample taken after the measured
 * window (every command logged with its time, which costs Redis CPU itself: never inside the window): each
 * EVALSHA's sha is named from the service's generated scripts and BullMQ's, and the sample's shares split the
 * window's `evalsha` time.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { LUA_SCRIPTS } from '../src/generated/lua-scripts.js';

export interface CommandCost {
  /** Command (`evalsha` split into `script:<name>` by the sample), as Redis names it. */
  name: string;
  calls: number;
  usec: number;
  /** CPU ms inside the command per 100,000 user states observed in the window. */
  msPer100kStates: number;
  usecPerCall: number;
}

export interface CommandStatsReport {
  /** Sum of every command's time in the window, ms per 100,000 states (the rest of redis-server's CPU is I/O). */
  totalMsPer100kStates: number;
  /** By time, highest first. */
  top: CommandCost[];
  /** Slowlog sample: seconds, EVALSHA calls seen, and those whose sha was not named. */
  sample: { seconds: number; evalshaCalls: number; unnamed: number };
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** sha1 → script name, for the service's scripts and BullMQ's (ioredis loads a script by its text's sha1). */
function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, text] of Object.entries(LUA_SCRIPTS)) names.set(sha1(text), name);
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('bullmq/package.json')), 'dist/cjs/scripts');
  for (const file of readdirSync(dir)) {
    if (!/^[a-zA-Z]+-\d+\.js$/.test(file)) continue;
    const module = require(join(dir, file)) as Record<string, { name?: string; content?: string }>;
    for (const script of Object.values(module)) {
      if (script?.content && script.name) names.set(sha1(script.content), `bullmq/${script.name}`);
    }
  }
  return names;
}

/** Clears the counters: call at the window's start. */
export async function resetCommandStats(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
}

function parseCommandStats(info: string): Array<{ name: string; calls: number; usec: number }> {
  const rows: Array<{ name: string; calls: number; usec: number }> = [];
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) rows.push({ name: match[1]!, calls: Number(match[2]), usec: Number(match[3]) });
  }
  return rows;
}

/**
 * Reads the window's command stats (call right at the window's end), then samples the slowlog for `sampleSeconds`
 * to split `evalsha` by script.
 */
export async function commandStatsReport(
  redis: Redis,
  states: number,
  sampleSeconds = 3,
  top = 15,
): Promise<CommandStatsReport> {
  const window = parseCommandStats(await redis.info('commandstats'));
  const bySha = new Map<string, { calls: number; usec: number }>();
  const before = (await redis.config('GET', 'slowlog-*')) as string[];
  const saved = Object.fromEntries(
    Array.from({ length: before.length / 2 }, (_, i) => [before[2 * i]!, before[2 * i + 1]!]),
  );
  try {
    await redis.config('SET', 'slowlog-max-len', '200000');
    await redis.slowlog('RESET');
    await redis.config('SET', 'slowlog-log-slower-than', '0');
    await sleep(sampleSeconds * 1000);
    await redis.config('SET', 'slowlog-log-slower-than', saved['slowlog-log-slower-than'] ?? '10000');
    const entries = (await redis.slowlog('GET', -1)) as Array<[number, number, number, string[]]>;
    for (const [, , usec, args] of entries) {
      if (String(args[0]).toLowerCase() !== 'evalsha') continue;
      const sha = String(args[1]);
      const row = bySha.get(sha) ?? { calls: 0, usec: 0 };
      row.calls += 1;
      row.usec += usec;
      bySha.set(sha, row);
    }
  } finally {
    await redis.slowlog('RESET');
    await redis.config('SET', 'slowlog-max-len', saved['slowlog-max-len'] ?? '128');
  }
  const names = scriptNames();
  const evalsha = window.find((row) => row.name === 'evalsha');
  const sampleCalls = [...bySha.values()].reduce((sum, row) => sum + row.calls, 0);
  const sampleUsec = [...bySha.values()].reduce((sum, row) => sum + row.usec, 0);
  const rows = window.filter((row) => row.name !== 'evalsha');
  let unnamed = 0;
  if (evalsha && sampleUsec > 0) {
    for (const [sha, row] of bySha) {
      const name = names.get(sha);
      if (!name) unnamed += row.calls;
      rows.push({
        name: `script:${name ?? sha.slice(0, 12)}`,
        calls: Math.round((evalsha.calls * row.calls) / sampleCalls),
        usec: Math.round((evalsha.usec * row.usec) / sampleUsec),
      });
    }
  } else if (evalsha) rows.push(evalsha);
  const per100k = states / 100_000;
  const costs = rows
    .map((row) => ({
      name: row.name,
      calls: row.calls,
      usec: row.usec,
      msPer100kStates: Number((row.usec / 1000 / per100k).toFixed(2)),
      usecPerCall: Number((row.usec / Math.max(1, row.calls)).toFixed(1)),
    }))
    .sort((a, b) => b.usec - a.usec);
  return {
    totalMsPer100kStates: Number((costs.reduce((sum, row) => sum + row.usec, 0) / 1000 / per100k).toFixed(1)),
    top: costs.slice(0, top),
    sample: { seconds: sampleSeconds, evalshaCalls: sampleCalls, unnamed },
  };
}
