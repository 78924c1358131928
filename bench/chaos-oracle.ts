/**
 * The chaos run's judge: compares what reached Kafka with the simulator's ground truth, per user, on a timeline.
 * Unlike test/helpers/ground-truth.ts (which needs every change to last longer than a sweep), the chaos run has
 * random churn, so only changes that lasted at least two intervals of the user's watchlist must be published; a
 * shorter one may be missed without blame (the API was never asked while it lasted).
 */
import type { PresenceEvent } from '@presence-poller/events';
import type { GroundTruthEntry } from '../src/simulator/index.js';
import type { PresenceState } from '../src/tencent/types.js';

export interface TrackedUser {
  watchlist: string;
  intervalMs: number;
  /** When the user's watchlist took effect (the run's start, or the hot reload that added it). */
  trackedFromMs: number;
}

export interface OracleInput {
  /** Every user's state when the run began (before any churn). */
  initialStates: ReadonlyMap<string, PresenceState>;
  tracked: ReadonlyMap<string, TrackedUser>;
  changeLog: readonly GroundTruthEntry[];
  /** Events of the transitions topic in arrival order, redeliveries included. */
  events: readonly PresenceEvent[];
}

export interface OracleSample {
  userId: string;
  detail: string;
}

export interface OracleReport {
  /** States held for at least two intervals that no event reports. */
  lost: number;
  /** Events whose state the user did not hold around its observation time, or that no user of a watchlist has. */
  invented: number;
  /** Events (redeliveries removed) whose seq is not above the user's previous one in the same epoch. */
  reordered: number;
  /** eventIds published with two different contents. */
  reusedEventIds: number;
  /** Redeliveries: the same eventId with the same content (allowed: consumers dedupe on eventId). */
  redelivered: number;
  /** Users published in more than one epoch (a new epoch means a snapshot burst the restore should have avoided). */
  usersWithSeveralEpochs: number;
  /** States that had to be published, and events judged. */
  mustSee: number;
  judgedEvents: number;
  /** Per watchlist: longest time from a must-see change to the event reporting it, ms. */
  longestDetectionMs: Record<string, number>;
  samples: {
    lost: OracleSample[];
    invented: OracleSample[];
    reordered: OracleSample[];
    reused: OracleSample[];
  };
}

/** An observation may report a state the answer was built with a little before the service stamped it. */
const OBSERVATION_SLACK_MS = 5_000;
/** observedAt is an ISO string with millisecond precision; allow rounding. */
const CLOCK_SLACK_MS = 50;
const MAX_SAMPLES = 10;

interface Segment {
  state: PresenceState;
  fromMs: number;
  toMs: number;
}

/** The user's top-level states over time, from the run's start; the last one lasts forever (churn has stopped). */
function timelines(
  initialStates: ReadonlyMap<string, PresenceState>,
  changeLog: readonly GroundTruthEntry[],
): Map<string, Segment[]> {
  const result = new Map<string, Segment[]>();
  for (const [userId, state] of initialStates) {
    result.set(userId, [{ state, fromMs: -Infinity, toMs: Infinity }]);
  }
  for (const change of changeLog) {
    const segments = result.get(change.userId);
    const last = segments?.[segments.length - 1];
    if (!segments || !last || last.state === change.to) continue;
    last.toMs = change.atMs;
    segments.push({ state: change.to, fromMs: change.atMs, toMs: Infinity });
  }
  return result;
}

/**
 * What must be published: segments from when the user was tracked that lasted ≥ 2 intervals, with consecutive
 * ones of the same state merged (a short blip in between may be missed, and then there is no change to report).
 */
function mustSee(segments: readonly Segment[], user: TrackedUser): Segment[] {
  const groups: Segment[] = [];
  for (const segment of segments) {
    if (segment.toMs <= user.trackedFromMs) continue;
    const fromMs = Math.max(segment.fromMs, user.trackedFromMs);
    if (segment.toMs - fromMs < 2 * user.intervalMs) continue;
    const last = groups[groups.length - 1];
    if (last && last.state === segment.state) last.toMs = segment.toMs;
    else groups.push({ state: segment.state, fromMs, toMs: segment.toMs });
  }
  return groups;
}

function heldAround(segments: readonly Segment[], state: PresenceState, atMs: number): boolean {
  return segments.some(
    (s) => s.state === state && s.fromMs <= atMs + CLOCK_SLACK_MS && s.toMs >= atMs - OBSERVATION_SLACK_MS,
  );
}

