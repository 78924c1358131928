/**
 * Delivers `State.StateChange` callbacks the way Tencent does (one POST per change, a 2 s timeout, no retry), with
 * optional faults: loss, duplication, delay and reordering. Every fault is decided when the change happens, from a
 * PRNG of its own, so a seed replays the same faults whatever the network does, and churn draws are unaffected.
 *
 * Never in the way of the API: a change only appends to a bounded queue (overflow is counted, not waited for); the
 * requests go out later on their own connection pool. Each callback is recorded in a ground-truth log.
 */
import { Pool } from 'undici';
import type { GroundTruthEntry } from './ground-truth.js';
import type { LatencyRange } from './faults.js';
import type { SimDevice } from './population.js';
import { createRng, type Rng } from './prng.js';
import {
  actionForReason,
  callbackKindFor,
  causingDevice,
  clientIpFor,
  DEFAULT_OFFLINE_REASON_WEIGHTS,
  kickedDevices,
  kickedPlatformFor,
  OFFLINE_REASONS,
  optPlatformFor,
  renderCallbackBody,
  renderCallbackUrl,
  type CallbackAction,
  type CallbackReason,
  type OfflineReasonWeights,
  type StateChangeCallback,
} from './state-change-callback.js';

/** Where an app's callbacks go. */
export interface CallbackTarget {
  /** The callback URL configured in the console (http or https); Tencent's parameters are appended to it. */
  url: string;
  /** Callback-authentication token; when set, each request carries `Sign` and `RequestTime`. Never logged. */
  token?: string;
}

/** Delivery faults; each share is a probability per callback, 0..1. */
export interface CallbackFaults {
  /** Share of callbacks never sent; default 0. */
  lossShare?: number;
  /** Share of callbacks sent twice; default 0. */
  duplicateShare?: number;
  /** Delay before a callback is sent, uniform in [minMs, maxMs]; default none. */
  delay?: LatencyRange;
  /** Share of callbacks held back until `reorderDepth` later callbacks have gone out first; default 0. */
  reorderShare?: number;
  /** How many later callbacks overtake a held-back one; default 1. */
  reorderDepth?: number;
}

export interface CallbackOptions extends CallbackFaults {
  /** Seed of the callback PRNG (reasons and faults); default derived from the simulator's seed. */
  seed?: number;
  /** Callbacks waiting to be sent (delayed, held back or ready); beyond it new ones are dropped and counted. Default 10,000. */
  maxQueued?: number;
  /** Requests in flight at once over all targets; default 16. */
  maxConcurrent?: number;
  /** Time a receiver gets to answer, ms; default 2000 (Tencent's callback timeout). */
  timeoutMs?: number;
  /** A held-back callback goes out after this many ms even if no later one came; default 1000. */
  reorderMaxHoldMs?: number;
  /** Weights of Unregister / LinkClose / TimeOut when an Online user goes Offline; default 2 : 2 : 1. */
  offlineReasons?: OfflineReasonWeights;
  /** Callback log entries kept (oldest dropped first); default 1,000,000. */
  maxLogEntries?: number;
}

/** What became of one callback. */
export type CallbackFate = 'queued' | 'sent' | 'lost' | 'dropped' | 'abandoned';

/** One callback the simulator produced, and what became of it (the oracle for receiving-side tests). */
export interface CallbackLogEntry {
  /** Increasing per callback, in the order the changes happened. */
  id: number;
  sdkAppId: number;
  userId: string;
  action: CallbackAction;
  reason: CallbackReason;
  /** The change's wall-clock time, Unix ms (the body's `EventTime`). */
  changeAtMs: number;
  /** Wall-clock time the first request for it started, Unix ms; unset until sent. */
  sentAtMs?: number;
  /** `lost`: dropped by the loss fault; `dropped`: the queue was full; `abandoned`: the simulator closed first. */
  fate: CallbackFate;
  /** Sent twice by the duplication fault. */
  duplicated: boolean;
  /** Held back by the reordering fault. */
  reordered: boolean;
  /** Planned delay before sending, ms. */
  delayMs: number;
  /** Requests answered with Tencent's success body. */
  delivered: number;
  /** Requests that failed (network error, timeout, status other than 200, or an answer that is not OK). */
  failed: number;
}

export type DeliveryFailure = 'network' | 'timeout' | 'status' | 'answer';

