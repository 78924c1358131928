import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startSimulator,
  verifyCallbackSign,
  type CallbackLogEntry,
  type Simulator,
  type SimulatorOptions,
} from '../../src/simulator/index.js';
import { generateUserSig } from '../../src/tencent/usersig.js';
import { waitFor } from '../helpers/wait-for.js';

const APP = {
  sdkAppId: 1_400_000_021,
  secretKey: 'callbacks-test-secret-0123456789abcdef',
  admins: ['administrator'],
};
const OTHER = {
  sdkAppId: 1_400_000_022,
  secretKey: 'callbacks-test-other-0123456789abcdef',
  admins: ['administrator'],
};
const TOKEN = 'callback-token-for-tests';
const OK_ANSWER = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}';

interface Received {
  url: URL;
  body: {
    CallbackCommand: string;
    EventTime: number;
    Info: { Action: string; To_Account: string; Reason: string };
  } & {
    KickedDevice?: { Platform: string }[];
  };
  contentType: string | undefined;
}

type Answer = { status: number; body: string } | 'hang';

interface Receiver {
  url: string;
  received: Received[];
  answer: (req: IncomingMessage) => Answer;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A local HTTP server on port 0 standing in for the app backend. */
async function startReceiver(path = '/im/callback'): Promise<Receiver> {
  const hung = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received: [],
    answer: () => ({ status: 200, body: OK_ANSWER }),
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      receiver.received.push({
        url: new URL(req.url ?? '/', 'http://receiver'),
        body: JSON.parse(text) as Received['body'],
        contentType: req.headers['content-type'],
      });
      const answer = receiver.answer(req);
      if (answer === 'hang') {
        hung.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  cleanups.push(() => receiver.close());
  return receiver;
}

async function start(options: SimulatorOptions): Promise<Simulator> {
  // A generous timeout: these receivers answer at once, and a loaded machine must not turn that into a failure.
  const sim = await startSimulator({
    seed: 7,
    population: { size: 20, notImportedShare: 0 },
    ...options,
    callbacks: { timeoutMs: 10_000, ...options.callbacks },
  });
  cleanups.push(() => sim.close());
  return sim;
}

/** Users `user-0`.. created Offline (no callback: they were never Online). */
function createOfflineUsers(sim: Simulator, count: number): string[] {
  const ids = Array.from({ length: count }, (_, i) => `user-${i}`);
  for (const id of ids) sim.setUserState(id, [{ platform: 'Android', status: 'Offline' }]);
  return ids;
}

const keyOf = (userId: string, action: string): string => `${userId}/${action}`;

async function queryApi(sim: Simulator): Promise<{ status: number; json: Record<string, unknown> }> {
  const usersig = generateUserSig({
    sdkAppId: APP.sdkAppId,
    identifier: 'administrator',
    secretKey: APP.secretKey,
    expireSec: 86_400,
  });
  const res = await request(
    `${sim.url}/v4/openim/query_online_status?sdkappid=${APP.sdkAppId}&identifier=administrator` +
      `&usersig=${encodeURIComponent(usersig)}&random=42&contenttype=json`,
    { method: 'POST', body: JSON.stringify({ To_Account: ['u000001'] }) },
  );
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('State.StateChange callbacks: shape', () => {
  it('posts Login, then Logout or Disconnect, with the documented query string, body and a valid Sign', async () => {
    const receiver = await startReceiver();
    const sim = await start({
      apps: [{ ...APP, callback: { url: `${receiver.url}?route=chat`, token: TOKEN } }],
      callbacks: { maxConcurrent: 1 },
    });
    const before = Date.now();
    const users = createOfflineUsers(sim, 30);
    for (const id of users) sim.setUserState(id, [{ platform: 'iPhone', status: 'Online' }]);
    for (const id of users) sim.setUserState(id, 'Offline');
    await waitFor(() => receiver.received.length === 60, { description: '60 callbacks' });
    const after = Date.now();

    const changes = sim.changeLog().filter((c) => users.includes(c.userId) && c.from !== c.to);
    const actions = new Set<string>();
    for (const [i, got] of receiver.received.entries()) {
      const change = changes[i];
      expect(change).toBeDefined();
      const q = got.url.searchParams;
      expect(got.url.pathname).toBe('/im/callback');
      expect([...q.keys()]).toEqual([
        'route',
        'SdkAppid',
        'CallbackCommand',
        'contenttype',
        'ClientIP',
        'OptPlatform',
        'Sign',
        'RequestTime',
      ]);
      expect(q.get('route')).toBe('chat');
      expect(q.get('SdkAppid')).toBe(String(APP.sdkAppId));
      expect(q.get('CallbackCommand')).toBe('State.StateChange');
      expect(q.get('contenttype')).toBe('json');
      expect(q.get('ClientIP')).toMatch(/^10\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
      expect(q.get('OptPlatform')).toBe('IOS');
      expect(verifyCallbackSign(TOKEN, q.get('RequestTime'), q.get('Sign'))).toBe(true);
      expect(Number(q.get('RequestTime'))).toBeGreaterThanOrEqual(Math.floor(before / 1000));
      expect(Number(q.get('RequestTime'))).toBeLessThanOrEqual(Math.ceil(after / 1000));
      expect(got.contentType).toBe('application/json');

      const { Info } = got.body;
      expect(got.body.CallbackCommand).toBe('State.StateChange');
      expect(got.body.EventTime).toBe(change?.atMs);
      expect(Info.To_Account).toBe(change?.userId);
      expect(got.body.KickedDevice).toBeUndefined();
      if (change?.to === 'Online') {
        expect(Info).toEqual({ Action: 'Login', To_Account: change.userId, Reason: 'Register' });
      } else {
        expect(change?.to).toBe('Offline');
        const expected = Info.Reason === 'Unregister' ? 'Logout' : 'Disconnect';
        expect(['Unregister', 'LinkClose', 'TimeOut']).toContain(Info.Reason);
        expect(Info.Action).toBe(expected);
      }
      actions.add(`${Info.Action}/${Info.Reason}`);
    }
    expect([...actions].sort()).toEqual([
      'Disconnect/LinkClose',
      'Disconnect/TimeOut',
      'Login/Register',
      'Logout/Unregister',
    ]);
    const stats = sim.stats().callbacks;
    expect(stats).toMatchObject({ emitted: 60, sent: 60, delivered: 60, failed: 0, lost: 0, queued: 0 });
  });

  it('sends nothing for a change to PushOnline, for PushOnline lapsing to Offline, or for a device change of an Online user', async () => {
    const receiver = await startReceiver();
    const sim = await start({
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxConcurrent: 1 },
    });
    const [a, marker] = createOfflineUsers(sim, 2) as [string, string];
    sim.setUserState(a, [{ platform: 'Android', status: 'PushOnline' }]); // Offline -> PushOnline
    sim.setUserState(a, [{ platform: 'Android', status: 'Offline' }]); // PushOnline lapses
    sim.setUserState(a, [{ platform: 'Android', status: 'Online' }]); // Login (1)
    sim.setUserState(a, [
      { platform: 'Android', status: 'Online' },
      { platform: 'Web', status: 'Online' },
    ]); // still Online
    sim.setUserState(a, [
      { platform: 'Android', status: 'PushOnline' },
      { platform: 'Web', status: 'Offline' },
    ]); // Online -> PushOnline
    sim.setUserState(a, [
      { platform: 'Android', status: 'Offline' },
      { platform: 'Web', status: 'Offline' },
    ]); // lapses again
    sim.setUserState(marker, 'Online'); // Login (2): once it arrives, everything before it has
    await waitFor(() => receiver.received.some((r) => r.body.Info.To_Account === marker), {
      description: 'the marker callback',
    });
    expect(receiver.received.map((r) => keyOf(r.body.Info.To_Account, r.body.Info.Action))).toEqual([
      keyOf(a, 'Login'),
      keyOf(marker, 'Login'),
    ]);
    expect(sim.callbackLog().map((e) => keyOf(e.userId, e.action))).toEqual([
      keyOf(a, 'Login'),
      keyOf(marker, 'Login'),
    ]);
    expect(receiver.received[0]?.url.searchParams.get('OptPlatform')).toBe('Android');
  });

  it('lists the devices a login pushed off in KickedDevice, and leaves Sign out for an app without a token', async () => {
    const receiver = await startReceiver();
    const sim = await start({
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxConcurrent: 1 },
    });
    sim.setUserState('kim', [
      { platform: 'iPhone', status: 'PushOnline' },
      { platform: 'Web', status: 'Offline' },
    ]);
    sim.setUserState('kim', [
      { platform: 'iPhone', status: 'Offline' },
      { platform: 'Web', status: 'Online' },
    ]);
    await waitFor(() => receiver.received.length === 1, { description: 'one callback' });
    const [got] = receiver.received;
    expect(got?.body.Info).toEqual({ Action: 'Login', To_Account: 'kim', Reason: 'Register' });
    expect(got?.body.KickedDevice).toEqual([{ Platform: 'iOS' }]);
    expect(got?.url.searchParams.get('OptPlatform')).toBe('Web');
    expect(got?.url.searchParams.has('Sign')).toBe(false);
    expect(got?.url.searchParams.has('RequestTime')).toBe(false);
  });

  it('sends one callback per app that has a target, each with its own SdkAppid and signature', async () => {
    const receiver = await startReceiver();
    const sim = await start({
      apps: [
        { ...APP, callback: { url: receiver.url, token: TOKEN } },
        { ...OTHER, callback: { url: receiver.url, token: 'other-token' } },
      ],
    });
    sim.setUserState('pat', 'Online');
    await waitFor(() => receiver.received.length === 2, { description: 'two callbacks' });
    const byApp = new Map(
      receiver.received.map((r) => [r.url.searchParams.get('SdkAppid'), r.url.searchParams]),
    );
    const mine = byApp.get(String(APP.sdkAppId));
    const other = byApp.get(String(OTHER.sdkAppId));
    expect(verifyCallbackSign(TOKEN, mine?.get('RequestTime'), mine?.get('Sign'))).toBe(true);
    expect(verifyCallbackSign('other-token', other?.get('RequestTime'), other?.get('Sign'))).toBe(true);
    expect(verifyCallbackSign(TOKEN, other?.get('RequestTime'), other?.get('Sign'))).toBe(false);
  });
});

describe('State.StateChange callbacks: faults', () => {
  /** 100 logins then 100 offline changes, on distinct users: (user, action) names each callback. */
  async function runFaulted(
    receiver: Receiver,
    callbacks: SimulatorOptions['callbacks'],
  ): Promise<{ sim: Simulator; log: CallbackLogEntry[] }> {
    const sim = await start({ apps: [{ ...APP, callback: { url: receiver.url } }], callbacks });
    const users = createOfflineUsers(sim, 100);
    for (const id of users) sim.setUserState(id, 'Online');
    for (const id of users) sim.setUserState(id, 'Offline');
    const log = sim.callbackLog();
    const expected = log.filter((e) => e.fate !== 'lost').length + log.filter((e) => e.duplicated).length;
    await waitFor(() => receiver.received.length === expected && sim.stats().callbacks.inFlight === 0, {
      description: `${expected} deliveries`,
    });
    return { sim, log: sim.callbackLog() };
  }

  it('loses and duplicates the configured shares, deterministically for a seed, and the log says which', async () => {
    const receiver = await startReceiver();
    const { sim, log } = await runFaulted(receiver, { seed: 99, lossShare: 0.3, duplicateShare: 0.2 });
    const lost = log.filter((e) => e.fate === 'lost');
    const duplicated = log.filter((e) => e.duplicated);
    expect(log).toHaveLength(200);
    expect(lost.length).toBeGreaterThan(40);
    expect(lost.length).toBeLessThan(80);
    expect(duplicated.length).toBeGreaterThan(20);
    expect(duplicated.length).toBeLessThan(60);
    expect(duplicated.every((e) => e.fate === 'sent' && e.delivered === 2)).toBe(true);

    const counts = new Map<string, number>();
    for (const r of receiver.received) {
      const key = keyOf(r.body.Info.To_Account, r.body.Info.Action === 'Login' ? 'Login' : 'Offline');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const e of log) {
      const key = keyOf(e.userId, e.action === 'Login' ? 'Login' : 'Offline');
      expect(counts.get(key) ?? 0).toBe(e.fate === 'lost' ? 0 : e.duplicated ? 2 : 1);
    }
    expect(sim.stats().callbacks).toMatchObject({
      emitted: 200,
      lost: lost.length,
      duplicated: duplicated.length,
      sent: 200 - lost.length + duplicated.length,
      delivered: 200 - lost.length + duplicated.length,
      failed: 0,
    });

    const again = await startReceiver();
    const replay = await runFaulted(again, { seed: 99, lossShare: 0.3, duplicateShare: 0.2 });
    const fates = (entries: CallbackLogEntry[]): string[] =>
      entries.map((e) => `${e.userId}/${e.action}/${e.reason}/${e.fate}/${e.duplicated}`);
    expect(fates(replay.log)).toEqual(fates(log));
  });

  it('delays each callback by a planned amount within the configured range and still delivers all', async () => {
    const receiver = await startReceiver();
    const { log } = await runFaulted(receiver, { delay: { minMs: 5, maxMs: 60 } });
    expect(log.every((e) => e.fate === 'sent' && e.delivered === 1)).toBe(true);
    expect(log.every((e) => e.delayMs >= 5 && e.delayMs <= 60)).toBe(true);
    expect(new Set(log.map((e) => e.delayMs)).size).toBeGreaterThan(10);
    expect(receiver.received).toHaveLength(200);
  });

  it('lets later callbacks overtake held-back ones by the configured depth', async () => {
    const receiver = await startReceiver();
    const { sim, log } = await runFaulted(receiver, {
      seed: 5,
      reorderShare: 0.2,
      reorderDepth: 2,
      reorderMaxHoldMs: 20,
      maxConcurrent: 1,
    });
    // The expected order: a held-back callback goes out right after the next two that are not held back.
    const expected: string[] = [];
    let held: { key: string; remaining: number }[] = [];
    for (const e of log) {
      const key = keyOf(e.userId, e.action);
      if (e.reordered) {
        held.push({ key, remaining: 2 });
        continue;
      }
      expected.push(key);
      for (const h of held) h.remaining--;
      expected.push(...held.filter((h) => h.remaining <= 0).map((h) => h.key));
      held = held.filter((h) => h.remaining > 0);
    }
    expected.push(...held.map((h) => h.key)); // released by the hold timer at the end

    const arrived = receiver.received.map((r) => keyOf(r.body.Info.To_Account, r.body.Info.Action));
    const reordered = log.filter((e) => e.reordered).length;
    expect(reordered).toBeGreaterThan(20);
    expect(sim.stats().callbacks.reordered).toBe(reordered);
    expect(arrived).toEqual(expected);
    expect(arrived).not.toEqual(log.map((e) => keyOf(e.userId, e.action)));
  });
});

describe('State.StateChange callbacks: failures and bounds', () => {
  it('counts deliveries to a receiver that is down as failed, and the API keeps answering', async () => {
    const gone = await startReceiver();
    const deadUrl = gone.url;
    await gone.close();
    const sim = await start({ apps: [{ ...APP, callback: { url: deadUrl } }] });
    for (const id of createOfflineUsers(sim, 5)) sim.setUserState(id, 'Online');
    const answer = await queryApi(sim);
    expect(answer.status).toBe(200);
    expect(answer.json.ActionStatus).toBe('OK');
    await waitFor(() => sim.stats().callbacks.failed === 5, { description: '5 failed deliveries' });
    expect(sim.stats().callbacks).toMatchObject({ sent: 5, delivered: 0, failedByReason: { network: 5 } });
    expect(sim.callbackLog().every((e) => e.fate === 'sent' && e.failed === 1)).toBe(true);
  });

  it('counts a status other than 200 and an answer other than OK as failed', async () => {
    const receiver = await startReceiver();
    let turn = 0;
    receiver.answer = () =>
      turn++ % 2 === 0
        ? { status: 500, body: 'oops' }
        : { status: 200, body: '{"ActionStatus":"FAIL","ErrorInfo":"no","ErrorCode":1}' };
    const sim = await start({
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxConcurrent: 1 },
    });
    for (const id of createOfflineUsers(sim, 4)) sim.setUserState(id, 'Online');
    await waitFor(() => sim.stats().callbacks.failed === 4, { description: '4 failed deliveries' });
    expect(sim.stats().callbacks.failedByReason).toEqual({ network: 0, timeout: 0, status: 2, answer: 2 });
    expect(sim.stats().callbacks.delivered).toBe(0);
  });

  it('answers API calls while callbacks hang, then counts the hung ones as timed out', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => 'hang';
    const sim = await start({
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxConcurrent: 2, timeoutMs: 300 },
    });
    for (const id of createOfflineUsers(sim, 4)) sim.setUserState(id, 'Online');
    await waitFor(() => sim.stats().callbacks.inFlight === 2, { description: 'two hung callbacks' });
    const answer = await queryApi(sim);
    expect(answer.json.ActionStatus).toBe('OK');
    await waitFor(() => sim.stats().callbacks.failed === 4, { description: '4 timed-out deliveries' });
    expect(sim.stats().callbacks.failedByReason.timeout).toBe(4);
  });

