import type { LoadedApp } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { toObservations } from '../state/observations.js';
import type { StateStore } from '../state/state-store.js';
import type { WatchlistDefinition, WatchlistRegistry } from '../state/watchlist-registry.js';
import { isTencentError, type OnlineStatusClient } from '../tencent/index.js';
import { MAX_IDS_PER_CALL } from '../vocabulary.js';
import type { Hint, HintQueue } from './hint-queue.js';

/**
 * Longest a hint waits for others to share its call: a call every 50 ms at most, or at once when 500 wait. Half
 * the 100 ms the design allows: the wait is about a quarter of a hint's median detection time at 1,000,000 users
 * (BENCHMARKS.md, "Detection latency"), while one poller's hint calls stay at most 20 a second, half the default
 * hint share (40 of 200); several pollers together stay within the share (take-hints.lua).
 */
export const HINT_COALESCE_MS = 50;
/** Hint calls of one process in flight at once (each still waits for its send slot). */
const MAX_CONCURRENT_CALLS = 4;
/** How long the watchlist definitions (detail settings) are reused before being read again. */
const DEFINITIONS_TTL_MS = 5_000;
/** Hint calls go ahead of every sweep in the process's slot queue. */
const HINT_PRIORITY = 1;

export interface HintCallsDeps {
  app: LoadedApp;
  label: string;
  queue: HintQueue;
  registry: WatchlistRegistry;
  stateStore: StateStore;
  client: OnlineStatusClient;
  events: FlowEvents;
  logger: Logger;
  /** After a rate-limit answer: pauses every process's send slots for `pauseMs`. */
  penalize(pauseMs: number): Promise<unknown>;
}

/**
 * The poller's hint loop: takes the users that state-change callbacks named (the oldest first, up to 500 per call,
 * at most every 50 ms), keeps those a watchlist tracks and has observed, and asks Tencent about them at once with
 * the highest priority, within `hintShare` of the app's cap (counted across processes in take-hints.lua). The
 * answers go through the same diff as a sweep's: a callback alone never produces an event, and order, `seq` and
 * `eventId` rules are unchanged. A failed hint call is not retried: the user's sweep comes anyway.
 */
export function startHintCalls(deps: HintCallsDeps): () => Promise<void> {
  const { app, label, queue, registry, stateStore, client, events, logger } = deps;
  const callsPerSecond = Math.max(1, Math.floor(app.callsPerSecond * app.hintShare));
  let definitions: { at: number; byId: Map<number, WatchlistDefinition> } | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();

  async function definitionsById(): Promise<Map<number, WatchlistDefinition>> {
    if (!definitions || Date.now() - definitions.at > DEFINITIONS_TTL_MS) {
      const list = await registry.list();
      definitions = { at: Date.now(), byId: new Map(list.map((d) => [d.id, d])) };
    }
    return definitions.byId;
  }

  /** Tracked, observed users grouped by the answer they need (detail, device events): one call per group. */
  async function plan(hints: readonly Hint[]): Promise<Map<string, Hint[]>> {
    const byId = await definitionsById();
    const groups = new Map<string, Hint[]>();
    let untracked = 0;
    const states = await stateStore.readStates(hints.map((hint) => hint.userId));
    hints.forEach((hint, i) => {
      const state = states[i];
      // Never observed: its first sweep decides the first event (snapshot or silent), not a callback.
      if (!state || state.watchlistIds.length === 0 || state.observedAtMs === 0) {
        untracked += 1;
        return;
      }
      const lists = state.watchlistIds.map((id) => byId.get(id)).filter((d) => d !== undefined);
      const detail = lists.some((d) => d.detail);
      const deviceEvents = lists.some((d) => d.detail && d.deviceEvents);
      const key = `${detail ? 1 : 0}${deviceEvents ? 1 : 0}`;
      const group = groups.get(key);
      if (group) group.push(hint);
      else groups.set(key, [hint]);
    });
    if (untracked > 0) events.emit('hintsDropped', { app: label, reason: 'untracked', users: untracked });
    return groups;
  }

  async function call(hints: readonly Hint[], detail: boolean, deviceEvents: boolean): Promise<void> {
    let result;
    try {
      result = await client.queryOnlineStatus(
        hints.map((hint) => hint.userId),
        { detail, priority: HINT_PRIORITY },
      );
      events.emit('call', { app: label, outcome: 'ok' });
    } catch (error) {
      events.emit('call', { app: label, outcome: 'error' });
      if (isTencentError(error)) {
        events.emit('callFailed', { app: label, kind: error.kind, errorCode: error.errorCode });
        if (error.kind === 'rate_limit' && error.retryAfterMs) await deps.penalize(error.retryAfterMs);
      }
      events.emit('hintsDropped', { app: label, reason: 'call_failed', users: hints.length });
      return;
    }
    const observedAtMs = Date.now();
    const { observations } = toObservations(result, detail);
    const applied = await stateStore.applyObservations({
      source: 'hint',
      observedAtMs,
      firstObservation: 'silent',
      deviceEvents,
      observations,
    });
    events.emit('hintsObserved', {
      app: label,
      users: observations.length,
      events: applied.events,
      waitsMs: hints.map((hint) => observedAtMs - hint.receivedAtMs),
    });
  }

  async function round(): Promise<number> {
    const hints = await queue.take(callsPerSecond, MAX_IDS_PER_CALL);
    if (hints.length === 0) return 0;
    for (const [key, group] of await plan(hints)) {
      const task = call(group, key[0] === '1', key[1] === '1')
        .catch((error: unknown) => logger.warn({ err: error }, 'hint call failed'))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    return hints.length;
  }

  const loop = (async () => {
    while (!stopped) {
      let taken = 0;
      try {
        if (inFlight.size < MAX_CONCURRENT_CALLS) taken = await round();
      } catch (error) {
        logger.debug({ err: error }, 'hint queue not read');
      }
      // A full call's worth waiting: take the next one at once; otherwise let hints gather for a moment.
      if (taken < MAX_IDS_PER_CALL) await new Promise((resolve) => setTimeout(resolve, HINT_COALESCE_MS));
    }
  })();

  return async () => {
    stopped = true;
    await loop;
    await Promise.allSettled([...inFlight]);
  };
}
