/**
 * The product's words, defined once. Every folder (config, tencent, state, events, schedule, cli) imports them from
 * here, and the Lua scripts get the state codes from this module too: scripts/generate-lua.ts writes them into each
 * script's preamble. This module imports nothing, so anything may depend on it.
 *
 * Adding a watchlist setting: add it to `WatchlistSettings` below, to the config schema (src/config/schema.ts), and
 * read it where it is used; the registry stores and the sync passes the whole settings object as it is.
 */

/** A user's top-level login status as Tencent reports it. */
export const PRESENCE_STATES = ['Online', 'PushOnline', 'Offline'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

/**
 * One-letter codes for what is known of a user, used in Redis state records, outbox entries and Lua. Letters keep
 * records small and are cheap to compare in Lua.
 */
export const STATE_CODES = {
  Online: 'N',
  PushOnline: 'P',
  Offline: 'F',
  /** Tencent says the account does not exist (`ACCOUNT_NOT_FOUND`). */
  NotFound: 'X',
  /** Tracked, never observed yet. */
  NeverObserved: '-',
} as const;
export type StateCode = (typeof STATE_CODES)[keyof typeof STATE_CODES];
/** The codes an observation can carry (a user is always seen in one of the three states, or not found). */
export type ObservedCode = Exclude<StateCode, typeof STATE_CODES.NeverObserved>;

/** Whether a letter is one an observation can carry (not never-observed, nor a letter that leaves a user untouched). */
export function isObservedCode(letter: string): letter is ObservedCode {
  return (
    letter === STATE_CODES.Online ||
    letter === STATE_CODES.PushOnline ||
    letter === STATE_CODES.Offline ||
    letter === STATE_CODES.NotFound
  );
}

/** The code of a presence state. */
export function codeOfState(state: PresenceState): ObservedCode {
  return STATE_CODES[state];
}

/**
 * The letter the compact reading of an answer gives a user with a per-account error other than not-found: the user
 * is left untouched this time (never a state, never stored).
 */
export const ACCOUNT_ERROR_LETTER = '?';

/**
 * Why one entry of an otherwise valid answer was set aside (quarantined): a state this product does not know, a
 * user answered twice, an ID that was not asked for, an entry that cannot be read, or an asked ID left out.
 */
export const QUARANTINE_KINDS = [
  'unknown_state',
  'duplicate',
  'unasked',
  'malformed_entry',
  'missing',
] as const;
export type QuarantineKind = (typeof QUARANTINE_KINDS)[number];

/**
 * The letter the compact reading gives a user whose entry was quarantined (an unknown state, answered twice, left
 * out...): the user is left untouched this time, like an account error.
 */
export const QUARANTINED_LETTER = '!';

/** The presence state of a code; `null` for not-found and never-observed (and anything unknown). */
export function stateOfCode(code: string): PresenceState | null {
  switch (code) {
    case STATE_CODES.Online:
      return 'Online';
    case STATE_CODES.PushOnline:
      return 'PushOnline';
    case STATE_CODES.Offline:
      return 'Offline';
    default:
      return null;
  }
}

/**
 * What an event says happened: `transition` (the state changed), `snapshot` (first observation, or re-emitted),
 * `not_found` (the account does not exist), `untracked` (removed from every watchlist), `devices` (the device list
 * changed, the state did not).
 */
export const EVENT_KINDS = ['transition', 'snapshot', 'not_found', 'untracked', 'devices'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * What an outbox entry records: an event of one of the kinds above, or `membership` (the user's watchlists changed,
 * the state did not): a new state record, no event.
 */
export const MEMBERSHIP_ENTRY = 'membership';
export type OutboxKind = EventKind | typeof MEMBERSHIP_ENTRY;

/**
 * How a change was seen (an event's `detectedBy`): a sweep's chunk call, a hint call (a user named by a state-change
 * callback, called at once), or a trusted callback itself. The letter is what an outbox entry stores.
 */
export const DETECTION_LETTERS = { sweep: 's', hint: 'h', callback: 'c' } as const;
export type DetectionSource = keyof typeof DETECTION_LETTERS;

/** What the first observation of a newly tracked user publishes: a `snapshot` event, or nothing. */
export const FIRST_OBSERVATION_POLICIES = ['snapshot', 'silent'] as const;
export type FirstObservationPolicy = (typeof FIRST_OBSERVATION_POLICIES)[number];

/** Tencent's per-account `ErrorCode` for an account that was never imported (or does not exist). */
export const ACCOUNT_NOT_FOUND = 70107;

/** Tencent's limit on UserIDs per `query_online_status` call. */
export const MAX_IDS_PER_CALL = 500;

/**
 * How a watchlist is polled and published: the settings the configuration resolves, the registry stores in Redis
 * and the jobs read. Members are not part of it (they are stored apart, as chunks).
 */
export interface WatchlistSettings {
  /** Unique within the app; appears in Redis keys, metric labels and events. */
  name: string;
  /** How often every member is polled, in ms. */
  intervalMs: number;
  /** Ask Tencent for per-device detail (`IsNeedDetail`). */
  detail: boolean;
  /** Also publish `devices` events when only the device list changes (needs `detail`). */
  deviceEvents: boolean;
  firstObservation: FirstObservationPolicy;
  /** The list's own Kafka topic; the app's default transitions topic when absent. */
  topic?: string | undefined;
  /** Scheduling priority when the call cap is contended: 1 is served first, 10 last. */
  priority: number;
}

/**
 * What the webhook role did with a request: `accepted`, or why it refused it (each refusal has its HTTP status in
 * webhook/callback.ts). The values of `presence_callbacks_total{outcome}`.
 */
export const CALLBACK_OUTCOMES = [
  'accepted',
  'not_found',
  'method_not_allowed',
  'unknown_app',
  'unsupported_command',
  'bad_signature',
  'stale_signature',
  'too_large',
  'rate_limited',
  'malformed',
] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];
export type CallbackRefusal = Exclude<CallbackOutcome, 'accepted'>;

/** What became of hinted users: queued, merged with one already waiting, dropped (queue full, untracked, failed call). */
export const HINT_OUTCOMES = ['queued', 'merged', 'overflow', 'untracked', 'call_failed', 'called'] as const;

/**
 * What became of trusted callbacks (apps with trustCallbacks): published as an event, unchanged (the state was
 * known), skipped (untracked or never observed), stale (older than the known state), too_old (arrived too late).
 */
export const TRUSTED_CALLBACK_OUTCOMES = ['published', 'unchanged', 'skipped', 'stale', 'too_old'] as const;

/**
 * Why the relay held a batch back with `redis.waitForReplicas` set: fewer replicas than asked acknowledged it, or
 * the master refused the commands that ask them (WAIT or its marker write, taken away by an ACL or renamed).
 */
export const HELD_REASONS = ['replicas_behind', 'redis_refused'] as const;
export type HeldReason = (typeof HELD_REASONS)[number];
