/**
 * Can the app's call cap sweep every list at its interval? One sweep of n users is ceil(n / 500) calls, so a list
 * alone needs an interval of at least ceil(n / 500) / callsPerSecond seconds, and all lists of one app together need
 * sum(calls_i / interval_i) <= callsPerSecond. Retries, and lists sharing users, cost extra, hence a warning above 90%.
 */
import { MAX_IDS_PER_CALL } from '../vocabulary.js';
import { formatDurationMs } from './duration.js';
import type { ConfigLocation, IssueList } from './issues.js';
import type { ResolvedWatchlist } from './types.js';

/** What the watchlist checks need to know about an app. */
export interface CapacityApp {
  name: string;
  /** `undefined` when the app's own settings were invalid. */
  sdkAppId: number | undefined;
  /** `undefined` when the app's own settings were invalid; capacity is then not checked. */
  callsPerSecond: number | undefined;
}

export interface CapacityEntry {
  list: ResolvedWatchlist;
  /** Where the interval is set (or the list's name when it comes from the defaults). */
  location: ConfigLocation;
  field: string;
}

const HEADROOM_WARNING = 0.9;

/** The shortest interval (ms) at which `users` members can be swept with `callsPerSecond` calls per second. */
export function minimumIntervalMs(users: number, callsPerSecond: number): number {
  return Math.ceil((Math.ceil(users / MAX_IDS_PER_CALL) * 1_000) / callsPerSecond);
}

export function checkCapacity(
  entries: readonly CapacityEntry[],
  apps: readonly CapacityApp[],
  issues: IssueList,
  locateAppCap: (appName: string) => { location: ConfigLocation; field: string },
): void {
  for (const app of apps) {
    const cap = app.callsPerSecond;
    if (cap === undefined) continue;
    const lists = entries.filter((entry) => entry.list.app === app.name && entry.list.userIds.length > 0);
    let listTooFast = false;
    for (const { list, location, field } of lists) {
      const minimumMs = minimumIntervalMs(list.userIds.length, cap);
      if (list.intervalMs >= minimumMs) continue;
      listTooFast = true;
      const calls = Math.ceil(list.userIds.length / MAX_IDS_PER_CALL);
      issues.add(
        location,
        field,
        'interval_too_short',
        `interval ${formatDurationMs(list.intervalMs)} is too short for ${count(list.userIds.length)} users: a sweep ` +
          `is ${count(calls)} calls, which takes at least ${formatDurationMs(minimumMs)} at ${cap} calls/s ` +
          `(app "${app.name}"); the minimum interval is ${formatDurationMs(minimumMs)}`,
      );
    }
    if (listTooFast || lists.length === 0) continue;

    const rates = lists.map(({ list }) => ({
      name: list.name,
      rate: Math.ceil(list.userIds.length / MAX_IDS_PER_CALL) / (list.intervalMs / 1_000),
    }));
    const total = rates.reduce((sum, { rate }) => sum + rate, 0);
    if (total <= cap * HEADROOM_WARNING) continue;
    const breakdown = rates.map(({ name, rate }) => `${name} ${rate.toFixed(2)}/s`).join(', ');
    const { location, field } = locateAppCap(app.name);
    if (total > cap) {
      issues.add(
        location,
        field,
        'cap_exceeded',
        `the watchlists of app "${app.name}" need ${total.toFixed(2)} calls/s together (${breakdown}) but ` +
          `callsPerSecond is ${cap}: lengthen their intervals or raise the cap`,
      );
    } else {
      issues.warn(
        location,
        field,
        'cap_headroom',
        `the watchlists of app "${app.name}" need ${total.toFixed(2)} of ${cap} calls/s (${breakdown}), leaving ` +
          `little room for retries`,
      );
    }
  }
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}
