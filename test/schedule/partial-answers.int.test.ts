import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createTencentClient, type Transport } from '../../src/tencent/index.js';
import { clientOptionsOf } from '../../src/roles/poller.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import { waitFor } from '../helpers/wait-for.js';

/** Sends through `transport` and reports `victim` in a state this product does not know, every time. */
function busyVictim(transport: Transport, victim: string): Transport {
  const entry = new RegExp(`("To_Account":"${victim}","(?:Status|State)":")[A-Za-z]+"`);
  return {
    ...transport,
    send: async (request) => {
      const response = await transport.send(request);
      return { ...response, text: response.text.replace(entry, '$1Busy"') };
    },
  };
}

describe('a bad entry in an answer', () => {
  it('is quarantined, counted and logged once, and every other user of its chunk is observed', async () => {
    const victim = 'u000003';
    let logText = '';
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logText += chunk.toString();
          done();
        },
      }),
    });
    const metrics = createMetrics();
    const run = await startObservedPipeline({
      seed: 19,
      users: 600,
      service: {
        logger,
        metrics,
        createClient: (app, transport) =>
          createTencentClient({ ...clientOptionsOf(app), transport: busyVictim(transport, victim) }),
      },
    });
    const others = run.users.filter((id) => id !== victim);
    await waitFor(() => run.published().length >= others.length, {
      timeoutMs: 30_000,
      description: 'a snapshot for every other user',
    });

    // Changes in the victim's chunk (the first 500 users) and in the other one are published as usual.
    const changed = run.changeUsers(0, 7).filter((id) => id !== victim);
    await waitFor(() => run.publishedCurrentStates(changed), {
      timeoutMs: 30_000,
      description: 'the changes of the other users',
    });
    await run.waitForCalls(4, 'a few more sweeps with the bad entry');

    expect(run.published().filter((e) => e.userId === victim)).toEqual([]);
    const quarantined = (
      await metrics.registry.getSingleMetric('presence_answer_entries_quarantined_total')?.get()
    )?.values.find((v) => v.labels.kind === 'unknown_state')?.value;
    expect(quarantined).toBeGreaterThanOrEqual(3);
    const lines = logText.split('\n').filter((line) => line.includes('answer entry set aside'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ userId: victim, kind: 'unknown_state' });
  });
});