export interface CallbackStats {
  /** Callbacks produced by state changes (one per app with a target). */
  emitted: number;
  /** Requests started, duplicates included. */
  sent: number;
  /** Requests answered with `{"ActionStatus":"OK","ErrorCode":0,...}` and status 200. */
  delivered: number;
  /** Callbacks removed by the loss fault. */
  lost: number;
  /** Callbacks sent twice. */
  duplicated: number;
  /** Callbacks held back by the reordering fault. */
  reordered: number;
  /** Failed requests. */
  failed: number;
  failedByReason: Record<DeliveryFailure, number>;
  /** Callbacks refused because the queue was full. */
  dropped: number;
  /** Callbacks still waiting when the simulator closed. */
  abandoned: number;
  /** Callbacks waiting now (delayed, held back or ready). */
  queued: number;
  /** Requests in flight now. */
  inFlight: number;
}

export interface CallbackSender {
  /** Reacts to one change of the world (called synchronously by the world; never throws, never waits). */
  onChange(entry: GroundTruthEntry, before: readonly SimDevice[]): void;
  setTarget(sdkAppId: number, target: CallbackTarget | undefined): void;
  setFaults(faults: CallbackFaults): void;
  stats(): CallbackStats;
  resetStats(): void;
  /** Copies of the retained log entries, oldest first. */
  log(): CallbackLogEntry[];
  /** Stops delivery: pending callbacks are abandoned, timers cleared, connections destroyed. */
  close(): Promise<void>;
}

export const DEFAULT_CALLBACK_OPTIONS = {
  maxQueued: 10_000,
  maxConcurrent: 16,
  timeoutMs: 2_000,
  reorderMaxHoldMs: 1_000,
  maxLogEntries: 1_000_000,
} satisfies Partial<CallbackOptions>;

interface Item {
  entry: CallbackLogEntry;
  callback: StateChangeCallback;
  target: ResolvedTarget;
}

interface Held {
  item: Item;
  /** Later callbacks still to overtake it. */
  remaining: number;
  timer: NodeJS.Timeout;
}

interface ResolvedTarget {
  url: URL;
  token: string | undefined;
}

interface ResolvedFaults {
  lossShare: number;
  duplicateShare: number;
  delay: LatencyRange;
  reorderShare: number;
  reorderDepth: number;
}

/**
 * @param targets per SDKAppID
 * @param now wall clock, Unix ms (RequestTime and the log's sent time)
 */
