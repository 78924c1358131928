/**
 * Durations in configuration files are strings with a unit: `500ms`, `15s`, `2m`, `1h`, `7d`, or a sum of parts such
 * as `1m30s`. A bare number is rejected on purpose: `interval: 60` could mean 60 ms or 60 s, and guessing wrong is
 * either a self-inflicted rate-limit storm or a list polled once a minute instead of once a second.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The accepted syntax, also published in the JSON Schema. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses `"1m30s"` into milliseconds (rounded to a whole millisecond); `undefined` when the syntax is wrong. */
export function parseDurationMs(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** Formats milliseconds the way a person would write them in the YAML: `1500` → `1.5s`, `120000` → `2m`. */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Number((ms / 1_000).toFixed(3))}s`;
}
