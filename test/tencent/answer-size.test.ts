import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTencentClient } from '../../src/tencent/client.js';
import { TencentError } from '../../src/tencent/errors.js';
import type { OnlineStatusClient } from '../../src/tencent/types.js';
import { waitFor } from '../helpers/wait-for.js';

const MAX = 1024 * 1024;
const servers: Server[] = [];
const clients: OnlineStatusClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** A server answering every call with `answer`; it resolves the URL. */
async function serve(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(endpoint: string): OnlineStatusClient {
  const c = createTencentClient({
    sdkAppId: 1_400_000_000,
    identifier: 'administrator',
    secretKey: 'answer-size-secret-0123456789abcdef',
    endpoint,
    maxAnswerBytes: MAX,
  });
  clients.push(c);
  return c;
}

async function failureOf(call: Promise<unknown>): Promise<TencentError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TencentError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('answer size bound (apps[].maxAnswerBytes)', () => {
  it('cuts off an endless answer as malformed while it arrives, without reading it whole', async () => {
    const total = 256 * 1024 * 1024;
    let written = 0;
    let closedEarly = false;
    const url = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (closedEarly = written < total));
      pump();
    });
    const error = await failureOf(client(url).queryOnlineStatus(['a'], { detail: false }));
    expect(error).toMatchObject({ kind: 'malformed', retriable: true });
    expect(error.message).toMatch(/more than maxAnswerBytes \(1048576\)/);
    await waitFor(() => closedEarly, { description: 'the server to see the connection dropped' });
    expect(written).toBeLessThan(total / 4);
  });

  it('refuses an answer whose Content-Length is over the bound before reading it', async () => {
    const url = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX + 1) });
      res.end(Buffer.alloc(MAX + 1, 0x20));
    });
    const error = await failureOf(client(url).queryOnlineStatus(['a'], { detail: false }));
    expect(error).toMatchObject({ kind: 'malformed' });
    expect(error.message).toMatch(/answer of 1048577 bytes refused/);
  });

  it('reads an answer under the bound', async () => {
    const body = JSON.stringify({
      ActionStatus: 'OK',
      ErrorInfo: '',
      ErrorCode: 0,
      QueryResult: [{ To_Account: 'a', Status: 'Online' }],
    });
    const url = await serve((res) => res.end(body.padEnd(MAX - 10, ' ')));
    const result = await client(url).queryOnlineStatus(['a'], { detail: false });
    expect(result.results).toEqual([{ userId: 'a', state: 'Online' }]);
  });
});
