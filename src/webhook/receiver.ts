import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookConfig } from '../config/schema.js';
import {
  CALLBACK_OK_BODY,
  checkCallbackQuery,
  parseStateChange,
  REFUSAL_STATUS,
  type StateChange,
} from './callback.js';
import type { CallbackOutcome, CallbackRefusal } from '../vocabulary.js';

export interface CallbackReceiverOptions {
  settings: WebhookConfig;
  /** The callback token of an app: a string (signed callbacks), `undefined` (unsigned), `null` (not an app here). */
  tokenOf(sdkAppId: number): string | undefined | null;
  /** A verified state change (the answer has been sent already). */
  onStateChange(sdkAppId: number, change: StateChange, receivedAtMs: number): void;
  /** Every request's outcome, for metrics (never the body). */
  onOutcome(outcome: CallbackOutcome, sdkAppId: number | undefined): void;
}

export interface CallbackReceiver {
  /** e.g. `http://127.0.0.1:9465/tencent/callback` (a wildcard host shown as 127.0.0.1). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The webhook role's HTTP server. Each request is checked in order (path, method, rate, app, command, signature, size,
 * body) and refused at the first failure with its HTTP status and a short JSON reason; an accepted one is answered
 * with Tencent's success body before anything else happens. Bodies and query strings (which carry the signature)
 * never reach a log: only outcomes are reported.
 */
export async function startCallbackReceiver(options: CallbackReceiverOptions): Promise<CallbackReceiver> {
  const { settings } = options;
  const bucket = createTokenBucket(settings.maxRequestsPerSecond);

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 'malformed', 'the request could not be read', undefined);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;

  function refuse(
    res: ServerResponse,
    refusal: CallbackRefusal,
    reason: string,
    sdkAppId: number | undefined,
  ): void {
    options.onOutcome(refusal, sdkAppId);
    const body = JSON.stringify({
      ActionStatus: 'FAIL',
      ErrorCode: REFUSAL_STATUS[refusal],
      ErrorInfo: reason,
    });
    res.writeHead(REFUSAL_STATUS[refusal], { 'content-type': 'application/json', connection: 'close' });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== settings.path) return refuse(res, 'not_found', 'no such path', undefined);
    if (req.method !== 'POST') return refuse(res, 'method_not_allowed', 'callbacks are POSTed', undefined);
    if (!bucket.take()) return refuse(res, 'rate_limited', 'too many callbacks; slow down', undefined);
    const now = Date.now();
    const query = checkCallbackQuery(url.searchParams, options.tokenOf, now);
    if (!query.ok) return refuse(res, query.refusal, query.reason, undefined);
    const sdkAppId = query.value;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > settings.maxBodyBytes) {
      return refuse(res, 'too_large', `the body is over ${settings.maxBodyBytes} bytes`, sdkAppId);
    }
    const body = await readBody(req, settings.maxBodyBytes);
    if (body === undefined) {
      return refuse(res, 'too_large', `the body is over ${settings.maxBodyBytes} bytes`, sdkAppId);
    }
    const change = parseStateChange(body);
    if (!change.ok) return refuse(res, change.refusal, change.reason, sdkAppId);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(CALLBACK_OK_BODY);
    options.onOutcome('accepted', sdkAppId);
    options.onStateChange(sdkAppId, change.value, now);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host =
    address === '0.0.0.0' || address === '::'
      ? '127.0.0.1'
      : address.includes(':')
        ? `[${address}]`
        : address;
  return {
    url: `http://${host}:${port}${settings.path}`,
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The body as text, or `undefined` as soon as it grows past `maxBytes` (the rest is not read). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** At most `perSecond` requests a second, refilled continuously (a burst of up to one second's worth passes). */
function createTokenBucket(perSecond: number): { take(): boolean } {
  let tokens = perSecond;
  let last = Date.now();
  return {
    take() {
      const now = Date.now();
      tokens = Math.min(perSecond, tokens + ((now - last) / 1000) * perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