export function createCallbackSender(
  targets: ReadonlyMap<number, CallbackTarget>,
  options: CallbackOptions & { seed: number },
  now: () => number,
): CallbackSender {
  const o = { ...DEFAULT_CALLBACK_OPTIONS, ...options };
  checkInteger('maxQueued', o.maxQueued, 1);
  checkInteger('maxConcurrent', o.maxConcurrent, 1);
  checkInteger('timeoutMs', o.timeoutMs, 1);
  checkInteger('reorderMaxHoldMs', o.reorderMaxHoldMs, 0);
  checkInteger('maxLogEntries', o.maxLogEntries, 1);
  const reasonWeights = checkReasonWeights(o.offlineReasons ?? DEFAULT_OFFLINE_REASON_WEIGHTS);
  const rng: Rng = createRng(o.seed);
  const resolved = new Map<number, ResolvedTarget>();
  for (const [sdkAppId, target] of targets) resolved.set(sdkAppId, resolveTarget(sdkAppId, target));
  let faults = resolveFaults(options);

  let log: CallbackLogEntry[] = [];
  let nextId = 1;
  let stats = newStats();
  const ready: { item: Item; duplicate: boolean }[] = [];
  let readyHead = 0;
  const held: Held[] = [];
  const delayed = new Map<NodeJS.Timeout, Item>();
  let waiting = 0;
  let inFlight = 0;
  let pumpScheduled: NodeJS.Immediate | undefined;
  let closed = false;
  const pools = new Map<string, Pool>();

  function record(entry: CallbackLogEntry): void {
    log.push(entry);
    if (log.length > o.maxLogEntries * 1.1) log = log.slice(log.length - o.maxLogEntries);
  }

  function chooseReason(kind: 'login' | 'offline'): CallbackReason {
    if (kind === 'login') return 'Register';
    const total = OFFLINE_REASONS.reduce((sum, r) => sum + reasonWeights[r], 0);
    let roll = rng.next() * total;
    for (const reason of OFFLINE_REASONS) {
      roll -= reasonWeights[reason];
      if (roll < 0) return reason;
    }
    return 'TimeOut';
  }

  function onChange(change: GroundTruthEntry, before: readonly SimDevice[]): void {
    if (closed || resolved.size === 0) return;
    const kind = callbackKindFor(change.from, change.to);
    if (!kind) return;
    const after = change.devices as SimDevice[];
    const device = causingDevice(kind, before, after);
    const kicked = kind === 'login' ? kickedDevices(before, after) : [];
    for (const [sdkAppId, target] of resolved) {
      const reason = chooseReason(kind);
      const callback: StateChangeCallback = {
        sdkAppId,
        userId: change.userId,
        action: actionForReason(reason),
        reason,
        eventTimeMs: change.atMs,
        clientIp: clientIpFor(change.userId),
        optPlatform: optPlatformFor(device?.platform),
        kickedPlatforms: kicked.map((d) => kickedPlatformFor(d.platform)),
      };
      admit({ callback, target, entry: newEntry(callback) });
    }
  }

  function newEntry(callback: StateChangeCallback): CallbackLogEntry {
    return {
      id: nextId++,
      sdkAppId: callback.sdkAppId,
      userId: callback.userId,
      action: callback.action,
      reason: callback.reason,
      changeAtMs: callback.eventTimeMs,
      fate: 'queued',
      duplicated: false,
      reordered: false,
      delayMs: 0,
      delivered: 0,
      failed: 0,
    };
  }

  function admit(item: Item): void {
    const { entry } = item;
    stats.emitted++;
    record(entry);
    // Draw every decision for every callback, so one fault's share does not shift the others' draws.
    const lost = rng.next() < faults.lossShare;
    const duplicated = rng.next() < faults.duplicateShare;
    const { minMs, maxMs } = faults.delay;
    const delayMs = maxMs === 0 ? 0 : Math.round(minMs + rng.next() * (maxMs - minMs));
    const reordered = rng.next() < faults.reorderShare;
    if (lost) {
      entry.fate = 'lost';
      stats.lost++;
      return;
    }
    if (waiting >= o.maxQueued) {
      entry.fate = 'dropped';
      stats.dropped++;
      return;
    }
    entry.duplicated = duplicated;
    entry.reordered = reordered;
    entry.delayMs = delayMs;
    if (duplicated) stats.duplicated++;
    if (reordered) stats.reordered++;
    waiting++;
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        delayed.delete(timer);
        release(item);
      }, delayMs);
      delayed.set(timer, item);
    } else {
      release(item);
    }
  }

  /** The callback's delay is over: hold it back (reordering) or make it ready, letting held ones through. */
  function release(item: Item): void {
    if (item.entry.reordered) {
      const h: Held = {
        item,
        remaining: faults.reorderDepth,
        timer: setTimeout(() => {
          const index = held.indexOf(h);
          if (index >= 0) held.splice(index, 1);
          makeReady(item);
        }, o.reorderMaxHoldMs),
      };
      held.push(h);
      return;
    }
    makeReady(item);
    for (let i = 0; i < held.length;) {
      const h = held[i] as Held;
      if (h.item !== item && --h.remaining <= 0) {
        held.splice(i, 1);
        clearTimeout(h.timer);
        makeReady(h.item);
      } else {
        i++;
      }
    }
  }

  function makeReady(item: Item): void {
    ready.push({ item, duplicate: false });
    if (item.entry.duplicated) ready.push({ item, duplicate: true });
    schedulePump();
  }

  function schedulePump(): void {
    if (pumpScheduled || closed) return;
    // Deferred: a burst of changes only queues; requests start once the burst has returned to the event loop.
    pumpScheduled = setImmediate(pump);
  }

  function pump(): void {
    pumpScheduled = undefined;
    while (!closed && inFlight < o.maxConcurrent && readyHead < ready.length) {
      const next = ready[readyHead++] as { item: Item; duplicate: boolean };
      if (readyHead === ready.length) {
        ready.length = 0;
        readyHead = 0;
      }
      if (!next.duplicate) waiting--;
      void deliver(next.item);
    }
  }

  function poolFor(url: URL): Pool {
    let pool = pools.get(url.origin);
    if (!pool) {
      pool = new Pool(url.origin, {
        connections: o.maxConcurrent,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        connectTimeout: o.timeoutMs,
      });
      pools.set(url.origin, pool);
    }
    return pool;
  }

  async function deliver(item: Item): Promise<void> {
    const { entry, callback, target } = item;
    const sentAtMs = now();
    if (entry.sentAtMs === undefined) entry.sentAtMs = sentAtMs;
    entry.fate = 'sent';
    stats.sent++;
    inFlight++;
    let failure: DeliveryFailure | undefined;
    try {
      const href = renderCallbackUrl(target.url, callback, target.token, Math.floor(sentAtMs / 1000));
      const url = new URL(href);
      const res = await poolFor(url).request({
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: renderCallbackBody(callback),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) failure = 'status';
      else if (!isOkAnswer(text)) failure = 'answer';
    } catch (error) {
      failure = isTimeout(error) ? 'timeout' : 'network';
    } finally {
      inFlight--;
    }
    if (closed) return;
    if (failure) {
      entry.failed++;
      stats.failed++;
      stats.failedByReason[failure]++;
    } else {
      entry.delivered++;
      stats.delivered++;
    }
    schedulePump();
  }

  return {
    onChange(change, before) {
      try {
        onChange(change, before);
      } catch {
        // A callback must never break a change of the world; the change itself is already logged.
      }
    },
    setTarget(sdkAppId, target) {
      if (target) resolved.set(sdkAppId, resolveTarget(sdkAppId, target));
      else resolved.delete(sdkAppId);
    },
    setFaults(next) {
      faults = resolveFaults({ ...faults, ...next });
    },
    stats() {
      return { ...stats, failedByReason: { ...stats.failedByReason }, queued: waiting, inFlight };
    },
    resetStats() {
      stats = newStats();
    },
    log: () => log.slice(Math.max(0, log.length - o.maxLogEntries)).map((entry) => ({ ...entry })),
    async close() {
      if (closed) return;
      closed = true;
      if (pumpScheduled) clearImmediate(pumpScheduled);
      pumpScheduled = undefined;
      const abandon = (item: Item): void => {
        if (item.entry.fate === 'queued') {
          item.entry.fate = 'abandoned';
          stats.abandoned++;
        }
      };
      for (const [timer, item] of delayed) {
        clearTimeout(timer);
        abandon(item);
      }
      delayed.clear();
      for (const h of held) {
        clearTimeout(h.timer);
        abandon(h.item);
      }
      held.length = 0;
      for (let i = readyHead; i < ready.length; i++) abandon((ready[i] as { item: Item }).item);
      ready.length = 0;
      readyHead = 0;
      waiting = 0;
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
      pools.clear();
    },
  };
}

