/**
 * The simulator's front-door thread (src/simulator/front-door.ts): calls are answered as in process, the call cap
 * holds, faults pass through, and arrivals are stamped when they arrive even while the main thread is stalled.
 */
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFrontDoor } from '../../src/simulator/front-door.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createTencentClient } from '../../src/tencent/client.js';
import { generateUserSig } from '../../src/tencent/usersig.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const APP = {
  sdkAppId: 1_400_000_021,
  secretKey: 'front-door-app-secret-0123456789abcdef',
  admins: ['administrator'],
};

function clientOf(sim: Simulator): ReturnType<typeof createTencentClient> {
  return createTencentClient({
    sdkAppId: APP.sdkAppId,
    identifier: 'administrator',
    secretKey: APP.secretKey,
    endpoint: sim.url,
  });
}

describe('simulator front door in a thread', () => {
  let threaded: Simulator;
  let inProcess: Simulator;
  const options = { apps: [{ ...APP, callsPerSecond: 10_000 }], population: { size: 2_000 }, seed: 5 };

  beforeAll(async () => {
    threaded = await startSimulator({ ...options, frontDoorThread: true });
    inProcess = await startSimulator(options);
  });
  afterAll(async () => {
    await threaded?.close();
    await inProcess?.close();
  });

  it('answers exactly as the simulator in process does', async () => {
    const ids = threaded.allUserIds().slice(0, 500);
    const [a, b] = [clientOf(threaded), clientOf(inProcess)];
    try {
      for (const detail of [false, true]) {
        const [fromThread, fromProcess] = await Promise.all([
          a.queryOnlineStatus(ids, { detail }),
          b.queryOnlineStatus(ids, { detail }),
        ]);
        expect(fromThread).toEqual(fromProcess);
        expect(fromThread.results.length).toBeGreaterThan(400);
      }
      // A refused call too: an identifier that is not an admin.
      const res = await fetch(
        `${threaded.url}/v4/openim/query_online_status?sdkappid=${APP.sdkAppId}&identifier=guest&usersig=${generateUserSig(
          { sdkAppId: APP.sdkAppId, identifier: 'guest', secretKey: APP.secretKey, expireSec: 3600 },
        )}&random=1&contenttype=json`,
        { method: 'POST', body: JSON.stringify({ To_Account: ['u000001'] }) },
      );
      expect(((await res.json()) as { ErrorCode: number }).ErrorCode).toBe(90009);
      expect(threaded.stats().byCode).toMatchObject({ '0': 2, '90009': 1 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('passes faults through: a reset connection, a 502, and a held call released on close', async () => {
    const sim = await startSimulator({ apps: [APP], population: { size: 10 }, frontDoorThread: true });
    const client = clientOf(sim);
    try {
      sim.injectFaults('reset', 'http502');
      await expect(client.queryOnlineStatus(['u000001'], { detail: false })).rejects.toMatchObject({
        kind: 'network',
      });
      await expect(client.queryOnlineStatus(['u000001'], { detail: false })).rejects.toMatchObject({
        kind: 'http',
      });
      sim.injectFaults('timeout');
      const pending = client.queryOnlineStatus(['u000001'], { detail: false }).catch((e: unknown) => e);
      await waitFor(() => sim.stats().byCode.hang === 1, { timeoutMs: 5_000, description: 'held call' });
      await sim.close();
      expect(await pending).toMatchObject({ kind: 'network', retriable: true });
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('fails its start when the port is taken, and can start again once it is free', async () => {
    const port = threaded.port;
    await expect(
      startSimulator({ apps: [APP], population: { size: 10 }, frontDoorThread: true, port }),
    ).rejects.toThrow(/EADDRINUSE/);
    const other = await startSimulator({ apps: [APP], population: { size: 10 }, frontDoorThread: true });
    expect(other.port).not.toBe(port);
    await other.close();
  });

  it('holds the call cap per sliding second', async () => {
    const sim = await startSimulator({
      apps: [{ ...APP, callsPerSecond: 3 }],
      population: { size: 10 },
      frontDoorThread: true,
    });
    const client = clientOf(sim);
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, () => client.queryOnlineStatus(['u000001'], { detail: false })),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(sim.stats().apps[APP.sdkAppId]).toEqual({
        admitted: 3,
        rejectedOverCap: 2,
        maxCallsInAnyWindow: 3,
      });
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('stamps calls when they arrive, not when a stalled main thread gets to them', async () => {
    // Two bursts of `cap` calls 1.8 s apart, sent from another thread; the first arrives while this (the
    // simulator's main) thread is blocked for 1.5 s. Stamped on arrival, the bursts are 1.8 s apart and both fit
    // the cap. Stamped when the main thread resumed (the simulator before its front door), the first burst would
    // sit 0.4 s before the second, in the same window, and the second burst would be rejected.
    const cap = 20;
    const sim = await startSimulator({
      apps: [{ ...APP, callsPerSecond: cap }],
      population: { size: 10 },
      frontDoorThread: true,
    });
    const sig = generateUserSig({
      sdkAppId: APP.sdkAppId,
      identifier: 'administrator',
      secretKey: APP.secretKey,
      expireSec: 3600,
    });
    const url = `${sim.url}/v4/openim/query_online_status?sdkappid=${APP.sdkAppId}&identifier=administrator&usersig=${sig}&random=7&contenttype=json`;
    const sender = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { url, count } = workerData;
      const burst = () => Promise.all(Array.from({ length: count }, () =>
        fetch(url, { method: 'POST', body: '{"To_Account":["u000001"]}' }).then((r) => r.json()).then((j) => j.ErrorCode)));
      parentPort.once('message', async () => {
        await new Promise((r) => setTimeout(r, 100));
        const first = burst();
        await new Promise((r) => setTimeout(r, 1800));
        const second = await burst();
        parentPort.postMessage({ first: await first, second });
      });`,
      { eval: true, workerData: { url, count: cap } },
    );
    try {
      const codes = new Promise<{ first: number[]; second: number[] }>((resolve, reject) => {
        sender.once('message', resolve);
        sender.once('error', reject);
      });
      sender.postMessage('go');
      const blockedUntil = Date.now() + 1_500;
      while (Date.now() < blockedUntil) {
        // The simulator's main thread is stalled, as by a long garbage collection.
      }
      const { first, second } = await codes;
      expect(first).toEqual(Array(cap).fill(0));
      expect(second).toEqual(Array(cap).fill(0));
      expect(sim.stats().apps[APP.sdkAppId]).toMatchObject({ admitted: 2 * cap, rejectedOverCap: 0 });
    } finally {
      await sender.terminate();
      await sim.close();
    }
  });
});

describe('a front-door thread that dies after it started', () => {
  /** A front door whose calls are answered `ok`, with what it reported since. */
  async function okDoor(maxRestartsPerMinute?: number) {
    const reported = { restarted: [] as string[], failed: [] as string[] };
    const door = await openFrontDoor(
      { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 1_000 },
      // `/crash`: an answer the thread cannot write (no such HTTP status) throws there, uncaught: the thread dies.
      (call, reply) => reply.send(call.url === '/crash' ? 1_000 : 200, 'text/plain', 'ok'),
      {
        restarted: (reason) => reported.restarted.push(reason),
        failed: (message) => reported.failed.push(message),
      },
      maxRestartsPerMinute,
    );
    onTeardown(() => door.close());
    const call = async (path = '/') =>
      (await fetch(`http://127.0.0.1:${door.address.port}${path}`, { method: 'POST' })).text();
    return { door, reported, call };
  }

  it('is replaced by a thread listening on the same port: counted, reported, and calls succeed again', async () => {
    const { door, reported, call } = await okDoor();
    expect(await call()).toBe('ok');
    const first = door.thread;
    await first.terminate();
    await waitFor(() => reported.restarted.length === 1, { timeoutMs: 15_000, description: 'the restart' });
    expect(door.thread).not.toBe(first);
    expect(door.restarts).toBe(1);
    expect(reported.restarted[0]).toMatch(/front-door thread exited/);
    expect(await call()).toBe('ok');
    // Again: each death is replaced.
    await door.thread.terminate();
    await waitFor(() => door.restarts === 2, { timeoutMs: 15_000, description: 'the second restart' });
    expect(await call()).toBe('ok');
    expect(reported.failed).toEqual([]);
  });

  it('is replaced after an uncaught error in the thread, and the call that killed it fails alone', async () => {
    const { door, reported, call } = await okDoor();
    await expect(call('/crash')).rejects.toThrow();
    await waitFor(() => door.restarts === 1, { timeoutMs: 15_000, description: 'the restart' });
    expect(reported.restarted[0]).toMatch(/front-door thread failed: .*status code/i);
    expect(await call()).toBe('ok');
  });

  it('gives up loudly when threads keep dying', async () => {
    const { door, reported, call } = await okDoor(1);
    await door.thread.terminate();
    await waitFor(() => door.restarts === 1, { timeoutMs: 15_000, description: 'the restart' });
    await door.thread.terminate();
    await waitFor(() => reported.failed.length === 1, { timeoutMs: 15_000, description: 'the failure' });
    expect(reported.failed[0]).toMatch(/died 2 times within a minute/);
    await expect(call()).rejects.toThrow();
  });

  it('gives up loudly when a new thread cannot listen on the port again', async () => {
    const { door, reported } = await okDoor();
    const port = door.address.port;
    await door.thread.terminate();
    // The port is taken before the new thread (which loads its module first) listens.
    const squatter = createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(port, '127.0.0.1', resolve);
    });
    onTeardown(() => new Promise((resolve) => squatter.close(resolve)));
    await waitFor(() => reported.failed.length === 1, { timeoutMs: 15_000, description: 'the failure' });
    expect(reported.failed[0]).toMatch(/could not listen again: .*EADDRINUSE/);
    expect(door.restarts).toBe(0);
  });
});
