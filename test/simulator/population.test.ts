import { describe, expect, it } from 'vitest';
import { createPopulation, deriveState, isMobilePlatform } from '../../src/simulator/population.js';
import { createRng } from '../../src/simulator/prng.js';

describe('createPopulation', () => {
  it('is deterministic for a seed and different across seeds', () => {
    const snapshot = (seed: number): string =>
      JSON.stringify([...createPopulation(createRng(seed), { size: 200 }).users.values()]);
    expect(snapshot(7)).toBe(snapshot(7));
    expect(snapshot(7)).not.toBe(snapshot(8));
  });

  it('names users u000000.. and gives each 1-3 devices, PushOnline only on mobile, state derived', () => {
    const population = createPopulation(createRng(1), { size: 5_000, notImportedShare: 0.1 });
    expect(population.allIds.slice(0, 3)).toEqual(['u000000', 'u000001', 'u000002']);
    expect(population.allIds).toHaveLength(5_000);
    const states = new Map<string, number>();
    for (const user of population.users.values()) {
      expect(user.devices.length).toBeGreaterThanOrEqual(1);
      expect(user.devices.length).toBeLessThanOrEqual(3);
      for (const d of user.devices)
        if (d.status === 'PushOnline') expect(isMobilePlatform(d.platform)).toBe(true);
      expect(user.state).toBe(deriveState(user.devices));
      states.set(user.state, (states.get(user.state) ?? 0) + 1);
    }
    // Every state is well represented, so tests and demos see all three.
    for (const state of ['Online', 'PushOnline', 'Offline']) expect(states.get(state)).toBeGreaterThan(500);
    const notImported = population.allIds.length - population.importedIds.length;
    expect(notImported).toBeGreaterThan(400);
    expect(notImported).toBeLessThan(600);
  });

  it('supports a custom prefix and imports everyone when notImportedShare is 0', () => {
    const population = createPopulation(createRng(1), { size: 20, idPrefix: 'x', notImportedShare: 0 });
    expect(population.allIds[19]).toBe('x000019');
    expect(population.importedIds).toHaveLength(20);
  });
});

describe('deriveState', () => {
  it.each([
    [['Offline', 'PushOnline', 'Online'], 'Online'],
    [['PushOnline', 'Offline'], 'PushOnline'],
    [['Offline', 'Offline'], 'Offline'],
    [[], 'Offline'],
  ] as const)('derives %j -> %s', (statuses, state) => {
    expect(deriveState(statuses.map((status) => ({ platform: 'iPhone', status })))).toBe(state);
  });
});
