import { afterEach, describe, expect, it } from 'vitest';
import { createTencentClient, type TencentClientOptions } from '../../src/tencent/client.js';
import type { OnlineStatusClient } from '../../src/tencent/types.js';
import { UserIdList } from '../../src/tencent/user-id-list.js';

// Port 9 on loopback: nothing listens, and these tests must fail before anything is sent anyway.
const BASE: TencentClientOptions = {
  sdkAppId: 1_400_000_000,
  identifier: 'administrator',
  secretKey: 'client-options-test-key-0123456789',
  endpoint: 'http://127.0.0.1:9',
};

const clients: OnlineStatusClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function expectConfigError(options: TencentClientOptions, message: RegExp): void {
  let thrown: unknown;
  try {
    clients.push(createTencentClient(options));
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toMatchObject({
    kind: 'fatal_config',
    retriable: false,
    message: expect.stringMatching(message),
  });
}

describe('createTencentClient options', () => {
  it.each([
    [{ timeoutMs: 3_000 }, /timeoutMs must be > 3000/],
    [{ timeoutMs: 500 }, /timeoutMs must be > 3000/],
    [{ timeoutMs: 0, unsafeAllowShortTimeout: true }, /positive/],
    [{ sdkAppId: 0 }, /sdkAppId/],
    [{ identifier: '' }, /identifier/],
    [{ secretKey: '' }, /secretKey/],
    [{ connections: 0 }, /connections/],
    [{ userSigTtlSeconds: -1 }, /userSigTtlSeconds/],
    [{ endpoint: undefined }, /endpoint or a region/],
  ])('refuses %j', (override, message) => {
    expectConfigError({ ...BASE, ...override } as TencentClientOptions, message);
  });

  it('accepts a short timeout only with the explicit test-only flag', () => {
    clients.push(createTencentClient({ ...BASE, timeoutMs: 200, unsafeAllowShortTimeout: true }));
    expect(clients).toHaveLength(1);
  });
});

describe('queryOnlineStatus request checks', () => {
  it.each([
    ['no IDs', [], /no UserIDs/],
    ['501 IDs', Array.from({ length: 501 }, (_, i) => `u${i}`), /501 UserIDs, at most 500/],
    ['duplicate IDs', ['a', 'b', 'a'], /duplicate UserID "a"/],
    ['an empty ID', ['a', ''], /not a non-empty string/],
  ])('refuses %s before sending, as a non-retriable request error', async (_label, ids, message) => {
    const client = createTencentClient(BASE);
    clients.push(client);
    await expect(client.queryOnlineStatus(ids, { detail: false })).rejects.toMatchObject({
      kind: 'request',
      code: 'TENCENT_BAD_REQUEST',
      retriable: false,
      message: expect.stringMatching(message),
    });
  });

  it('rejects with kind aborted when the signal is already aborted', async () => {
    const client = createTencentClient(BASE);
    clients.push(client);
    await expect(
      client.queryOnlineStatus(['a'], { detail: false, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: 'aborted', retriable: false });
  });

  it('refuses calls after close()', async () => {
    const client = createTencentClient(BASE);
    await client.close();
    await expect(client.queryOnlineStatus(['a'], { detail: false })).rejects.toMatchObject({
      kind: 'request',
    });
  });
});

describe('the request body', () => {
  /** A transport that keeps each body it is handed and answers every ID Offline. */
  function capturingClient(): { client: OnlineStatusClient; bodies: string[] } {
    const bodies: string[] = [];
    const transport = {
      send: async ({ body }: { body: string }) => {
        bodies.push(body);
        const ids = (JSON.parse(body) as { To_Account: string[] }).To_Account;
        const QueryResult = ids.map((id) => ({ To_Account: id, Status: 'Offline' }));
        return {
          statusCode: 200,
          text: JSON.stringify({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0, QueryResult }),
        };
      },
      close: async () => undefined,
    };
    const client = createTencentClient({ ...BASE, transport });
    clients.push(client);
    return { client, bodies };
  }

  it.each([
    ['plain IDs', ['u000001', 'user_2', 'A-3']],
    ['IDs JSON escapes', ['say"hi"', 'back\\slash', '用户', 'tab\there']],
  ])('is the JSON of the IDs, asked as a stored text or as an array: %s', async (_label, ids) => {
    const { client, bodies } = capturingClient();
    const expected = JSON.stringify({ To_Account: ids, IsNeedDetail: 0 });
    const fromText = await client.queryOnlineStatusCodes!(UserIdList.fromText(ids.join('\n')), {});
    const fromArray = await client.queryOnlineStatusCodes!(ids, {});
    await client.queryOnlineStatus(ids, { detail: false });
    await client.queryOnlineStatus(ids, { detail: true });
    expect(bodies).toEqual([
      expected,
      expected,
      expected,
      JSON.stringify({ To_Account: ids, IsNeedDetail: 1 }),
    ]);
    expect(fromText.codes).toBe('F'.repeat(ids.length));
    expect(fromArray).toEqual(fromText);
  });

  it('refuses a stored text with an empty line or a repeated ID before sending', async () => {
    const { client, bodies } = capturingClient();
    await expect(client.queryOnlineStatusCodes!(UserIdList.fromText('a\nb\n'), {})).rejects.toMatchObject({
      kind: 'request',
      message: expect.stringMatching(/not a non-empty string/),
    });
    await expect(client.queryOnlineStatusCodes!(UserIdList.fromText('a\nb\na'), {})).rejects.toMatchObject({
      kind: 'request',
      message: expect.stringMatching(/duplicate UserID "a"/),
    });
    expect(bodies).toEqual([]);
  });
});
