/**
 * Option definitions and value parsers shared by the commands. A parser throws commander's
 * `InvalidArgumentError`, which the program reports as a usage error (exit 2).
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseDurationMs } from '../config/index.js';
import { ALL_ROLES, type Role } from '../main.js';

export const DEFAULT_CONFIG_PATH = 'config/presence.yaml';

/** `-c, --config <path>`: presence.yaml, also from `PRESENCE_CONFIG`. */
export function configOption(): Option {
  return new Option('-c, --config <path>', 'path of presence.yaml (watchlists are found from it)')
    .env('PRESENCE_CONFIG')
    .default(DEFAULT_CONFIG_PATH);
}

/** An integer in [min, max]. */
export function integerParser(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = Number(text.trim());
    if (!/^[+-]?\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
}

/** A share in [0, 1], e.g. `0.01`. */
export function parseShare(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`expected a share from 0 to 1 (e.g. 0.01), got "${text}"`);
  }
  return value;
}

/** A rate in changes per second: `10` or `10/s`. */
export function parseRatePerSecond(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/s)?\s*$/.exec(text);
  if (!match) throw new InvalidArgumentError(`expected a rate such as "10" or "10/s", got "${text}"`);
  return Number(match[1]);
}

/** A duration with a unit (`500ms`, `25s`, `1m`), in milliseconds. */
export function parseDurationOption(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw new InvalidArgumentError(`expected a duration such as "25s" or "500ms", got "${text}"`);
  return ms;
}

/** `scheduler,poller,relay` (any non-empty subset, no repeats). */
export function parseRoles(text: string): Role[] {
  const roles = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  const unknown = roles.filter((role) => !(ALL_ROLES as readonly string[]).includes(role));
  if (roles.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown role${unknown.length === 1 ? '' : 's'} ${unknown.map((r) => `"${r}"`).join(', ') || '(none given)'}; ` +
        `choose from ${ALL_ROLES.join(', ')}`,
    );
  }
  return [...new Set(roles)] as Role[];
}

/** Collects a repeatable option (`--user a --user b`) and comma lists (`--user a,b`). */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  ];
}