/**
 * True when the group's state was already the published one as it began and no event changed it while it lasted:
 * the state before it came back after a change too short to be seen (or was never left), so there was nothing to
 * report. (Events after the group ended report the next state; they do not count.)
 */
function alreadyPublished(events: readonly PresenceEvent[], group: Segment): boolean {
  let last: PresenceEvent | undefined;
  for (const e of events) {
    const atMs = Date.parse(e.observedAt);
    if (atMs >= group.fromMs - CLOCK_SLACK_MS && atMs <= group.toMs && e.to !== group.state) return false;
    if (atMs < group.fromMs && (!last || atMs >= Date.parse(last.observedAt))) last = e;
  }
  return last?.to === group.state;
}

export function judgeChaosRun(input: OracleInput): OracleReport {
  const report: OracleReport = {
    lost: 0,
    invented: 0,
    reordered: 0,
    reusedEventIds: 0,
    redelivered: 0,
    usersWithSeveralEpochs: 0,
    mustSee: 0,
    judgedEvents: 0,
    longestDetectionMs: {},
    samples: { lost: [], invented: [], reordered: [], reused: [] },
  };
  const sample = (list: OracleSample[], userId: string, detail: string) => {
    if (list.length < MAX_SAMPLES) list.push({ userId, detail });
  };
  const truth = timelines(input.initialStates, input.changeLog);

  const contents = new Map<string, string>();
  const lastSeq = new Map<string, number>();
  const epochs = new Map<string, Set<string>>();
  const published = new Map<string, PresenceEvent[]>();
  for (const event of input.events) {
    const content = JSON.stringify(event);
    const before = contents.get(event.eventId);
    if (before !== undefined) {
      if (before === content) report.redelivered++;
      else {
        report.reusedEventIds++;
        sample(report.samples.reused, event.userId, `${event.eventId}: ${before} then ${content}`);
      }
      continue;
    }
    contents.set(event.eventId, content);
    report.judgedEvents++;
    const key = `${event.userId}/${event.epoch}`;
    if ((lastSeq.get(key) ?? 0) >= event.seq) {
      report.reordered++;
      sample(report.samples.reordered, event.userId, `seq ${event.seq} after ${lastSeq.get(key)}`);
    }
    lastSeq.set(key, Math.max(lastSeq.get(key) ?? 0, event.seq));
    epochs.set(event.userId, (epochs.get(event.userId) ?? new Set()).add(event.epoch));
    const list = published.get(event.userId) ?? [];
    list.push(event);
    published.set(event.userId, list);

    const segments = truth.get(event.userId);
    const observedMs = Date.parse(event.observedAt);
    if (!input.tracked.has(event.userId) || !segments || event.to === null) {
      report.invented++;
      sample(report.samples.invented, event.userId, `${event.kind} to ${event.to}: not a tracked state`);
    } else if (!heldAround(segments, event.to, observedMs)) {
      report.invented++;
      sample(report.samples.invented, event.userId, `${event.kind} to ${event.to} at ${event.observedAt}`);
    }
  }
  for (const users of epochs.values()) if (users.size > 1) report.usersWithSeveralEpochs++;

  for (const [userId, user] of input.tracked) {
    const events = published.get(userId) ?? [];
    for (const group of mustSee(truth.get(userId) ?? [], user)) {
      report.mustSee++;
      const seen = events.find((e) => {
        const atMs = Date.parse(e.observedAt);
        return (
          e.to === group.state &&
          atMs >= group.fromMs - CLOCK_SLACK_MS &&
          atMs <= group.toMs + OBSERVATION_SLACK_MS
        );
      });
      if (!seen && alreadyPublished(events, group)) continue;
      if (!seen) {
        report.lost++;
        const until = Number.isFinite(group.toMs) ? new Date(group.toMs).toISOString() : 'the end';
        sample(
          report.samples.lost,
          userId,
          `${group.state} from ${new Date(group.fromMs).toISOString()} to ${until}`,
        );
        continue;
      }
      const delay = Date.parse(seen.observedAt) - group.fromMs;
      if (group.fromMs > user.trackedFromMs) {
        report.longestDetectionMs[user.watchlist] = Math.max(
          report.longestDetectionMs[user.watchlist] ?? 0,
          delay,
        );
      }
    }
  }
  return report;
}
