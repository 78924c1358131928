/**
 * Readiness from component state, answered from memory: the flow events say what each role last did, and `/readyz`
 * only reads what they left here. No Redis or Kafka call sits behind the probe, so it answers at once while a
 * dependency hangs. Kafka reachability is deliberately not a check: every poller keeps polling into the outbox while
 * Kafka is down, and turning every replica unready at once would only stop a deployment that still works.
 *
 * Checks per app, for the roles this process runs:
 * - `credentials:<app>` (poller): the last call, or the start-up preflight, was accepted; a call refused for the
 *   key, the UserSig or the admin turns it false until a call is accepted again.
 * - `scheduler:<app>` (poller, where the sweep jobs run): a sweep was decided, or a chunk taken, within
 *   `tickBoundMs` of the shortest watchlist interval (the bound runs from start-up, so a new process is ready).
 * - `poller:<app>` (poller): the chunk worker takes jobs (runs, is not closing or stopped, and is not paused while
 *   Redis refuses writes: schedule/kept-worker.ts).
 * - `relay:<app>` (relay): the relay loop reported within `RELAY_STALL_MS` (it reports its lease at least every
 *   third of the lease time, and every publish or failed publish).
 * - `state:<app>` (scheduler): false while the app's states are restored from the state topic after Redis lost its
 *   data (roles/state-recovery.ts); nothing is scheduled until the restore and the re-sync are done.
 *
 * Beside the checks, `dependencies` says what the process knows of Redis (per app, the client's connection state)
 * and Kafka (relay role: the outcome of the last publish, or the producer's connection): information for the
 * status output, never part of `ready`. The metrics carry the same (`presence_redis_connected`, ...).
 */
import type { FlowEvents } from '../ops/flow-events.js';
import type { Readiness, ReadinessCheck } from '../ops/http-server.js';
import { rejectsCredentials } from '../tencent/index.js';
import type { Role } from './roles.js';

/** What health needs to know about one app; `takingJobs` is set when this process runs the app's poller. */
export interface AppHealthInput {
  label: string;
  name: string;
  /** The shortest watchlist interval of the app; undefined when it has no watchlist. */
  shortestIntervalMs: number | undefined;
  takingJobs?: () => boolean;
  /** The app's Redis connection state as the client knows it (ioredis `status`), read without a call. */
  redisStatus?: () => string;
}

export interface HealthOptions {
  roles: readonly Role[];
  events: FlowEvents;
  /** Default `Date.now`. */
  now?: () => number;
}

export interface Health {
  /** Starts following an app (before its roles start, so the preflight's call is seen). */
  addApp(input: AppHealthInput): void;
  readiness(): Readiness;
  /** Stops listening to the flow events. */
  close(): void;
}

/** Ticks missed before the scheduler check fails; one late tick or a slow sweep must not flap readiness. */
export const MISSED_TICKS = 3;
/** The least bound for the scheduler check: BullMQ's own stall detection takes 30 s + 30 s. */
export const MIN_TICK_BOUND_MS = 60_000;
/** The relay reports its lease every ~3.3 s at the default 10 s lease; 30 s without any report is a stall. */
export const RELAY_STALL_MS = 30_000;

/** How long the scheduler check waits for a sweep or a chunk before it fails. */
export function tickBoundMs(shortestIntervalMs: number): number {
  return Math.max(MIN_TICK_BOUND_MS, MISSED_TICKS * shortestIntervalMs);
}

interface AppState {
  input: AppHealthInput;
  /** undefined until the preflight or a call answered. */
  credentials: { accepted: true } | { accepted: false; reason: string } | undefined;
  lastTickAt: number;
  lastRelayReportAt: number;
  recovering: boolean;
}

