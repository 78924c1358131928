import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/ops/logger.js';
import { installShutdown, type ShutdownStep } from '../../src/ops/shutdown.js';
import { waitFor } from '../helpers/wait-for.js';

function setup(steps: ShutdownStep[], deadlineMs = 5_000) {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const handle = installShutdown({
    logger: createSilentLogger(),
    steps,
    deadlineMs,
    emitter,
    exit: (code) => void exits.push(code),
  });
  return { emitter, exits, handle };
}

describe('graceful shutdown', () => {
  it('runs every step in order on SIGTERM and ends with code 0', async () => {
    const order: string[] = [];
    const step = (name: string) => ({ name, run: async () => void order.push(name) });
    const { emitter, exits, handle } = setup([step('http'), step('service')]);
    emitter.emit('SIGTERM', 'SIGTERM');
    expect(await handle.done).toBe(0);
    expect(order).toEqual(['http', 'service']);
    expect(exits).toEqual([]);
    handle.dispose();
    expect(emitter.listenerCount('SIGTERM')).toBe(0);
  });

  it('runs the remaining steps after a failing one and ends with code 1', async () => {
    const ran: string[] = [];
    const { handle, exits } = setup([
      { name: 'http', run: () => Promise.reject(new Error('close failed')) },
      { name: 'service', run: async () => void ran.push('service') },
    ]);
    expect(await handle.shutdown('test')).toBe(1);
    expect(ran).toEqual(['service']);
    expect(exits).toEqual([]);
  });

  it('exits 1 when the steps miss the deadline', async () => {
    const { emitter, exits, handle } = setup(
      [{ name: 'service', run: () => new Promise(() => undefined) }],
      50,
    );
    emitter.emit('SIGINT', 'SIGINT');
    await waitFor(() => exits.length > 0, { timeoutMs: 2_000, description: 'the deadline exit' });
    expect(exits).toEqual([1]);
    handle.dispose();
  });

  it('exits at once with 1 on a second signal', async () => {
    let release!: () => void;
    const { emitter, exits, handle } = setup([
      { name: 'service', run: () => new Promise<void>((resolve) => (release = resolve)) },
    ]);
    emitter.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([]);
    emitter.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([1]);
    release();
    expect(await handle.done).toBe(0);
    handle.dispose();
  });

  it('starts once however often it is asked', async () => {
    let runs = 0;
    const { handle } = setup([{ name: 'service', run: async () => void runs++ }]);
    const [a, b] = await Promise.all([handle.shutdown('a'), handle.shutdown('b')]);
    expect([a, b, runs]).toEqual([0, 0, 1]);
    handle.dispose();
  });
});
