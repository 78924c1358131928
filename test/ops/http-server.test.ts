import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/ops/metrics.js';
import { startOpsServer, type OpsServer, type Readiness } from '../../src/ops/http-server.js';

describe('ops HTTP server', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (readiness: () => Promise<Readiness>, readinessTimeoutMs?: number) => {
    const metrics = createMetrics();
    metrics.configReloads.inc({ outcome: 'applied' });
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness,
      ...(readinessTimeoutMs ? { readinessTimeoutMs } : {}),
    });
    return server;
  };
  const ready = async (): Promise<Readiness> => ({ ready: true, checks: { 'redis:demo': { ok: true } } });

  it('binds a free port when asked for port 0 and serves Prometheus metrics', async () => {
    const { port, url } = await start(ready);
    expect(port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('presence_config_reloads_total{outcome="applied"} 1');
  });

  it('answers /healthz with 200', async () => {
    const { url } = await start(ready);
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 and the checks when ready', async () => {
    const { url } = await start(ready);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { 'redis:demo': { ok: true } } });
  });

  it('answers /readyz with 503 and the reason when a check fails', async () => {
    const { url } = await start(async () => ({
      ready: false,
      checks: { 'redis:demo': { ok: true }, kafka: { ok: false, reason: 'no broker' } },
    }));
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, checks: { kafka: { reason: 'no broker' } } });
  });

  it('answers 503 when the readiness callback throws or is too slow', async () => {
    let mode: 'throw' | 'hang' = 'throw';
    const { url } = await start(() => {
      if (mode === 'throw') return Promise.reject(new Error('probe broke'));
      return new Promise<Readiness>(() => undefined);
    }, 100);
    const thrown = await fetch(`${url}/readyz`);
    expect(thrown.status).toBe(503);
    expect(await thrown.json()).toMatchObject({ checks: { readiness: { reason: 'probe broke' } } });
    mode = 'hang';
    const slow = await fetch(`${url}/readyz`);
    expect(slow.status).toBe(503);
    expect(await slow.json()).toMatchObject({ checks: { readiness: { reason: 'no answer within 100 ms' } } });
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { url } = await start(ready);
    expect((await fetch(`${url}/`)).status).toBe(404);
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('stops accepting connections once closed', async () => {
    const { url } = await start(ready);
    await server!.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
