import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConfigReloader } from '../../src/config/reload.js';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createSilentLogger } from '../../src/ops/logger.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { removeTrees, userLines, writeTree } from './config-tree.js';

afterAll(() => removeTrees());

describe('hot reload of a user file rewritten in place', () => {
  it('a 2,000-user file truncated then rewritten publishes no untracked event', async () => {
    const simulator = await startTestSimulator({
      seed: 23,
      population: { size: 2_000, notImportedShare: 0 },
    });
    const app = simulatorApp(simulator);
    const config = testConfig([app], [{ name: 'all', userIds: userIds(2_000) }]);
    const service = await startTestService(config);
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => published().length >= 2_000, { timeoutMs: 30_000, description: 'the snapshots' });

    // The same app and list as files, which the reloader reads on every change.
    const full = userLines(2_000);
    const root = writeTree({
      'presence.yaml': `apps:\n  - name: "${app.name}"\n    sdkAppId: ${app.sdkAppId}\n    endpoint: ${app.endpoint}\n    identifier: administrator\n`,
      'watchlists/vip.yaml': null,
      'watchlists/all.yaml': 'name: all\ninterval: 1s\nuserFiles: [all.txt]\n',
      'watchlists/all.txt': full,
    });
    const events = createFlowEvents();
    const outcomes: string[] = [];
    events.on('configReloaded', ({ outcome }) => outcomes.push(outcome));
    const reloader = createConfigReloader({
      configPath: 'presence.yaml',
      cwd: root,
      env: { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey },
      // The running configuration as read from these files, so that the reloader watches them.
      running: {
        ...config,
        configPath: join(root, 'presence.yaml'),
        watchlistsDir: join(root, 'watchlists'),
      },
      service,
      logger: createSilentLogger(),
      events,
      debounceMs: 20,
      signal: false,
    });
    onTeardown(() => reloader.close());

    // What `cp` or a shell `>` does: truncate, then write in pieces; the watcher reloads at each stage.
    const file = join(root, 'watchlists/all.txt');
    writeFileSync(file, '');
    await waitFor(() => outcomes.length >= 1, { description: 'the reload of the empty file' });
    appendFileSync(file, full.slice(0, full.length / 3));
    await waitFor(() => outcomes.length >= 2, { description: 'the reload of a third of the file' });
    appendFileSync(file, full.slice(full.length / 3));
    await waitFor(() => ['applied', 'unchanged'].includes(outcomes.at(-1)!) && outcomes.length >= 3, {
      description: 'the reload of the whole file',
    });
    await reloader.close();
    // A marker behind anything the reloads could have written: the relay publishes the outbox in order.
    const marker = 'u001999';
    const target = simulator.getUserState(marker)!.state === 'Online' ? 'Offline' : 'Online';
    simulator.setUserState(marker, target);
    await waitFor(() => published().some((e) => e.userId === marker && e.to === target), {
      timeoutMs: 30_000,
      description: 'the marker change',
    });

    expect(published().filter((e) => e.kind === 'untracked')).toEqual([]);
    expect(published().filter((e) => e.kind === 'snapshot')).toHaveLength(2_000);
    expect(outcomes.slice(0, 2)).toEqual(['refused', 'refused']);
  });
});
