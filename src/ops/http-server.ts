/**
 * The operations endpoint: `GET /metrics` (Prometheus text from the process registry), `GET /healthz` (liveness:
 * 200 while the event loop answers) and `GET /readyz` (readiness: 200 when every check passes, else 503 with the
 * reasons as JSON), and `GET /status` when given a status callback. What "ready" means is the caller's `readiness()` callback; this module only serves it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createSilentLogger, type Logger } from './logger.js';

/** One named check and, when it fails, why. */
export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
  /** What is known of the dependencies, for people and dashboards; never part of `ready`. */
  dependencies?: Record<string, string>;
}

export interface OpsServerOptions {
  /** Interface to listen on, e.g. `0.0.0.0`. */
  host: string;
  /** Port; 0 = any free port (see `OpsServer.port`). */
  port: number;
  registry: Registry;
  readiness: () => Promise<Readiness>;
  /** `GET /status`: a JSON report (read from Redis, so bounded by `statusTimeoutMs`). Absent: no such path. */
  status?: () => Promise<unknown>;
  /** A status callback slower than this answers 503. Default 5000 ms. */
  statusTimeoutMs?: number;
  /** A readiness callback slower than this counts as not ready. Default 2000 ms. */
  readinessTimeoutMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

export interface OpsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Where to reach it, e.g. `http://127.0.0.1:9464` (a wildcard host such as 0.0.0.0 is shown as 127.0.0.1). */
  readonly url: string;
  /** The address actually bound, e.g. `0.0.0.0:9464` or `[::1]:9464`. */
  readonly address: string;
  /** Stops accepting, ends keep-alive connections, resolves once closed. */
  close(): Promise<void>;
}

export const DEFAULT_OPS_SERVER_OPTIONS = {
  readinessTimeoutMs: 2_000,
} satisfies Partial<OpsServerOptions>;

/** Starts the server and resolves once it listens. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const logger = options.logger ?? createSilentLogger();
  const timeoutMs = options.readinessTimeoutMs ?? DEFAULT_OPS_SERVER_OPTIONS.readinessTimeoutMs;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  const paths = ['/metrics', '/healthz', '/readyz', ...(options.status ? ['/status'] : [])];
  const statusTimeoutMs = options.statusTimeoutMs ?? 5_000;

  async function sendStatus(res: ServerResponse, status: () => Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no status within ${statusTimeoutMs} ms`)), statusTimeoutMs);
    });
    try {
      send(res, 200, 'application/json', JSON.stringify(await Promise.race([status(), late])));
    } catch (error) {
      send(res, 503, 'application/json', JSON.stringify({ error: (error as Error).message }));
    } finally {
      clearTimeout(timer);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!paths.includes(path)) {
      return send(res, 404, 'application/json', JSON.stringify({ error: 'not found', paths }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
    }
    if (path === '/metrics') {
      return send(res, 200, options.registry.contentType, await options.registry.metrics());
    }
    if (path === '/healthz') return send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/status' && options.status) return sendStatus(res, options.status);
    const readiness = await withTimeout(options.readiness(), timeoutMs);
    send(res, readiness.ready ? 200 : 503, 'application/json', JSON.stringify(readiness));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    port,
    address: `${host}:${port}`,
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function withTimeout(check: Promise<Readiness>, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Readiness>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ready: false,
          checks: { readiness: { ok: false, reason: `no answer within ${timeoutMs} ms` } },
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      check.catch((error: unknown): Readiness => ({
        ready: false,
        checks: { readiness: { ok: false, reason: (error as Error).message } },
      })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
