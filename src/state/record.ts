import type { PresenceState } from '../tencent/types.js';

/** One-letter codes used inside Redis records and outbox entries (compact, and cheap to compare in Lua). */
export type StateCode = 'N' | 'P' | 'F' | 'X';

const CODE_OF: Record<PresenceState, StateCode> = { Online: 'N', PushOnline: 'P', Offline: 'F' };
const STATE_OF: Record<string, PresenceState | undefined> = { N: 'Online', P: 'PushOnline', F: 'Offline' };

export function codeOf(state: PresenceState): StateCode {
  return CODE_OF[state];
}

/** The presence state for a code; `null` for not-found, never-observed and empty codes. */
export function stateOfCode(code: string): PresenceState | null {
  return STATE_OF[code] ?? null;
}

/** A decoded state record (see lua/apply-observations.lua for the format). */
export interface StoredState {
  watchlistIds: number[];
  /** `null` until the first observation. */
  state: PresenceState | null;
  notFound: boolean;
  seq: number;
  /** 0 until the first observation. */
  observedAtMs: number;
  deviceHash: string;
  epoch: string;
}

export function decodeRecord(record: string): StoredState {
  const [members = '', code = '-', seq = '0', observedAt = '0', deviceHash = '', epoch = ''] =
    record.split('|');
  return {
    watchlistIds: members === '' ? [] : members.split(',').map(Number),
    state: stateOfCode(code),
    notFound: code === 'X',
    seq: Number(seq),
    observedAtMs: Number(observedAt),
    deviceHash,
    epoch,
  };
}