  it('drops callbacks beyond the queue bound and counts them', async () => {
    const receiver = await startReceiver();
    const sim = await start({
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxQueued: 5, maxConcurrent: 1 },
    });
    // One synchronous burst: nothing is sent before it returns, so exactly 5 fit.
    for (const id of createOfflineUsers(sim, 20)) sim.setUserState(id, 'Online');
    expect(sim.stats().callbacks).toMatchObject({ emitted: 20, dropped: 15, queued: 5 });
    await waitFor(() => sim.stats().callbacks.delivered === 5, { description: '5 deliveries' });
    expect(sim.callbackLog().filter((e) => e.fate === 'dropped')).toHaveLength(15);
    expect(receiver.received).toHaveLength(5);
  });

  it('abandons waiting callbacks on close and leaves no timer or socket behind', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => 'hang';
    const sim = await startSimulator({
      seed: 3,
      population: { size: 5, notImportedShare: 0 },
      apps: [{ ...APP, callback: { url: receiver.url } }],
      callbacks: { maxConcurrent: 1, delay: { minMs: 0, maxMs: 0 } },
    });
    cleanups.push(() => sim.close());
    const users = createOfflineUsers(sim, 3);
    for (const id of users) sim.setUserState(id, 'Online');
    await waitFor(() => sim.stats().callbacks.inFlight === 1, { description: 'one callback in flight' });
    sim.setCallbackFaults({ delay: { minMs: 60_000, maxMs: 60_000 } });
    for (const id of users) sim.setUserState(id, 'Offline');
    await sim.close();
    const fates = sim.callbackLog().map((e) => e.fate);
    expect(fates).toEqual(['sent', 'abandoned', 'abandoned', 'abandoned', 'abandoned', 'abandoned']);
    expect(sim.stats().callbacks).toMatchObject({ abandoned: 5, queued: 0, inFlight: 0 });
  });
});
