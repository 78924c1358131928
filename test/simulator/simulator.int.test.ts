import { Pool } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createTencentClient } from '../../src/tencent/client.js';
import { generateUserSig } from '../../src/tencent/usersig.js';
import { waitFor } from '../helpers/wait-for.js';

const APP = {
  sdkAppId: 1_400_000_011,
  secretKey: 'sim-int-app-a-secret-0123456789abcdef',
  admins: ['administrator'],
};
const OTHER = {
  sdkAppId: 1_400_000_012,
  secretKey: 'sim-int-app-b-secret-fedcba9876543210',
  admins: ['root'],
};
const DAY_S = 86_400;

let sim: Simulator;
let pool: Pool;

beforeAll(async () => {
  sim = await startSimulator({
    apps: [
      { ...APP, callsPerSecond: 10_000 },
      { ...OTHER, callsPerSecond: 10_000 },
    ],
    population: { size: 1_000, notImportedShare: 0.05 },
  });
  pool = new Pool(sim.url, { connections: 8 });
});
afterAll(async () => {
  await pool.close();
  await sim.close();
});
beforeEach(() => sim.clearFaults());

function sig(
  overrides: { sdkAppId?: number; identifier?: string; secretKey?: string; timeSec?: number } = {},
): string {
  return generateUserSig({
    sdkAppId: overrides.sdkAppId ?? APP.sdkAppId,
    identifier: overrides.identifier ?? 'administrator',
    secretKey: overrides.secretKey ?? APP.secretKey,
    expireSec: DAY_S,
    timeSec: overrides.timeSec ?? Math.floor(Date.now() / 1000),
  });
}

interface RawCall {
  path?: string;
  method?: string;
  query?: Record<string, string | undefined>;
  body?: string;
}

