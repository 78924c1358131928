import { EventEmitter } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type ResolvedWatchlist } from '../../src/config/index.js';
import { createSilentLogger } from '../../src/ops/logger.js';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { recordFlowMetrics } from '../../src/ops/flow-metrics.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createConfigReloader, type ConfigReloaderOptions } from '../../src/config/reload.js';
import type { SyncReport } from '../../src/state/watchlist-sync.js';
import {
  BASE_PRESENCE,
  removeTrees,
  SECRET_ENV,
  userLines,
  writeTree,
  type TreeFiles,
} from '../config/config-tree.js';
import { waitFor } from '../helpers/wait-for.js';

afterAll(() => removeTrees());

const report = (changed: boolean): SyncReport => ({
  changed,
  version: 'v',
  added: [],
  removed: [],
  updated: changed ? ['vip'] : [],
  usersAdded: changed ? 1 : 0,
  usersRemoved: 0,
  untracked: 0,
});

/** A service double that records every watchlist set it is given. */
function fakeService(applyMs = 0) {
  const applied: ResolvedWatchlist[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  return {
    applied,
    maxInFlight: () => maxInFlight,
    inFlight: () => inFlight,
    async applyWatchlists(watchlists: readonly ResolvedWatchlist[]) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, applyMs));
      inFlight -= 1;
      applied.push([...watchlists]);
      return [
        report(applied.length === 1 || JSON.stringify(applied.at(-1)) !== JSON.stringify(applied.at(-2))),
      ];
    },
  };
}

