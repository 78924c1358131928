import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createHealth, RELAY_STALL_MS, tickBoundMs } from '../../src/roles/health.js';
import type { Role } from '../../src/roles/roles.js';

const APP = '1400000000';

function setup(roles: Role[], options: { intervalMs?: number; takingJobs?: () => boolean } = {}) {
  const events = createFlowEvents();
  let clock = 1_000_000;
  const health = createHealth({ roles, events, now: () => clock });
  health.addApp({
    label: APP,
    name: 'demo',
    shortestIntervalMs: options.intervalMs ?? 15_000,
    takingJobs: options.takingJobs ?? (() => true),
    redisStatus: () => 'ready',
  });
  return {
    events,
    health,
    advance: (ms: number) => void (clock += ms),
    check: (name: string) => health.readiness().checks[name],
  };
}

describe('readiness from component state', () => {
  it('is not ready before any call answered, ready once one was accepted', () => {
    const { events, health, check } = setup(['poller']);
    expect(health.readiness().ready).toBe(false);
    expect(check('credentials:demo')).toEqual({ ok: false, reason: 'no call answered yet' });
    events.emit('call', { app: APP, outcome: 'ok' });
    expect(health.readiness()).toEqual({
      ready: true,
      checks: {
        'credentials:demo': { ok: true },
        'scheduler:demo': { ok: true },
        'poller:demo': { ok: true },
      },
      dependencies: { 'redis:demo': 'ready' },
    });
  });

  it('turns unready when a call is refused for its credentials, and ready again after an accepted call', () => {
    const { events, health, check } = setup(['poller']);
    events.emit('call', { app: APP, outcome: 'ok' });
    events.emit('callFailed', { app: APP, kind: 'fatal_config', errorCode: 70005 });
    expect(health.readiness().ready).toBe(false);
    expect(check('credentials:demo')?.reason).toContain('ErrorCode 70005');
    events.emit('call', { app: APP, outcome: 'ok' });
    expect(health.readiness().ready).toBe(true);
  });

  it('stays ready through transient call failures', () => {
    const { events, health } = setup(['poller']);
    events.emit('call', { app: APP, outcome: 'ok' });
    for (const kind of ['network', 'timeout', 'rate_limit', 'server', 'malformed'])
      events.emit('callFailed', { app: APP, kind, errorCode: undefined });
    expect(health.readiness().ready).toBe(true);
  });

  it('fails the scheduler check when no sweep or chunk came within the bound, counted from start-up', () => {
    const { events, health, advance, check } = setup(['poller'], { intervalMs: 30_000 });
    events.emit('call', { app: APP, outcome: 'ok' });
    const bound = tickBoundMs(30_000);
    expect(bound).toBe(90_000);
    advance(bound);
    expect(health.readiness().ready).toBe(true);
    advance(1);
    expect(check('scheduler:demo')).toMatchObject({ ok: false });
    events.emit('sweepDecided', { app: APP, watchlist: 'vip', decision: 'start' });
    expect(check('scheduler:demo')).toEqual({ ok: true });
    advance(bound + 1);
    events.emit('chunkObserved', { app: APP, watchlist: 'vip', users: 1, events: 0, stale: 0 });
    expect(check('scheduler:demo')).toEqual({ ok: true });
  });

  it('bounds the scheduler check by at least a minute for short intervals', () => {
    expect(tickBoundMs(1_000)).toBe(60_000);
  });

  it('is not ready while the scheduler restores states after a Redis loss, ready again when it is done', () => {
    const { events, health, check } = setup(['scheduler']);
    expect(health.readiness().ready).toBe(true);
    events.emit('stateRecovery', { app: APP, phase: 'started', restored: 0 });
    expect(health.readiness().ready).toBe(false);
    expect(check('state:demo')).toEqual({
      ok: false,
      reason: 'Redis lost its data: restoring states from the state topic',
    });
    events.emit('stateRecovery', { app: APP, phase: 'finished', restored: 12 });
    expect(check('state:demo')).toEqual({ ok: true });
  });

  it('fails the poller check when the chunk worker takes no jobs', () => {
    let running = true;
    const { events, health, check } = setup(['poller'], { takingJobs: () => running });
    events.emit('call', { app: APP, outcome: 'ok' });
    running = false;
    expect(health.readiness().ready).toBe(false);
    expect(check('poller:demo')).toEqual({
      ok: false,
      reason: 'the chunk worker takes no jobs (stopped, or paused while Redis refuses writes)',
    });
  });

  it('says why the relay holds batches back for want of Redis replicas, and stays ready while it retries', () => {
    const { events, health, advance, check } = setup(['relay']);
    for (let i = 0; i < 3; i += 1) {
      advance(RELAY_STALL_MS / 2);
      events.emit('publishHeld', { app: APP, reason: 'replicas_behind', replicas: 0 });
    }
    expect(check('relay:demo')).toEqual({ ok: true });
    expect(health.readiness().dependencies?.kafka).toBe(
      'the last batch was held back: 0 Redis replica(s) acknowledged it, fewer than redis.waitForReplicas ' +
        '(retrying; the outbox keeps the events)',
    );
  });

  it("says when Redis refuses the relay's replica count, with Redis's answer", () => {
    const { events, health, check } = setup(['relay']);
    events.emit('publishHeld', {
      app: APP,
      reason: 'redis_refused',
      replicas: 0,
      refusal: "NOPERM User default has no permissions to run the 'wait' command",
    });
    expect(check('relay:demo')).toEqual({ ok: true });
    expect(health.readiness().dependencies?.kafka).toBe(
      "the last batch was held back: Redis refused to count its replicas (NOPERM User default has no permissions to run the 'wait' command; " +
        'redis.waitForReplicas needs WAIT and a write on the master; retrying, the outbox keeps the events)',
    );
  });

  it('keeps the relay ready while Kafka is down as long as the loop reports', () => {
    const { events, health, advance, check } = setup(['relay']);
    events.emit('kafkaConnection', { connected: false });
    for (let i = 0; i < 5; i += 1) {
      advance(RELAY_STALL_MS / 2);
      events.emit(
        i % 2 ? 'publishFailed' : 'relayLease',
        i % 2 ? { app: APP } : { app: APP, shard: 0, held: true },
      );
    }
    expect(health.readiness()).toEqual({
      ready: true,
      checks: { 'relay:demo': { ok: true } },
      dependencies: {
        'redis:demo': 'ready',
        kafka: 'the last publish failed (retrying; the outbox keeps the events)',
      },
    });
    events.emit('eventsPublished', { app: APP, kinds: ['transition'], latenciesMs: [5], transitions: [] });
    expect(health.readiness().dependencies?.kafka).toBe('the last publish was acknowledged');
    advance(RELAY_STALL_MS + 1);
    expect(check('relay:demo')).toMatchObject({ ok: false });
  });

  it('checks only the roles this process runs', () => {
    const { health } = setup(['scheduler']);
    expect(health.readiness()).toEqual({
      ready: true,
      checks: { 'state:demo': { ok: true } },
      dependencies: { 'redis:demo': 'ready' },
    });
  });

  it('ignores events of apps it does not follow, and stops listening on close', () => {
    const { events, health, check } = setup(['poller']);
    events.emit('call', { app: '1400000001', outcome: 'ok' });
    expect(check('credentials:demo')?.ok).toBe(false);
    health.close();
    events.emit('call', { app: APP, outcome: 'ok' });
    expect(check('credentials:demo')?.ok).toBe(false);
  });
});
