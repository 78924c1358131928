import { describe, expect, it } from 'vitest';
import { createPresenceView, currentStateAfter, type CurrentState } from '../src/index.js';
import { sampleEvent } from './sample-records.js';

const stateAt = (seq: number, epoch = 'mz1abc', userId = 'alice', sdkAppId = 1400000123): CurrentState =>
  currentStateAfter(sampleEvent({ seq, epoch, userId, sdkAppId }))!;

describe('the current view: state records, then the transitions they do not cover', () => {
  it('drops events the state already includes and applies newer ones', () => {
    const view = createPresenceView();
    view.applyState(stateAt(5));
    expect(view.applyEvent(sampleEvent({ seq: 4, to: 'Offline' }))).toBe('covered');
    expect(view.applyEvent(sampleEvent({ seq: 5, to: 'Offline' }))).toBe('covered');
    expect(view.get(1400000123, 'alice')?.state).toBe('Online');
    expect(view.applyEvent(sampleEvent({ seq: 6, from: 'Online', to: 'PushOnline' }))).toBe('applied');
    expect(view.get(1400000123, 'alice')).toMatchObject({ state: 'PushOnline', seq: 6 });
  });

  it('tells what the state record includes apart from what the view has applied since', () => {
    const view = createPresenceView();
    view.applyState(stateAt(5));
    expect([view.includes(sampleEvent({ seq: 5 })), view.includes(sampleEvent({ seq: 6 }))]).toEqual([
      true,
      false,
    ]);
    // seq 7 arrives (from one topic) before seq 6 (from another): 6 is not in the state record, but is older.
    expect(view.applyEvent(sampleEvent({ seq: 7, to: 'Offline' }))).toBe('applied');
    expect(view.includes(sampleEvent({ seq: 6 }))).toBe(false);
    expect(view.applyEvent(sampleEvent({ seq: 6, to: 'PushOnline' }))).toBe('covered');
    expect(view.get(1400000123, 'alice')).toMatchObject({ state: 'Offline', seq: 7 });
  });

  it('applies a new epoch from seq 1 and drops what is left of the old one', () => {
    const view = createPresenceView();
    view.applyState(stateAt(9, 'mz1abc'));
    expect(view.applyEvent(sampleEvent({ seq: 1, epoch: 'mz1abd', kind: 'snapshot', from: null }))).toBe(
      'applied',
    );
    expect(view.applyEvent(sampleEvent({ seq: 10, epoch: 'mz1abc' }))).toBe('covered');
    expect(view.get(1400000123, 'alice')).toMatchObject({ epoch: 'mz1abd', seq: 1 });
  });

  it('removes an untracked user and keeps older events of that epoch from bringing them back', () => {
    const view = createPresenceView();
    view.applyState(stateAt(3));
    expect(view.applyEvent(sampleEvent({ seq: 4, kind: 'untracked', to: null }))).toBe('applied');
    expect(view.get(1400000123, 'alice')).toBeUndefined();
    expect(view.size).toBe(0);
    expect(view.applyEvent(sampleEvent({ seq: 4 }))).toBe('covered');
    expect(view.states()).toEqual([]);
  });

  it('keeps the same UserID of two apps apart and forgets a user on a tombstone', () => {
    const view = createPresenceView();
    view.applyState(stateAt(2, 'e', 'alice', 1));
    view.applyState({ ...stateAt(2, 'e', 'alice', 2), state: 'Offline' });
    expect(view.size).toBe(2);
    expect([view.get(1, 'alice')?.state, view.get(2, 'alice')?.state]).toEqual(['Online', 'Offline']);
    view.applyTombstone(1, 'alice');
    expect(view.size).toBe(1);
    expect(view.get(1, 'alice')).toBeUndefined();
    expect(view.includes(sampleEvent({ sdkAppId: 1, seq: 1, epoch: 'e' }))).toBe(false);
  });

  it('records not_found as a null state and a devices event as new devices', () => {
    const view = createPresenceView();
    view.applyEvent(sampleEvent({ seq: 1, kind: 'not_found', from: null, to: null }));
    expect(view.get(1400000123, 'alice')).toMatchObject({ state: null });
    const devices = [{ platform: 'Web', status: 'Online' as const }];
    view.applyEvent(sampleEvent({ seq: 2, kind: 'devices', from: 'Online', to: 'Online', devices }));
    expect(view.get(1400000123, 'alice')).toMatchObject({ state: 'Online', devices });
  });
});
