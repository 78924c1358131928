import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../../src/config/index.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1m30s', 90_000],
  ])('parses %s', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['60', '', '5 s', '5sec', '-1s', '1s ', 's'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([
    [500, '500ms'],
    [1_500, '1.5s'],
    [60_000, '1m'],
    [90_000, '90s'],
    [86_400_000, '1d'],
  ])('formats %i as %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });
});
