import { beforeAll, describe, expect, it } from 'vitest';
import { strictPresenceEventSchema } from '@presence-poller/events';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { collectRecords, type EventCollector } from '../helpers/kafka-events.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { logLines, runCliProcess, startCli, type CliProcess } from './cli-process.js';
import { writeConfigDir, type ConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };
const ids = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `u${String(from + i).padStart(6, '0')}`);
const watchlist = (users: string[]) => `name: alpha\ninterval: 1s\nusers: [${users.join(', ')}]\n`;

/**
 * `presence-poller run` end to end as an operator runs it: a child process reading a config directory, polling an
 * in-process simulator, publishing to the test Kafka; then hot reload, the other commands against it, and SIGTERM.
 * The tests run in order and share the one service process.
 */
describe('presence-poller run', () => {
  let simulator: Simulator;
  let config: ConfigDir;
  let service: CliProcess;
  let opsUrl: string;
  let collector: EventCollector;
  const events = () => collector.events(config.topics.transitions);
  const eventsOf = (userId: string, kind: string) =>
    events().filter((e) => e.userId === userId && e.kind === kind);
  const metric = async (name: string) => {
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    return Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 21, population: { size: 50, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
    config = writeConfigDir(simulator.url, { alpha: watchlist(ids(0, 5)) });
    service = startCli(['run', '--config', config.configPath, '--shutdown-timeout', '20s'], KEY_ENV);
    const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
    opsUrl = (JSON.parse(line) as { http: string }).http;
    collector = await collectRecords(testKafka(), [config.topics.transitions]);
  });

  it('logs one startup line with apps, watchlists with user counts and roles, and no secret', () => {
    const startup = logLines(service.stdout()).find((line) =>
      String(line.msg).startsWith('presence-poller running'),
    );
    expect(startup).toMatchObject({
      apps: [{ name: 'demo', sdkAppId: 1_400_000_000 }],
      watchlists: [{ name: 'alpha', users: 5, intervalMs: 1_000 }],
      roles: ['scheduler', 'poller', 'relay'],
    });
    expect(service.stdout()).not.toContain(DEFAULT_SIMULATOR_APP.secretKey);
  });

  it('publishes a snapshot event for every member to Kafka', async () => {
    await waitFor(() => ids(0, 5).every((id) => eventsOf(id, 'snapshot').length === 1), {
      timeoutMs: 30_000,
      description: 'a snapshot per member',
    });
    for (const event of events()) expect(strictPresenceEventSchema.safeParse(event).success).toBe(true);
    expect(eventsOf('u000003', 'snapshot')[0]!.to).toBe(simulator.getUserState('u000003')!.state);
  });

  it('serves /metrics, /healthz and /readyz', async () => {
    await waitFor(
      async () => (await metric('presence_tencent_calls_total{sdk_app_id="1400000000",outcome="ok"}')) > 0,
      {
        description: 'call counter in /metrics',
      },
    );
    expect(await metric('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      checks: {
        'credentials:demo': { ok: true },
        'scheduler:demo': { ok: true },
        'poller:demo': { ok: true },
        'state:demo': { ok: true },
        'relay:demo': { ok: true },
      },
      dependencies: { 'redis:demo': 'ready', kafka: expect.any(String) },
    });
  });

  it('hot-reloads an edited watchlist: snapshot for added users, untracked for removed ones', async () => {
    config.writeWatchlist('alpha', watchlist(ids(1, 7)));
    await waitFor(() => eventsOf('u000000', 'untracked').length === 1, {
      timeoutMs: 30_000,
      description: 'untracked for the removed user',
    });
    await waitFor(() => ['u000005', 'u000006'].every((id) => eventsOf(id, 'snapshot').length === 1), {
      timeoutMs: 30_000,
      description: 'snapshots for the added users',
    });
    expect(
      logLines(service.stdout()).some((line) => line.msg === 'config reloaded: watchlists applied'),
    ).toBe(true);
    expect(await metric('presence_config_reloads_total{outcome="applied"}')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a broken edit with file:line, keeps the running set and keeps running', async () => {
    config.writeWatchlist('alpha', 'name: alpha\ninterval: soon\nusers: [u000001]\n');
    await service.waitForOutput(
      /config reload rejected, the running watchlists stay:\\n\S*alpha\.yaml:2:11/,
      30_000,
    );
    expect(await metric('presence_config_reloads_total{outcome="rejected"}')).toBe(1);
    // Still polling the six users of the last good set: a change to one of them is published.
    const current = simulator.getUserState('u000006')!.state;
    simulator.setUserState('u000006', current === 'Online' ? 'Offline' : 'Online');
    await waitFor(() => eventsOf('u000006', 'transition').length === 1, {
      timeoutMs: 30_000,
      description: 'a transition for a member of the last good set',
    });
    expect(eventsOf('u000002', 'untracked')).toEqual([]);
    expect(service.child.exitCode).toBeNull();

    // Fixing the file is one more reload, which finds the running set unchanged.
    config.writeWatchlist('alpha', watchlist(ids(1, 7)));
    await waitFor(
      () => logLines(service.stdout()).some((line) => line.msg === 'config reloaded: watchlists unchanged'),
      { timeoutMs: 30_000, description: 'the reload of the fixed file' },
    );
  });

  it('tail --max-events prints events, one line each, and exits 0', async () => {
    const all = await runCliProcess(
      ['tail', '--from-beginning', '--max-events', '3', '--config', config.configPath],
      KEY_ENV,
    );
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines)
      expect(line).toMatch(/^\S+Z {2}u\d{6} {2}\S+ → \S+ {2}(snapshot|transition|untracked) {2}\[/);

    const filtered = await runCliProcess(
      [
        'tail',
        '--from-beginning',
        '--user',
        'u000000',
        '--max-events',
        '2',
        '--json',
        '--config',
        config.configPath,
      ],
      KEY_ENV,
    );
    expect(filtered.code).toBe(0);
    const tailed = filtered.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { userId: string; kind: string });
    expect(tailed.map((e) => [e.userId, e.kind])).toEqual([
      ['u000000', 'snapshot'],
      ['u000000', 'untracked'],
    ]);
  });

  it('snapshot --watchlist re-emits the current state of every member through the relay', async () => {
    const before = events().length;
    const result = await runCliProcess(
      ['snapshot', '--watchlist', 'alpha', '--config', config.configPath],
      KEY_ENV,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('app demo: 6 snapshot events for 6 members of watchlist "alpha"');
    await waitFor(() => ids(1, 7).every((id) => eventsOf(id, 'snapshot').length === 2), {
      timeoutMs: 30_000,
      description: 're-emitted snapshots in Kafka',
    });
    const fresh = events()
      .slice(before)
      .filter((e) => e.kind === 'snapshot');
    for (const event of fresh) expect(event.to).toBe(simulator.getUserState(event.userId)!.state);
  });

  it('reloads on SIGHUP', async () => {
    service.signal('SIGHUP');
    await waitFor(() => logLines(service.stdout()).some((line) => line.trigger === 'SIGHUP'), {
      timeoutMs: 30_000,
      description: 'a reload triggered by SIGHUP',
    });
    expect(service.child.exitCode).toBeNull();
  });

  it('stops cleanly on SIGTERM with exit code 0 within the deadline', async () => {
    const startedAt = Date.now();
    service.signal('SIGTERM');
    const result = await service.exited;
    expect(result.code).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    expect(logLines(result.stdout).some((line) => line.msg === 'stopped cleanly')).toBe(true);
  });
});