async function raw(call: RawCall): Promise<{ status: number; json: Record<string, unknown> }> {
  const query: Record<string, string | undefined> = {
    sdkappid: String(APP.sdkAppId),
    identifier: 'administrator',
    usersig: sig(),
    random: '12345',
    contenttype: 'json',
    ...call.query,
  };
  const search = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`)
    .join('&');
  const method = call.method ?? 'POST';
  const res = await pool.request({
    path: `${call.path ?? '/v4/openim/query_online_status'}?${search}`,
    method: method as 'POST',
    ...(method === 'POST' ? { body: call.body ?? JSON.stringify({ To_Account: ['u000001'] }) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown> };
}

describe('simulator: request validation (raw HTTP)', () => {
  const many = JSON.stringify({
    To_Account: Array.from({ length: 501 }, (_, i) => `u${String(i).padStart(6, '0')}`),
  });
  it.each<[string, () => RawCall, number]>([
    ['a wrong path', () => ({ path: '/v4/openim/query_online_statuses' }), 60009],
    ['GET', () => ({ method: 'GET' }), 60002],
    ['no sdkappid', () => ({ query: { sdkappid: undefined } }), 60012],
    ['a non-numeric sdkappid', () => ({ query: { sdkappid: 'abc' } }), 60006],
    ['an unknown sdkappid', () => ({ query: { sdkappid: '1400999999' } }), 70020],
    ['no identifier', () => ({ query: { identifier: undefined } }), 60004],
    ['no usersig', () => ({ query: { usersig: undefined } }), 70002],
    ['a non-numeric random', () => ({ query: { random: 'x' } }), 60002],
    ['a random above uint32', () => ({ query: { random: '4294967296' } }), 60002],
    ['contenttype xml', () => ({ query: { contenttype: 'xml' } }), 60002],
    ['a garbage usersig', () => ({ query: { usersig: 'not-a-sig' } }), 70003],
    [
      'a usersig made with a wrong key',
      () => ({ query: { usersig: sig({ secretKey: 'some-other-key-123456' }) } }),
      70005,
    ],
    [
      "a usersig made with another app's key",
      () => ({ query: { usersig: sig({ secretKey: OTHER.secretKey }) } }),
      70009,
    ],
    ['a usersig for another identifier', () => ({ query: { usersig: sig({ identifier: 'root' }) } }), 70013],
    ['a usersig for another app', () => ({ query: { usersig: sig({ sdkAppId: OTHER.sdkAppId }) } }), 70014],
    [
      'an expired usersig',
      () => ({ query: { usersig: sig({ timeSec: Math.floor(Date.now() / 1000) - 2 * DAY_S }) } }),
      70001,
    ],
    [
      'a valid usersig of a non-admin',
      () => ({ query: { identifier: 'bob', usersig: sig({ identifier: 'bob' }) } }),
      90009,
    ],
    ['a body that is not JSON', () => ({ body: '{"To_Account":["u1"],}' }), 90001],
    ['a JSON array body', () => ({ body: '["u1"]' }), 90001],
    ['no To_Account', () => ({ body: '{"IsNeedDetail":1}' }), 90001],
    ['an empty To_Account', () => ({ body: '{"To_Account":[]}' }), 90001],
    ['a string To_Account', () => ({ body: '{"To_Account":"u000001"}' }), 90001],
    ['a non-string To_Account element', () => ({ body: '{"To_Account":["u000001", 7]}' }), 90003],
    ['501 accounts', () => ({ body: many }), 90011],
    ['IsNeedDetail 2', () => ({ body: '{"To_Account":["u000001"],"IsNeedDetail":2}' }), 90001],
  ])('answers %s with HTTP 200, FAIL and ErrorCode %i', async (_label, call, errorCode) => {
    const { status, json } = await raw(call());
    expect(status).toBe(200);
    expect(json).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: errorCode });
    expect(typeof json.ErrorInfo).toBe('string');
  });

  it('accepts the legacy path /v4/openim/querystate and 500 accounts', async () => {
    const ids = sim.allUserIds().slice(0, 500);
    const { json } = await raw({
      path: '/v4/openim/querystate',
      body: JSON.stringify({ To_Account: ids, IsNeedDetail: 0 }),
    });
    expect(json).toMatchObject({ ActionStatus: 'OK', ErrorCode: 0 });
    const answered = (json.QueryResult as unknown[]).length + (json.ErrorList as unknown[]).length;
    expect(answered).toBe(500);
  });

  it('counts every call and its outcome', async () => {
    sim.resetStats();
    await raw({});
    await raw({ query: { usersig: 'garbage' } });
    await raw({ query: { sdkappid: undefined } });
    expect(sim.stats()).toMatchObject({
      calls: 3,
      admitted: 2,
      rejectedOverCap: 0,
      byCode: { '0': 1, '70003': 1, '60012': 1 },
    });
  });
});

describe('simulator: behaviour', () => {
  it('applies configured latency to answers', async () => {
    sim.setLatency({ minMs: 120, maxMs: 150 });
    try {
      const started = performance.now();
      await raw({});
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    } finally {
      sim.setLatency({ minMs: 0, maxMs: 0 });
    }
  });

  it('counts injected faults and answers normally after the queue drains', async () => {
    sim.resetStats();
    sim.injectFaults('http502', { kind: 'error-code', errorCode: 70500 });
    const first = await pool.request({
      path: `/v4/openim/query_online_status?sdkappid=${APP.sdkAppId}&identifier=administrator&usersig=${sig()}&random=1&contenttype=json`,
      method: 'POST',
      body: '{"To_Account":["u000001"]}',
    });
    expect(first.statusCode).toBe(502);
    await first.body.dump();
    expect((await raw({})).json).toMatchObject({ ErrorCode: 70500 });
    expect((await raw({})).json).toMatchObject({ ActionStatus: 'OK' });
    expect(sim.stats()).toMatchObject({ faultsInjected: 2, byCode: { http502: 1, '70500': 1, '0': 1 } });
  });

  it('keeps a separate call window per app', async () => {
    const twoApps = await startSimulator({
      apps: [
        { ...APP, callsPerSecond: 3 },
        { ...OTHER, callsPerSecond: 2 },
      ],
      population: { size: 10 },
    });
    const clients = [
      createTencentClient({
        sdkAppId: APP.sdkAppId,
        identifier: 'administrator',
        secretKey: APP.secretKey,
        endpoint: twoApps.url,
      }),
      createTencentClient({
        sdkAppId: OTHER.sdkAppId,
        identifier: 'root',
        secretKey: OTHER.secretKey,
        endpoint: twoApps.url,
      }),
    ];
    try {
      const burst = (i: number) =>
        Promise.allSettled(
          Array.from({ length: 5 }, () => clients[i]!.queryOnlineStatus(['u000001'], { detail: false })),
        );
      const [a, b] = await Promise.all([burst(0), burst(1)]);
      expect(a.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(b.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
      expect(twoApps.stats().apps).toEqual({
        [APP.sdkAppId]: { admitted: 3, rejectedOverCap: 2, maxCallsInAnyWindow: 3 },
        [OTHER.sdkAppId]: { admitted: 2, rejectedOverCap: 3, maxCallsInAnyWindow: 2 },
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await twoApps.close();
    }
  });

  it('churns users over time and its ground-truth log agrees with what the API answers', async () => {
    const churning = await startSimulator({
      apps: [{ ...APP, callsPerSecond: 1_000 }],
      population: { size: 1_500, notImportedShare: 0.02 },
      churnPerSecond: 2_000,
      seed: 7,
    });
    const client = createTencentClient({
      sdkAppId: APP.sdkAppId,
      identifier: 'administrator',
      secretKey: APP.secretKey,
      endpoint: churning.url,
    });
    try {
      await waitFor(() => churning.stats().churnChanges >= 500, {
        timeoutMs: 5_000,
        description: '500 churn changes',
      });
      churning.setChurn(0);
      const changes = churning.stats().churnChanges;
      const log = churning.changeLog();
      expect(log).toHaveLength(changes);
      expect(log.every((e) => e.cause === 'churn')).toBe(true);
      // Replaying the log gives each touched user's current state.
      const lastState = new Map(log.map((e) => [e.userId, e.to]));
      const ids = churning.importedUserIds();
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const { results, accountErrors } = await client.queryOnlineStatus(chunk, { detail: true });
        expect(accountErrors).toEqual([]);
        for (const r of results) {
          const truth = churning.getUserState(r.userId);
          expect(r.state).toBe(truth?.state);
          expect(r.devices).toEqual(truth?.devices.filter((d) => d.status !== 'Offline'));
          if (lastState.has(r.userId)) expect(r.state).toBe(lastState.get(r.userId));
        }
      }
      const transitions = log.filter((e) => e.from !== e.to);
      expect(transitions.length).toBeGreaterThan(50);
    } finally {
      await client.close();
      await churning.close();
    }
  });

  it('closes promptly while holding a never-answered call', async () => {
    const hanging = await startSimulator({ apps: [APP], population: { size: 10 } });
    const client = createTencentClient({
      sdkAppId: APP.sdkAppId,
      identifier: 'administrator',
      secretKey: APP.secretKey,
      endpoint: hanging.url,
    });
    hanging.injectFaults('timeout');
    const pending = client.queryOnlineStatus(['u000001'], { detail: false }).catch((e: unknown) => e);
    await waitFor(() => hanging.stats().byCode.hang === 1, { timeoutMs: 2_000, description: 'held call' });
    // close() must not wait for the held call, which would never end on its own.
    await hanging.close();
    expect(await pending).toMatchObject({ kind: 'network', retriable: true });
    await client.close();
  });
});
