import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  createPacedTransport,
  type CallTiming,
  type PacedTransportOptions,
} from '../../src/cap/paced-transport.js';
import { onTeardown, testRedisUrl, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** A local HTTP server answering every POST with `handle` (default: 200 and the request body back). */
async function startServer(
  handle: (request: IncomingMessage, response: ServerResponse, body: string) => void = (_q, response, body) =>
    response.end(body),
): Promise<{ origin: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (data: Buffer) => (body += data.toString()));
    request.on('end', () => {
      requests.push(body);
      handle(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTeardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function pacedTransport(overrides: Partial<PacedTransportOptions> = {}) {
  const timings: CallTiming[] = [];
  let lateSlots = 0;
  const transport = createPacedTransport({
    redis: { url: testRedisUrl() },
    pacerKey: uniqueName('paced'),
    pacer: { callsPerSecond: 50 },
    connections: 8,
    onCall: (timing) => timings.push(timing),
    onLateSlot: () => lateSlots++,
    ...overrides,
  });
  onTeardown(() => transport.close());
  return { transport, timings, lateSlots: () => lateSlots };
}

describe('the paced transport (send slots and sockets in their own thread)', () => {
  it('sends each request and returns the status and the whole body', async () => {
    const { origin, requests } = await startServer((_q, response, body) => {
      response.statusCode = body.includes('fail') ? 502 : 200;
      response.end(`echo:${body}`);
    });
    const { transport, timings } = pacedTransport();
    const answers = await Promise.all(
      ['{"a":1}', '{"fail":1}'].map((body) => transport.send({ origin, path: '/q', body, timeoutMs: 2_000 })),
    );
    expect(answers).toEqual([
      { statusCode: 200, text: 'echo:{"a":1}' },
      { statusCode: 502, text: 'echo:{"fail":1}' },
    ]);
    expect(requests.sort()).toEqual(['{"a":1}', '{"fail":1}']);
    expect(timings).toHaveLength(2);
  });

  it('answers every call, in order, while the main thread is blocked, and starts none later than allowed', async () => {
    const { origin } = await startServer();
    const { transport, timings } = pacedTransport();
    await transport.send({ origin, path: '/q', body: 'warm-up', timeoutMs: 5_000 });
    // 40 calls at 50/s; the main thread is blocked for 500 ms while they go out. How few slots that costs is a
    // timing figure, measured by bench/sending-thread.ts; here: every call is answered and timed, and none starts
    // later after its slot than the pacer allows (a later one is given back and retaken).
    const calls = Array.from({ length: 40 }, (_, i) =>
      transport.send({ origin, path: '/q', body: String(i), timeoutMs: 5_000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const blockedUntil = performance.now() + 500;
    while (performance.now() < blockedUntil);
    const answers = await Promise.all(calls);

    expect(answers.map((a) => a.text)).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    expect(timings).toHaveLength(41);
    expect(timings.every((t) => t.latenessMs <= 10)).toBe(true);
  });

  it('fails a call the server does not answer in time as a timeout, and one it refuses as a network error', async () => {
    const { origin } = await startServer(() => undefined);
    const { transport } = pacedTransport();
    await expect(transport.send({ origin, path: '/q', body: '{}', timeoutMs: 200 })).rejects.toMatchObject({
      name: 'TransportError',
      reason: 'timeout',
    });
    // Port 9 on loopback: nothing listens.
    await expect(
      transport.send({ origin: 'http://127.0.0.1:9', path: '/q', body: '{}', timeoutMs: 2_000 }),
    ).rejects.toMatchObject({ reason: 'network', code: 'ECONNREFUSED' });
  });

  it('starts the deadline when the call is sent, not while it waits for its slot', async () => {
    const { origin } = await startServer();
    const { transport, timings } = pacedTransport({ pacer: { callsPerSecond: 2 } });
    // At 2 calls/s the third waits ~1 s for its slot, far longer than its 300 ms deadline.
    const answers = await Promise.all(
      [1, 2, 3].map((i) => transport.send({ origin, path: '/q', body: String(i), timeoutMs: 300 })),
    );
    expect(answers.map((a) => a.text).sort()).toEqual(['1', '2', '3']);
    // A lower bound set by the cap, not a speed: a busy machine can only make the wait longer.
    expect(Math.max(...timings.map((t) => t.waitMs))).toBeGreaterThan(300);
  });

  it('never sends a call aborted while it waits for its slot', async () => {
    const { origin, requests } = await startServer();
    const { transport } = pacedTransport({ pacer: { callsPerSecond: 1 } });
    await transport.send({ origin, path: '/q', body: 'first', timeoutMs: 2_000 });
    const controller = new AbortController();
    const waiting = transport.send({
      origin,
      path: '/q',
      body: 'second',
      timeoutMs: 2_000,
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ reason: 'aborted' });
    // The slot the aborted call waited for has passed (1/s): a call sent after it would have arrived by now.
    const third = await transport.send({ origin, path: '/q', body: 'third', timeoutMs: 2_000 });
    expect(third.text).toBe('third');
    expect(requests).toEqual(['first', 'third']);
  });

  it('pauses every call after a penalty', async () => {
    const { origin } = await startServer();
    const { transport, timings } = pacedTransport({ pacer: { callsPerSecond: 100 } });
    await transport.send({ origin, path: '/q', body: '{}', timeoutMs: 2_000 });
    expect(await transport.penalize(300)).toBeCloseTo(0.9);
    await transport.send({ origin, path: '/q', body: '{}', timeoutMs: 2_000 });
    // A lower bound set by the 300 ms pause (less timer slack): load can only lengthen it.
    expect(timings[1]!.waitMs).toBeGreaterThanOrEqual(280);
  });

  it('fails calls while its thread keeps dying, and restarts it only after a growing pause', async () => {
    const errors: string[] = [];
    const errorsAt: number[] = [];
    // A pacer setting the thread refuses at start-up: every thread it starts dies at once.
    const { transport } = pacedTransport({
      pacer: { callsPerSecond: 0 },
      onError: (message) => {
        errors.push(message);
        errorsAt.push(performance.now());
      },
    });
    await waitFor(() => errors.length === 1, { timeoutMs: 10_000, description: 'the first thread to die' });
    expect(errors[0]).toMatch(/sending thread failed: .*callsPerSecond must be positive/);
    const call = () =>
      transport.send({ origin: 'http://127.0.0.1:9', path: '/q', body: '{}', timeoutMs: 1_000 });
    // Within the first second no thread is started: calls fail at once.
    await expect(call()).rejects.toMatchObject({ reason: 'network', message: /restarting it shortly/ });
    expect(errors).toHaveLength(1);
    // After it, a call starts a new thread, which dies too; the pause before the next one doubles.
    await waitFor(
      async () => {
        const failure = (await call().catch((e: unknown) => e)) as Error;
        return /sending thread failed:/.test(failure.message);
      },
      { timeoutMs: 10_000, description: 'a call that started a new thread' },
    );
    expect(errors).toHaveLength(2);
    expect(errorsAt[1]! - errorsAt[0]!).toBeGreaterThanOrEqual(1_000);
    await expect(call()).rejects.toMatchObject({ message: /restarting it shortly/ });
  });

  it('fails a call still waiting at close as a network error (to be retried, not given up), then refuses calls', async () => {
    const { origin, requests } = await startServer();
    const { transport } = pacedTransport({ pacer: { callsPerSecond: 1 } });
    await transport.send({ origin, path: '/q', body: 'first', timeoutMs: 2_000 });
    // Its rejection may arrive before close() resolves: take it as it comes.
    const waiting = transport
      .send({ origin, path: '/q', body: 'second', timeoutMs: 2_000 })
      .catch((e: unknown) => e);
    await transport.close();
    expect(await waiting).toMatchObject({ name: 'TransportError', reason: 'network' });
    await expect(transport.send({ origin, path: '/q', body: '{}', timeoutMs: 2_000 })).rejects.toMatchObject({
      reason: 'network',
      message: 'transport is closed',
    });
    await expect(transport.penalize(100)).rejects.toMatchObject({ message: 'transport is closed' });
    expect(requests).toEqual(['first']);
  });

  it('lowers the priority of its own thread only, when asked for a nice value (Linux: nice is per thread)', async () => {
    // A value this process does not use otherwise, and a higher one (lower priority), which needs no privilege.
    const nice = 7;
    // Field 19 of a task's stat is its nice value (counted after the command name, which ends with ") ").
    const niceOf = (tid: string): number | undefined => {
      try {
        return Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
      } catch {
        return undefined; // the thread ended meanwhile
      }
    };
    const threadsWithNice = () => readdirSync('/proc/self/task').filter((tid) => niceOf(tid) === nice).length;
    const processNice = getPriority(process.pid);
    expect(threadsWithNice()).toBe(0);
    const refused: string[] = [];
    pacedTransport({ nice, onNiceRefused: (message) => refused.push(message) });
    await waitFor(() => threadsWithNice() === 1, { description: 'the sending thread at nice 7' });
    expect(getPriority(process.pid)).toBe(processNice);
    expect(refused).toEqual([]);
  });
});
