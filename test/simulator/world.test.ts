import { describe, expect, it, vi } from 'vitest';
import { CHURN_TICK_MS, createChurn } from '../../src/simulator/churn.js';
import { createPopulation } from '../../src/simulator/population.js';
import { createRng } from '../../src/simulator/prng.js';
import { renderUser } from '../../src/simulator/render.js';
import { devicesForState, createWorld } from '../../src/simulator/world.js';

function newWorld(seed = 3, size = 100) {
  let t = 1_000;
  const world = createWorld(createPopulation(createRng(seed), { size, notImportedShare: 0.2 }), () => t++);
  return world;
}

describe('world', () => {
  it('records a manual state change with from, to, devices and time, and answers with the new state', () => {
    const world = newWorld();
    const user = world.get('u000001');
    if (!user) throw new Error('missing user');
    const from = user.state;
    const target = from === 'Offline' ? 'Online' : 'Offline';
    world.setState('u000001', target, 'manual');
    expect(user.state).toBe(target);
    expect(renderUser(user, false, 'Status')).toContain(`"Status":"${target}"`);
    expect(world.log.entries()).toEqual([
      { userId: 'u000001', from, to: target, devices: user.devices, atMs: 1_000, cause: 'manual' },
    ]);
  });

  it('tells change listeners each logged change with the devices before it, until they unsubscribe', () => {
    const world = newWorld();
    const seen: { to: string; before: string[]; after: string[] }[] = [];
    const unsubscribe = world.onChange((entry, before) =>
      seen.push({
        to: entry.to,
        before: before.map((d) => d.status),
        after: entry.devices.map((d) => d.status),
      }),
    );
    world.setDevices('x1', [{ platform: 'Web', status: 'Offline' }], 'manual');
    world.setDevices('x1', [{ platform: 'Web', status: 'Online' }], 'manual');
    unsubscribe();
    world.setDevices('x1', [{ platform: 'Web', status: 'Offline' }], 'manual');
    expect(seen).toEqual([
      { to: 'Offline', before: [], after: ['Offline'] },
      { to: 'Online', before: ['Offline'], after: ['Online'] },
    ]);
    expect(world.log.entries()).toHaveLength(3);
  });

  it('creates and imports unknown accounts, and imports not-imported ones', () => {
    const world = newWorld();
    world.setState('alice', 'PushOnline', 'manual');
    expect(world.get('alice')).toMatchObject({ imported: true, state: 'PushOnline' });
    const notImported = world.population.allIds.find((id) => !world.get(id)?.imported) as string;
    world.setState(notImported, 'Online', 'manual');
    expect(world.population.importedIds).toContain(notImported);
  });

  it('refuses PushOnline on a non-mobile device', () => {
    const world = newWorld();
    expect(() => world.setDevices('u000002', [{ platform: 'Web', status: 'PushOnline' }], 'manual')).toThrow(
      /mobile only/,
    );
  });
});

describe('devicesForState', () => {
  const web = {
    platform: 'Web',
    status: 'Online',
    isBackground: false,
    instId: 1,
    customIdentifier: 'd1',
  } as const;
  it('PushOnline adds an iPhone when the user has no mobile device', () => {
    const devices = devicesForState([web], 'PushOnline');
    expect(devices.map((d) => [d.platform, d.status])).toEqual([
      ['Web', 'Offline'],
      ['iPhone', 'PushOnline'],
    ]);
  });
  it('Online and Offline change as little as possible', () => {
    expect(devicesForState([], 'Online').map((d) => [d.platform, d.status])).toEqual([['Web', 'Online']]);
    expect(devicesForState([web], 'Offline').map((d) => d.status)).toEqual(['Offline']);
  });
});

describe('churn', () => {
  it('changes one device per step, only within what the platform allows, and logs each change', () => {
    const world = newWorld(5, 50);
    const churn = createChurn(world, createRng(9), 0);
    churn.step(500);
    expect(churn.changes).toBe(500);
    const log = world.log.entries();
    expect(log).toHaveLength(500);
    for (const entry of log) {
      expect(entry.cause).toBe('churn');
      expect(world.get(entry.userId)?.imported).toBe(true);
      for (const d of entry.devices)
        if (d.status === 'PushOnline') expect(['iPhone', 'Android', 'iPad']).toContain(d.platform);
    }
    expect(log.filter((e) => e.from !== e.to).length).toBeGreaterThan(100);
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const world = newWorld(5, 50);
      createChurn(world, createRng(9), 0).step(100);
      return JSON.stringify(world.log.entries());
    };
    expect(run()).toBe(run());
  });

  it('paces changes to the configured rate on its timer, and stops at rate 0', () => {
    vi.useFakeTimers();
    const world = newWorld(5, 50);
    let clockMs = 0;
    const churn = createChurn(world, createRng(9), 100, () => clockMs);
    try {
      churn.start();
      clockMs = 1_000; // one second passes: the next tick owes exactly 100 changes
      vi.advanceTimersByTime(CHURN_TICK_MS);
      expect(churn.changes).toBe(100);
      clockMs = 1_250;
      vi.advanceTimersByTime(CHURN_TICK_MS);
      expect(churn.changes).toBe(125);
      churn.setRate(0);
      clockMs = 5_000;
      vi.advanceTimersByTime(CHURN_TICK_MS * 4);
      expect(churn.changes).toBe(125);
      expect(world.log.total).toBe(125);
    } finally {
      churn.stop();
      vi.useRealTimers();
    }
  });
});