export function createHealth(options: HealthOptions): Health {
  const now = options.now ?? Date.now;
  const has = (role: Role) => options.roles.includes(role);
  const startedAt = now();
  const states = new Map<string, AppState>();
  let kafka = 'producer not connected yet';
  const of = (app: string) => states.get(app);
  const tick = ({ app }: { app: string }) => {
    const state = of(app);
    if (state) state.lastTickAt = now();
  };
  const relayReport = ({ app }: { app: string }) => {
    const state = of(app);
    if (state) state.lastRelayReportAt = now();
  };
  const { events } = options;
  const unsubscribe = [
    events.on('call', ({ app, outcome }) => {
      const state = of(app);
      if (state && outcome === 'ok') state.credentials = { accepted: true };
    }),
    events.on('callFailed', ({ app, kind, errorCode }) => {
      const state = of(app);
      if (!state || !rejectsCredentials(kind)) return;
      state.credentials = {
        accepted: false,
        reason: `the last call was refused (${kind}${errorCode === undefined ? '' : `, ErrorCode ${errorCode}`})`,
      };
    }),
    events.on('stateRecovery', ({ app, phase }) => {
      const state = of(app);
      if (state) state.recovering = phase === 'started';
    }),
    events.on('sweepDecided', tick),
    events.on('chunkObserved', tick),
    events.on('chunkObsolete', tick),
    events.on('chunkGivenUp', tick),
    events.on('relayLease', relayReport),
    // Every loop turn, send attempt and failed connection attempt: it keeps coming while Kafka is down.
    events.on('relayLoop', relayReport),
    events.on('eventsPublished', (event) => {
      relayReport(event);
      kafka = 'the last publish was acknowledged';
    }),
    events.on('publishFailed', (event) => {
      relayReport(event);
      kafka = 'the last publish failed (retrying; the outbox keeps the events)';
    }),
    events.on('publishHeld', (event) => {
      relayReport(event);
      kafka =
        event.reason === 'redis_refused'
          ? `the last batch was held back: Redis refused to count its replicas (${event.refusal ?? 'no reason'}; ` +
            'redis.waitForReplicas needs WAIT and a write on the master; retrying, the outbox keeps the events)'
          : `the last batch was held back: ${event.replicas} Redis replica(s) acknowledged it, fewer than ` +
            'redis.waitForReplicas (retrying; the outbox keeps the events)';
    }),
    events.on('kafkaConnection', ({ connected }) => {
      // The producer's own view: kafkajs keeps it "connected" while brokers are gone, so a publish outcome that
      // comes later says more.
      kafka = connected ? 'producer connected' : 'producer disconnected';
    }),
  ];

  function dependencies(): Record<string, string> {
    const known: Record<string, string> = {};
    for (const { input } of states.values()) {
      if (input.redisStatus) known[`redis:${input.name}`] = input.redisStatus();
    }
    if (has('relay')) known.kafka = kafka;
    return known;
  }

  function checksOf(state: AppState, at: number): Array<[string, ReadinessCheck]> {
    const { input } = state;
    const checks: Array<[string, ReadinessCheck]> = [];
    if (has('poller')) {
      checks.push([`credentials:${input.name}`, credentialsCheck(state)]);
      if (input.shortestIntervalMs !== undefined) {
        const bound = tickBoundMs(input.shortestIntervalMs);
        const silentMs = at - state.lastTickAt;
        checks.push([
          `scheduler:${input.name}`,
          silentMs <= bound
            ? { ok: true }
            : { ok: false, reason: `no sweep or chunk for ${silentMs} ms (bound ${bound} ms)` },
        ]);
      }
      const taking = input.takingJobs?.() ?? false;
      checks.push([
        `poller:${input.name}`,
        taking
          ? { ok: true }
          : {
              ok: false,
              reason: 'the chunk worker takes no jobs (stopped, or paused while Redis refuses writes)',
            },
      ]);
    }
    if (has('scheduler')) {
      checks.push([
        `state:${input.name}`,
        state.recovering
          ? { ok: false, reason: 'Redis lost its data: restoring states from the state topic' }
          : { ok: true },
      ]);
    }
    if (has('relay')) {
      const silentMs = at - state.lastRelayReportAt;
      checks.push([
        `relay:${input.name}`,
        silentMs <= RELAY_STALL_MS
          ? { ok: true }
          : { ok: false, reason: `the relay loop reported nothing for ${silentMs} ms` },
      ]);
    }
    return checks;
  }

  return {
    addApp(input) {
      states.set(input.label, {
        input,
        credentials: undefined,
        lastTickAt: startedAt,
        lastRelayReportAt: startedAt,
        recovering: false,
      });
    },
    readiness() {
      const at = now();
      const checks = Object.fromEntries([...states.values()].flatMap((state) => checksOf(state, at)));
      return {
        ready: Object.values(checks).every((check) => check.ok),
        checks,
        dependencies: dependencies(),
      };
    },
    close() {
      for (const stop of unsubscribe) stop();
    },
  };
}

function credentialsCheck(state: AppState): ReadinessCheck {
  if (state.credentials === undefined) return { ok: false, reason: 'no call answered yet' };
  return state.credentials.accepted ? { ok: true } : { ok: false, reason: state.credentials.reason };
}
