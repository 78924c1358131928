import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createTencentClient, type TencentClientOptions } from '../../src/tencent/client.js';
import { TencentError } from '../../src/tencent/errors.js';
import type { OnlineStatusClient, OnlineStatusResult } from '../../src/tencent/types.js';
import { generateUserSig } from '../../src/tencent/usersig.js';
import { DEFAULT_USERSIG_TTL_SECONDS } from '../../src/tencent/usersig-cache.js';
import { createPacedTransport } from '../../src/cap/paced-transport.js';
import type { Transport } from '../../src/tencent/transport.js';
import { codeOfState, STATE_CODES } from '../../src/vocabulary.js';
import { testRedisUrl, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const APP = {
  sdkAppId: 1_400_000_001,
  secretKey: 'client-int-app-a-secret-0123456789abcdef',
  admins: ['administrator'],
};
const OTHER_APP = {
  sdkAppId: 1_400_000_002,
  secretKey: 'client-int-app-b-secret-fedcba9876543210',
  admins: ['root'],
};
const DAY_MS = 86_400_000;

let sim: Simulator;
const clients: OnlineStatusClient[] = [];
const transports: Transport[] = [];

beforeAll(async () => {
  sim = await startSimulator({
    apps: [
      { ...APP, callsPerSecond: 10_000 },
      { ...OTHER_APP, callsPerSecond: 10_000 },
    ],
    population: { size: 2_000, notImportedShare: 0.05 },
    seed: 42,
  });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.clearFaults();
  sim.setStateFieldName('Status');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function client(overrides: Partial<TencentClientOptions> = {}): OnlineStatusClient {
  const c = createTencentClient({
    sdkAppId: APP.sdkAppId,
    identifier: 'administrator',
    secretKey: APP.secretKey,
    endpoint: sim.url,
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<TencentError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TencentError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function expectMatchesSimulator(result: OnlineStatusResult, detail: boolean): void {
  for (const r of result.results) {
    const truth = sim.getUserState(r.userId);
    expect(truth?.imported).toBe(true);
    expect(r.state).toBe(truth?.state);
    if (detail) expect(r.devices).toEqual(truth?.devices.filter((d) => d.status !== 'Offline'));
    else expect(r.devices).toBeUndefined();
  }
  for (const e of result.accountErrors) expect(sim.getUserState(e.userId)?.imported ?? false).toBe(false);
}

describe('client against the simulator: answers', () => {
  it('queries 500 users without detail and gets the simulator truth, not-imported ones in accountErrors (70107)', async () => {
    const ids = sim.allUserIds().slice(0, 500);
    const result = await client().queryOnlineStatus(ids, { detail: false });
    expect(result.results.length + result.accountErrors.length).toBe(500);
    const notImported = ids.filter((id) => !sim.getUserState(id)?.imported);
    expect(notImported.length).toBeGreaterThan(0);
    expect(result.accountErrors).toEqual(notImported.map((userId) => ({ userId, errorCode: 70107 })));
    expectMatchesSimulator(result, false);
    expect(new Set(result.results.map((r) => r.state))).toEqual(new Set(['Online', 'PushOnline', 'Offline']));
  });

  it('returns per-device detail when asked (platform, status, IsBackground, Instid, CustomIdentifier)', async () => {
    sim.setUserState('detail-user', [
      {
        platform: 'iPhone',
        status: 'PushOnline',
        isBackground: true,
        instId: 74224656,
        customIdentifier: 'phone',
      },
      { platform: 'Web', status: 'Online', instId: 5, customIdentifier: 'browser' },
      { platform: 'PC', status: 'Offline' },
    ]);
    const ids = ['detail-user', ...sim.allUserIds().slice(500, 700)];
    const result = await client().queryOnlineStatus(ids, { detail: true });
    expect(result.results[0]).toEqual({
      userId: 'detail-user',
      state: 'Online',
      devices: [
        {
          platform: 'iPhone',
          status: 'PushOnline',
          isBackground: true,
          instId: 74224656,
          customIdentifier: 'phone',
        },
        { platform: 'Web', status: 'Online', isBackground: false, instId: 5, customIdentifier: 'browser' },
      ],
    });
    expectMatchesSimulator(result, true);
  });

  it("tolerates the English page's `State` field name", async () => {
    sim.setStateFieldName('State');
    sim.setUserState('state-field-user', 'PushOnline');
    const result = await client().queryOnlineStatus(['state-field-user', 'u000001'], { detail: true });
    expect(result.results[0]).toMatchObject({ userId: 'state-field-user', state: 'PushOnline' });
    expectMatchesSimulator(result, true);
  });

  it('reports an all-unknown query as account errors, not as a failure', async () => {
    const result = await client().queryOnlineStatus(['ghost-1', 'ghost-2'], { detail: false });
    expect(result).toEqual({
      results: [],
      accountErrors: [
        { userId: 'ghost-1', errorCode: 70107 },
        { userId: 'ghost-2', errorCode: 70107 },
      ],
      quarantined: [],
    });
  });

  it('sees a manual change on the next call', async () => {
    const c = client();
    sim.setUserState('flip', 'Offline');
    expect((await c.queryOnlineStatus(['flip'], { detail: false })).results[0]?.state).toBe('Offline');
    sim.setUserState('flip', 'Online');
    expect((await c.queryOnlineStatus(['flip'], { detail: false })).results[0]?.state).toBe('Online');
    expect(
      sim
        .changeLog()
        .filter((e) => e.userId === 'flip')
        .map((e) => [e.to, e.cause]),
    ).toEqual([
      ['Offline', 'manual'],
      ['Online', 'manual'],
    ]);
  });
});

describe('client against the simulator: error classes', () => {
  it.each([
    ['a wrong secret key', { secretKey: 'not-the-right-key-000000000000' }, 70005],
    ["another app's key", { secretKey: OTHER_APP.secretKey }, 70009],
    ['a non-admin identifier', { identifier: 'bob' }, 90009],
    ['an unknown SDKAppID (wrong region)', { sdkAppId: 1_400_009_999 }, 70020],
  ])('fails with a non-retriable fatal_config error for %s', async (_label, overrides, errorCode) => {
    const before = sim.stats().byCode[String(errorCode)] ?? 0;
    const error = await failure(client(overrides).queryOnlineStatus(['u000001'], { detail: false }));
    expect(error).toMatchObject({
      kind: 'fatal_config',
      code: 'TENCENT_FATAL_CONFIG',
      retriable: false,
      errorCode,
    });
    expect(sim.stats().byCode[String(errorCode)]).toBe(before + 1);
  });

  it('refuses request bugs before sending: nothing reaches the simulator', async () => {
    const c = client();
    const callsBefore = sim.stats().calls;
    for (const ids of [[], Array.from({ length: 501 }, (_, i) => `u${i}`), ['u000001', 'u000001']]) {
      expect(await failure(c.queryOnlineStatus(ids, { detail: false }))).toMatchObject({
        kind: 'request',
        retriable: false,
      });
    }
    expect(sim.stats().calls).toBe(callsBefore);
  });

  it.each([70169, 90992, 90994, 90995, 91000])(
    'surfaces server code %i as a retriable server error',
    async (code) => {
      sim.injectFaults({ kind: 'retryable', errorCode: code });
      const error = await failure(client().queryOnlineStatus(['u000001'], { detail: false }));
      expect(error).toMatchObject({ kind: 'server', retriable: true, errorCode: code });
    },
  );

  it('surfaces an injected 60007 as rate_limit with a retry hint', async () => {
    sim.injectFaults('rate-limit');
    const error = await failure(client().queryOnlineStatus(['u000001'], { detail: false }));
    expect(error).toMatchObject({
      kind: 'rate_limit',
      code: 'TENCENT_RATE_LIMITED',
      errorCode: 60007,
      retryAfterMs: 1_000,
    });
  });

  it('rejects a malformed body as retriable malformed, then succeeds on the next call', async () => {
    const c = client();
    sim.injectFaults('malformed');
    expect(await failure(c.queryOnlineStatus(['u000001'], { detail: false }))).toMatchObject({
      kind: 'malformed',
      retriable: true,
    });
    expect((await c.queryOnlineStatus(['u000001'], { detail: false })).results).toHaveLength(1);
  });

  it('maps HTTP 502 to a retriable http error', async () => {
    sim.injectFaults('http502');
    const error = await failure(client().queryOnlineStatus(['u000001'], { detail: false }));
    expect(error).toMatchObject({
      kind: 'http',
      httpStatus: 502,
      retriable: true,
      code: 'TENCENT_HTTP_ERROR',
    });
  });

  it('maps a reset connection to a retriable network error', async () => {
    sim.injectFaults('reset');
    const error = await failure(client().queryOnlineStatus(['u000001'], { detail: false }));
    expect(error).toMatchObject({ kind: 'network', retriable: true, code: 'TENCENT_NETWORK_ERROR' });
  });

  it('times out when the simulator never answers, within the configured deadline', async () => {
    sim.injectFaults('timeout');
    const c = client({ timeoutMs: 400, unsafeAllowShortTimeout: true });
    const started = performance.now();
    const error = await failure(c.queryOnlineStatus(['u000001'], { detail: false }));
    const elapsedMs = performance.now() - started;
    expect(error).toMatchObject({ kind: 'timeout', retriable: true, code: 'TENCENT_TIMEOUT' });
    expect(elapsedMs).toBeGreaterThanOrEqual(390);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('times out when the answer comes later than the deadline', async () => {
    sim.injectFaults({ kind: 'timeout', delayMs: 1_500 });
    const c = client({ timeoutMs: 300, unsafeAllowShortTimeout: true });
    expect(await failure(c.queryOnlineStatus(['u000001'], { detail: false }))).toMatchObject({
      kind: 'timeout',
    });
  });

  it('answers late but within the deadline when the delay is shorter', async () => {
    sim.injectFaults({ kind: 'timeout', delayMs: 150 });
    const started = performance.now();
    const result = await client().queryOnlineStatus(['u000001'], { detail: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(result.results).toHaveLength(1);
  });

  it('aborts an in-flight call when the caller signal fires', async () => {
    sim.injectFaults('timeout');
    const hangsBefore = sim.stats().byCode.hang ?? 0;
    const controller = new AbortController();
    const pending = failure(
      client().queryOnlineStatus(['u000001'], { detail: false, signal: controller.signal }),
    );
    await waitFor(() => (sim.stats().byCode.hang ?? 0) === hangsBefore + 1, {
      timeoutMs: 2_000,
      description: 'call held',
    });
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'aborted', retriable: false, code: 'TENCENT_ABORTED' });
  });
});

describe('client against the simulator: answers read as codes', () => {
  it('reads 500 users as one letter each, the same users and states as the full reading', async () => {
    const c = client();
    const ids = sim.allUserIds().slice(0, 500);
    const { codes, otherAccountErrors, quarantined } = await c.queryOnlineStatusCodes!(ids, {});
    const truth = ids.map((id) => {
      const user = sim.getUserState(id);
      return user?.imported ? codeOfState(user.state) : STATE_CODES.NotFound;
    });
    expect(codes).toBe(truth.join(''));
    expect(codes).toContain(STATE_CODES.NotFound);
    expect({ otherAccountErrors, quarantined }).toEqual({ otherAccountErrors: [], quarantined: [] });
  });

  it('fails, retries and refuses exactly as the full reading', async () => {
    const c = client();
    sim.injectFaults('malformed');
    expect(await failure(c.queryOnlineStatusCodes!(['u000001'], {}))).toMatchObject({
      kind: 'malformed',
      retriable: true,
    });
    sim.injectFaults('rate-limit');
    expect(await failure(c.queryOnlineStatusCodes!(['u000001'], {}))).toMatchObject({
      kind: 'rate_limit',
      errorCode: 60007,
    });
    expect(await failure(c.queryOnlineStatusCodes!(['a', 'a'], {}))).toMatchObject({ kind: 'request' });
    const before = sim.stats().byCode['70052'] ?? 0;
    sim.injectFaults('revoke-usersig');
    expect((await c.queryOnlineStatusCodes!(['u000001'], {})).codes).toHaveLength(1);
    expect(sim.stats().byCode['70052']).toBe(before + 1);
  });
});

describe('client against the simulator: UserSig expiry and renewal', () => {
  it('renews an expired UserSig after 70001 and succeeds within the same call', async () => {
    let reads = 0;
    // The first UserSig is issued 8 days ago with a 7-day lifetime: the simulator (real clock) finds it expired.
    const c = client({ now: () => (reads++ === 0 ? Date.now() - 8 * DAY_MS : Date.now()) });
    const before = sim.stats().byCode;
    const result = await c.queryOnlineStatus(['u000001'], { detail: false });
    expect(result.results).toHaveLength(1);
    const after = sim.stats().byCode;
    expect((after['70001'] ?? 0) - (before['70001'] ?? 0)).toBe(1);
    expect((after['0'] ?? 0) - (before['0'] ?? 0)).toBe(1);
  });

  it.each([
    ['expire-usersig', 70001],
    ['revoke-usersig', 70052],
  ] as const)('recovers transparently from an injected %s (%i)', async (fault, code) => {
    const before = sim.stats().byCode[String(code)] ?? 0;
    sim.injectFaults(fault);
    const result = await client().queryOnlineStatus(['u000001', 'u000002'], { detail: true });
    expect(result.results.length + result.accountErrors.length).toBe(2);
    expect(sim.stats().byCode[String(code)]).toBe(before + 1);
  });

  it('gives up after one renewal when the UserSig keeps being refused, as a non-retriable credentials error', async () => {
    sim.injectFaults('expire-usersig', 'expire-usersig');
    const error = await failure(client().queryOnlineStatus(['u000001'], { detail: false }));
    expect(error).toMatchObject({ kind: 'credentials', retriable: false, errorCode: 70001 });
    expect(error.message).toMatch(/still rejected after renewing the UserSig/);
  });
});

describe('client against the simulator: secrets', () => {
  it.each(['direct', 'paced (sending thread)'])(
    'never puts the UserSig or the secret key in an error, its cause, or a log line: %s transport',
    async (kind) => {
      const transport =
        kind === 'direct'
          ? undefined
          : createPacedTransport({
              redis: { url: testRedisUrl() },
              pacerKey: uniqueName('leak-pacer'),
              pacer: { callsPerSecond: 1_000 },
              connections: 4,
            });
      if (transport) transports.push(transport);
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      });
      const logger = createLogger({ level: 'debug', destination });
      const fixedNowMs = Date.now();
      const c = client({
        logger,
        transport,
        now: () => fixedNowMs,
        timeoutMs: 300,
        unsafeAllowShortTimeout: true,
      });
      const userSig = generateUserSig({
        sdkAppId: APP.sdkAppId,
        identifier: 'administrator',
        secretKey: APP.secretKey,
        expireSec: DEFAULT_USERSIG_TTL_SECONDS,
        timeSec: Math.floor(fixedNowMs / 1000),
      });
      const errors: TencentError[] = [];
      const faults = [
        'expire-usersig',
        'expire-usersig',
        'http502',
        'malformed',
        'timeout',
        'reset',
        'retryable',
      ] as const;
      sim.injectFaults(...faults);
      for (let i = 0; i < faults.length - 1; i++) {
        errors.push(await failure(c.queryOnlineStatus(['u000001'], { detail: false })));
      }
      errors.push(
        await failure(
          client({ identifier: 'bob', logger, transport }).queryOnlineStatus(['u1'], { detail: false }),
        ),
      );
      errors.push(
        await failure(
          client({ secretKey: 'wrong-key-for-leak-test-0000', logger, transport }).queryOnlineStatus(['u1'], {
            detail: false,
          }),
        ),
      );
      expect(errors.map((e) => e.kind)).toEqual([
        'credentials',
        'http',
        'malformed',
        'timeout',
        'network',
        'server',
        'fatal_config',
        'fatal_config',
      ]);
      for (const error of errors) logger.error({ err: error, cause: error.cause }, 'query failed');
      const everything = [
        ...lines,
        ...errors.flatMap((e) => [
          e.message,
          String(e.stack),
          JSON.stringify(e),
          String(e.cause),
          String((e.cause as Error | undefined)?.stack),
        ]),
      ].join('\n');
      expect(lines.length).toBeGreaterThanOrEqual(errors.length + 1); // includes the renewal warning
      expect(everything).not.toContain(userSig);
      expect(everything).not.toContain(APP.secretKey);
      expect(everything).not.toContain('wrong-key-for-leak-test-0000');
    },
  );
});

describe('client against the simulator: the call cap', () => {
  let capped: Simulator;
  const CAP = 20;
  beforeAll(async () => {
    capped = await startSimulator({ apps: [{ ...APP, callsPerSecond: CAP }], population: { size: 100 } });
  });
  afterAll(async () => {
    await capped.close();
  });

  it('admits exactly cap of cap + 10 concurrent calls and rejects the rest with 60007', async () => {
    const c = client({ endpoint: capped.url, connections: 64 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: CAP + 10 }, () => c.queryOnlineStatus(['u000001'], { detail: false })),
    );
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(CAP);
    expect(rejected).toHaveLength(10);
    for (const r of rejected)
      expect(r.reason).toMatchObject({ kind: 'rate_limit', errorCode: 60007, retriable: true });
    const stats = capped.stats();
    expect(stats).toMatchObject({ calls: CAP + 10, admitted: CAP, rejectedOverCap: 10 });
    expect(stats.maxCallsInAnyWindow).toBeLessThanOrEqual(CAP);
    // The window slides: once the burst is a second old, calls are admitted again.
    await waitFor(
      () =>
        c.queryOnlineStatus(['u000001'], { detail: false }).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 3_000, intervalMs: 100, description: 'a call admitted after the window slid' },
    );
    expect(capped.stats().maxCallsInAnyWindow).toBeLessThanOrEqual(CAP);
  });
});
