import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { appKeys } from '../../src/redis/keys.js';
import { POLL_QUEUE } from '../../src/schedule/jobs.js';
import type { ChunkJobOutcome } from '../../src/schedule/chunk-job.js';
import { createTencentClient, type Transport } from '../../src/tencent/index.js';
import { clientOptionsOf } from '../../src/roles/poller.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const USERS = 2_000;
const CHUNKS = USERS / 500;

/** The chunk a call asks for: test users are u000000, u000001... in chunk order, 500 to a chunk. */
function chunkOf(body: string): number {
  const first = (JSON.parse(body) as { To_Account: string[] }).To_Account[0]!;
  return Math.floor(Number(first.slice(1)) / 500);
}

describe('several chunks per job', () => {
  it('calls and diffs each chunk of a job; a chunk failing mid-job is retried alone, no event lost or repeated', async () => {
    let failNextCallOf: number | undefined;
    const failing = (transport: Transport): Transport => ({
      ...transport,
      send: async (request) => {
        if (chunkOf(request.body) === failNextCallOf) {
          failNextCallOf = undefined;
          return { statusCode: 502, text: 'bad gateway' };
        }
        return transport.send(request);
      },
    });
    const run = await startObservedPipeline({
      seed: 31,
      users: USERS,
      service: {
        chunksPerJob: CHUNKS,
        createClient: (app, transport) =>
          createTencentClient({ ...clientOptionsOf(app), transport: failing(transport) }),
      },
    });
    const app = run.config.apps[0]!;
    const connection = new Redis(run.config.redis.url, { maxRetriesPerRequest: null });
    const queueEvents = new QueueEvents(POLL_QUEUE, {
      connection,
      prefix: appKeys(run.config.redis.prefix, app.sdkAppId).bullPrefix,
    });
    onTeardown(async () => {
      await queueEvents.close();
      connection.disconnect();
    });
    const outcomes: ChunkJobOutcome[] = [];
    queueEvents.on('completed', ({ returnvalue }) => {
      outcomes.push(
        (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkJobOutcome,
      );
    });
    await queueEvents.waitUntilReady();
    await run.waitForSnapshots();
    await waitFor(() => outcomes.length > 0, { timeoutMs: 10_000, description: 'a completed chunk job' });
    // One job per sweep: its four chunks were each called and diffed.
    expect(outcomes[0]).toMatchObject({ observed: CHUNKS, obsolete: 0, done: 0 });

    // A change in every chunk, then the next call of chunk 2 fails: its job fails after the other three are
    // through and is retried for chunk 2 alone.
    failNextCallOf = 2;
    const changed = run.changeUsers(0, 9);
    expect(new Set(changed.map((id) => Math.floor(Number(id.slice(1)) / 500)))).toEqual(
      new Set([0, 1, 2, 3]),
    );
    await waitFor(() => failNextCallOf === undefined, { timeoutMs: 10_000, description: 'the failed call' });
    await waitFor(() => outcomes.some((outcome) => outcome.done > 0), {
      timeoutMs: 10_000,
      description: 'the retried job',
    });
    expect(outcomes.find((outcome) => outcome.done > 0)).toMatchObject({ observed: 1, done: CHUNKS - 1 });

    await waitFor(() => run.published().length >= run.states.size + changed.length, {
      timeoutMs: 30_000,
      description: 'every change',
    });
    await run.waitForCalls(2 * CHUNKS, 'two more sweeps');
    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(run.published()).toHaveLength(run.states.size + changed.length);
  });
});
