import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createLogger } from '../../src/ops/logger.js';
import { startKeptWorker, type KeptWorkerOptions } from '../../src/schedule/kept-worker.js';
import { captureLogLines } from '../ops/log-lines.js';
import { onTeardown, testRedis, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

interface Data {
  n: number;
}

/** A queue of its own on the test Redis, and what a kept worker on it needs. */
function setting(overrides: Partial<KeptWorkerOptions<Data, number>> = {}) {
  const prefix = uniqueName('kept');
  const queue = new Queue<Data>('poll', { connection: testRedis(), prefix });
  onTeardown(() => queue.close());
  const events = createFlowEvents();
  const replaced: string[] = [];
  events.on('workerReplaced', ({ queue: name }) => replaced.push(name));
  const log = captureLogLines();
  const done: number[] = [];
  const options: KeptWorkerOptions<Data, number> = {
    app: '1400000000',
    queue,
    processor: async (job: Job<Data>) => {
      done.push(job.data.n);
      return job.data.n;
    },
    workerOptions: { connection: testRedis({ maxRetriesPerRequest: null }), prefix, concurrency: 2 },
    onError: () => undefined,
    logger: createLogger({ destination: log.stream }),
    events,
    checkIntervalMs: 100,
    stuckAfterMs: 1_000,
    closeTimeoutMs: 1_000,
    ...overrides,
  };
  return { queue, options, events, replaced, log, done };
}

describe('kept worker', () => {
  it('replaces a worker that takes no job while jobs are ready, and the new one takes them', async () => {
    let built = 0;
    const { queue, options, replaced, log, done } = setting({
      // The first worker never fetches (as one whose fetch loop waits forever), yet is a real worker.
      createWorker: (processor, opts) =>
        new Worker<Data, number>('poll', processor, { ...opts, autorun: built++ > 0 }),
    });
    const kept = startKeptWorker(options);
    onTeardown(() => kept.close());
    const first = kept.current;
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'chunk', data: { n } })));

    await waitFor(() => done.length === 3, {
      timeoutMs: 10_000,
      description: 'the jobs done by the new worker',
    });
    expect(replaced).toEqual(['poll']);
    expect(kept.current).not.toBe(first);
    expect(first.closing).toBeTruthy();
    expect(log.lines().map((line) => line.msg)).toContain(
      'a BullMQ worker took no job while jobs were ready: replaced by a new one',
    );
  });

  it('keeps a worker that is busy with every slot, and one whose queue is rate limited', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const busy = setting({
      processor: async (job) => {
        await held;
        return job.data.n;
      },
    });
    const kept = startKeptWorker(busy.options);
    onTeardown(() => kept.close());
    await busy.queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'chunk', data: { n } })));
    await waitFor(async () => (await busy.queue.getActiveCount()) === 2, { description: 'both slots busy' });

    // A worker that takes nothing, on a queue paused by a rate limit (as a chunk job does on Tencent's): not stuck.
    const limited = setting({
      createWorker: (processor, opts) =>
        new Worker<Data, number>('poll', processor, { ...opts, autorun: false }),
    });
    const idle = startKeptWorker(limited.options);
    onTeardown(() => idle.close());
    await limited.queue.rateLimit(60_000);
    await limited.queue.add('chunk', { n: 1 });

    // Three times the limit with ready jobs on both queues.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await busy.queue.getWaitingCount()).toBe(2);
    expect(await limited.queue.getWaitingCount()).toBe(1);
    expect([busy.replaced, limited.replaced]).toEqual([[], []]);
    release();
    await waitFor(async () => (await busy.queue.getCompletedCount()) === 4, {
      description: 'the held jobs done',
    });
  });

  it('bounds close: a worker still holding a job after the timeout is disconnected', async () => {
    // A job that never returns: BullMQ's own close would wait for it forever.
    const { queue, options, log } = setting({ processor: () => new Promise<number>(() => undefined) });
    const kept = startKeptWorker(options);
    await queue.add('chunk', { n: 1 });
    await waitFor(async () => (await queue.getActiveCount()) === 1, { description: 'the job taken' });
    const startedAt = Date.now();
    await kept.close();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    expect(log.lines().map((line) => line.msg)).toContain(
      'a BullMQ worker did not close in time: its connections are dropped (a job it still held runs again elsewhere)',
    );
  });
});