function newStats(): CallbackStats {
  return {
    emitted: 0,
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    failed: 0,
    failedByReason: { network: 0, timeout: 0, status: 0, answer: 0 },
    dropped: 0,
    abandoned: 0,
    queued: 0,
    inFlight: 0,
  };
}

/** Tencent's success answer: `ActionStatus` "OK" and `ErrorCode` 0 (it treats anything else as a failed callback). */
function isOkAnswer(text: string): boolean {
  try {
    const doc = JSON.parse(text) as { ActionStatus?: unknown; ErrorCode?: unknown } | null;
    return doc?.ActionStatus === 'OK' && doc.ErrorCode === 0;
  } catch {
    return false;
  }
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.includes('TIMEOUT');
}

function resolveTarget(sdkAppId: number, target: CallbackTarget): ResolvedTarget {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new RangeError(`callback URL of app ${sdkAppId} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`callback URL of app ${sdkAppId} must be http or https, not ${url.protocol}`);
  }
  if (target.token !== undefined && target.token.length === 0) {
    throw new RangeError(`callback token of app ${sdkAppId} must not be empty (leave it unset for none)`);
  }
  return { url, token: target.token };
}

function resolveFaults(faults: CallbackFaults): ResolvedFaults {
  const share = (name: string, value: number | undefined): number => {
    const v = value ?? 0;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`callback ${name} must be a share in 0..1`);
    return v;
  };
  const delay = faults.delay ?? { minMs: 0, maxMs: 0 };
  if (!(delay.minMs >= 0 && delay.maxMs >= delay.minMs)) {
    throw new RangeError('callback delay needs 0 <= minMs <= maxMs');
  }
  const reorderDepth = faults.reorderDepth ?? 1;
  checkInteger('reorderDepth', reorderDepth, 1);
  return {
    lossShare: share('lossShare', faults.lossShare),
    duplicateShare: share('duplicateShare', faults.duplicateShare),
    reorderShare: share('reorderShare', faults.reorderShare),
    delay: { minMs: delay.minMs, maxMs: delay.maxMs },
    reorderDepth,
  };
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`callback ${name} must be an integer >= ${min}`);
  }
}

function checkReasonWeights(weights: OfflineReasonWeights): OfflineReasonWeights {
  const values = OFFLINE_REASONS.map((r) => weights[r]);
  if (!values.every((w) => Number.isFinite(w) && w >= 0) || values.every((w) => w === 0)) {
    throw new RangeError('offlineReasons weights must be non-negative numbers, not all 0');
  }
  return { ...weights };
}
