import { codeOfState, STATE_CODES, stateOfCode, type PresenceState } from '../vocabulary.js';

/** A decoded state record (the format is defined once, in lua/include/record.lua). */
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
  const [
    members = '',
    code = STATE_CODES.NeverObserved,
    seq = '0',
    observedAt = '0',
    deviceHash = '',
    epoch = '',
  ] = record.split('|');
  return {
    watchlistIds: members === '' ? [] : members.split(',').map(Number),
    state: stateOfCode(code),
    notFound: code === STATE_CODES.NotFound,
    seq: Number(seq),
    observedAtMs: Number(observedAt),
    deviceHash,
    epoch,
  };
}

/** The inverse of `decodeRecord`: the stored form of a state record. */
export function encodeRecord(record: StoredState): string {
  const code = record.notFound
    ? STATE_CODES.NotFound
    : record.state === null
      ? STATE_CODES.NeverObserved
      : codeOfState(record.state);
  return [
    record.watchlistIds.join(','),
    code,
    record.seq,
    record.observedAtMs,
    record.deviceHash,
    record.epoch,
  ].join('|');
}