async function setup(
  overrides: Partial<ConfigReloaderOptions> & { applyMs?: number } = {},
  files: TreeFiles = {},
) {
  const root = writeTree(files);
  const { config: running } = await loadConfig({ configPath: 'presence.yaml', cwd: root, env: SECRET_ENV });
  const service = fakeService(overrides.applyMs);
  const metrics = createMetrics();
  const events = createFlowEvents();
  recordFlowMetrics(events, metrics);
  const emitter = new EventEmitter();
  const reloader = createConfigReloader({
    configPath: 'presence.yaml',
    cwd: root,
    env: SECRET_ENV,
    running,
    service,
    logger: createSilentLogger(),
    events,
    watch: false,
    emitter,
    ...overrides,
  });
  const count = async (outcome: string) =>
    (await metrics.configReloads.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { root, service, reloader, emitter, count };
}

describe('config reload', () => {
  it('applies the watchlists of a valid edit and counts outcome=applied', async () => {
    const { root, service, reloader, count } = await setup();
    writeFileSync(join(root, 'watchlists/vip.yaml'), 'name: vip\ninterval: 5s\nusers: [alice, carol]\n');
    const outcome = await reloader.reload('test');
    expect(outcome).toMatchObject({ outcome: 'applied', restartRequired: [] });
    expect(service.applied.at(-1)!.map((list) => list.userIds)).toEqual([['alice', 'carol']]);
    expect(await count('applied')).toBe(1);
    await reloader.close();
  });

  it('refuses an invalid edit, keeps the running set and counts outcome=rejected', async () => {
    const { root, service, reloader, count } = await setup();
    writeFileSync(join(root, 'watchlists/vip.yaml'), 'name: vip\ninterval: soon\nusers: [alice]\n');
    expect(await reloader.reload('test')).toMatchObject({ outcome: 'rejected' });
    expect(service.applied).toEqual([]);
    expect(await count('rejected')).toBe(1);
    await reloader.close();
  });

  it('reports changes outside the watchlists as restart required and still applies the watchlists', async () => {
    const { root, service, reloader } = await setup();
    writeFileSync(
      join(root, 'presence.yaml'),
      `${BASE_PRESENCE}    callsPerSecond: 100\nredis:\n  prefix: other\nlogLevel: debug\n`,
    );
    const outcome = await reloader.reload('test');
    expect(outcome.restartRequired).toEqual(['apps', 'redis', 'logLevel']);
    expect(service.applied).toHaveLength(1);
    await reloader.close();
  });

  it('never runs two reloads at once, and coalesces the triggers that arrive during one', async () => {
    const { service, reloader } = await setup({ applyMs: 100 });
    const first = reloader.reload('trigger 1');
    await waitFor(() => service.inFlight() === 1, {
      timeoutMs: 5_000,
      description: 'the first reload to run',
    });
    // Three triggers while it runs share one more reload, which starts only after the first finished.
    const later = await Promise.all([2, 3, 4].map((n) => reloader.reload(`trigger ${n}`)));
    expect((await first).outcome).toBe('applied');
    expect(later.map((o) => o.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(service.applied).toHaveLength(2);
    expect(service.maxInFlight()).toBe(1);
    await reloader.close();
  });

  it('reloads on SIGHUP and stops listening once closed', async () => {
    const { service, reloader, emitter } = await setup();
    emitter.emit('SIGHUP');
    await waitFor(() => service.applied.length === 1, {
      timeoutMs: 5_000,
      description: 'a reload on SIGHUP',
    });
    await reloader.close();
    expect(emitter.listenerCount('SIGHUP')).toBe(0);
  });

  it('reloads when a watchlist file changes on disk', async () => {
    const { root, service, reloader } = await setup({ watch: true, debounceMs: 50 });
    writeFileSync(join(root, 'watchlists/vip.yaml'), 'name: vip\ninterval: 5s\nusers: [alice, bob, dave]\n');
    await waitFor(() => service.applied.at(-1)?.[0]?.userIds[2] === 'dave', {
      timeoutMs: 10_000,
      description: 'a reload after the file change',
    });
    await reloader.close();
  });

  it('refuses a reload that removes more than maxRemovedShare of a list, and counts outcome=refused', async () => {
    const big = { 'watchlists/vip.yaml': 'name: vip\ninterval: 5s\nuserFiles: [vip.txt]\n' };
    const { root, service, reloader, count } = await setup(
      {},
      { ...big, 'watchlists/vip.txt': userLines(10) },
    );
    writeFileSync(join(root, 'watchlists/vip.txt'), userLines(4));
    expect((await reloader.reload('test')).outcome).toBe('refused');
    writeFileSync(join(root, 'watchlists/vip.txt'), '');
    expect((await reloader.reload('test')).outcome).toBe('refused');
    expect(service.applied).toHaveLength(0);
    expect(await count('refused')).toBe(2);
    // Half of the list is not more than the default share of 0.5.
    writeFileSync(join(root, 'watchlists/vip.txt'), userLines(5));
    expect((await reloader.reload('test')).outcome).toBe('applied');
    await reloader.close();
  });

  it('applies a large removal when the same edit sets watchlists.maxRemovedShare: 1', async () => {
    const big = { 'watchlists/vip.yaml': 'name: vip\ninterval: 5s\nuserFiles: [vip.txt]\n' };
    const { root, service, reloader } = await setup({}, { ...big, 'watchlists/vip.txt': userLines(10) });
    writeFileSync(join(root, 'watchlists/vip.txt'), '');
    writeFileSync(join(root, 'presence.yaml'), `${BASE_PRESENCE}watchlists:\n  maxRemovedShare: 1\n`);
    expect((await reloader.reload('test')).outcome).toBe('applied');
    expect(service.applied.at(-1)?.[0]?.userIds).toEqual([]);
    await reloader.close();
  });

  it('a 2,000-user file truncated then rewritten in place never reaches the service without its users', async () => {
    const big = { 'watchlists/vip.yaml': 'name: vip\ninterval: 5s\nuserFiles: [vip.txt]\n' };
    const full = userLines(2_000);
    const { root, service, reloader, count } = await setup(
      { watch: true, debounceMs: 20 },
      { ...big, 'watchlists/vip.txt': full },
    );
    const file = join(root, 'watchlists/vip.txt');
    // What `cp` or a shell `>` does: truncate, then write in pieces. A reload reads each stage.
    writeFileSync(file, '');
    await waitFor(async () => (await count('refused')) >= 1, { description: 'the reload of the empty file' });
    appendFileSync(file, full.slice(0, full.length / 3));
    await waitFor(async () => (await count('refused')) >= 2, { description: 'the reload of a third' });
    appendFileSync(file, full.slice(full.length / 3));
    await waitFor(() => service.applied.length >= 1, { description: 'the reload of the whole file' });
    await reloader.close();
    // Every set the service was given (each one a sync: a missing user would be an untracked event) is whole.
    expect(service.applied.every((lists) => lists[0]?.userIds.length === 2_000)).toBe(true);
  });
});
