import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_KINDS } from '../../src/vocabulary.js';
import { createMetrics, type AppMetricsInit } from '../../src/ops/metrics.js';
import { TENCENT_ERROR_CODES } from '../../src/tencent/errors.js';
import { waitFor } from '../helpers/wait-for.js';
import { parseExposition } from './exposition.js';
import { tencentErrorLabels } from '../../src/tencent/errors.js';

const APP: AppMetricsInit = {
  sdkAppId: 1400000000,
  name: 'demo',
  callsPerSecond: 2,
  watchlists: [
    { name: 'vip', intervalMs: 10_000, members: 1_200 },
    { name: 'all', intervalMs: 60_000, members: 20_000, chunks: 40 },
  ],
};

const scrape = async (metrics: ReturnType<typeof createMetrics>) =>
  parseExposition(await metrics.registry.metrics());

describe('metrics', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('exports the Node.js runtime metrics without the presence_ prefix', async () => {
    const text = await createMetrics({
      defaultMetrics: true,
      errorLabels: tencentErrorLabels(),
    }).registry.metrics();
    const samples = parseExposition(text);
    expect(samples.has('process_cpu_seconds_total')).toBe(true);
    expect(samples.has('process_resident_memory_bytes')).toBe(true);
    expect(samples.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(text).not.toMatch(/^presence_(process|nodejs)_/m);
  });

  it('reports the version of package.json and the revision from PRESENCE_REVISION', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const without = await scrape(createMetrics({ errorLabels: tencentErrorLabels() }));
    expect(without.get(`presence_build_info{version="${version}",revision="unknown"}`)).toBe(1);

    vi.stubEnv('PRESENCE_REVISION', '1b5d067');
    const withRevision = await scrape(createMetrics({ errorLabels: tencentErrorLabels() }));
    expect(withRevision.get(`presence_build_info{version="${version}",revision="1b5d067"}`)).toBe(1);
  });

  it('exports the SDKAppID that call sites pass as app under the label sdk_app_id', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.calls.inc({ app: '1400000000', outcome: 'ok' });
    metrics.calls.inc({ app: 1400000000, outcome: 'ok' });
    metrics.publishLatency.observe({ app: '1400000000' }, 0.2);
    const text = await metrics.registry.metrics();
    expect(
      parseExposition(text).get('presence_tencent_calls_total{sdk_app_id="1400000000",outcome="ok"}'),
    ).toBe(2);
    expect(parseExposition(text).get('presence_publish_latency_seconds_count{sdk_app_id="1400000000"}')).toBe(
      1,
    );
    expect(text).not.toMatch(/[{,]app="/);
  });

  it('keeps histogram observations when the app probe initialises the app, first or again, at a scrape', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    // Events published before the first scrape, which is when the probe first initialises the app.
    metrics.publishLatency.observe({ app: APP.sdkAppId }, 0.2);
    metrics.initApp(APP);
    metrics.transitionLatency.observe({ app: APP.sdkAppId, detected_by: 'hint' }, 0.3);
    metrics.sweepDuration.observe({ app: APP.sdkAppId, watchlist: 'vip' }, 4);
    metrics.initApp(APP);
    const samples = await scrape(metrics);
    const app = 'sdk_app_id="1400000000"';
    expect(samples.get(`presence_publish_latency_seconds_count{${app}}`)).toBe(1);
    expect(samples.get(`presence_transition_latency_seconds_count{${app},detected_by="hint"}`)).toBe(1);
    expect(samples.get(`presence_sweep_duration_seconds_count{${app},watchlist="vip"}`)).toBe(1);
  });

  it('initialises every label set it can enumerate at 0', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.initApp(APP);
    const samples = await scrape(metrics);
    const app = 'sdk_app_id="1400000000"';
    for (const kind of Object.keys(TENCENT_ERROR_CODES)) {
      const series = [...samples].filter(([name]) =>
        name.startsWith(`presence_tencent_errors_total{${app},kind="${kind}"`),
      );
      expect(samples.get(`presence_tencent_errors_total{${app},kind="${kind}",error_code=""}`), kind).toBe(0);
      expect(series.every(([, value]) => value === 0)).toBe(true);
    }
    expect(samples.get(`presence_tencent_errors_total{${app},kind="fatal_config",error_code="70009"}`)).toBe(
      0,
    );
    expect(samples.get(`presence_tencent_errors_total{${app},kind="timeout",error_code=""}`)).toBe(0);
    for (const outcome of ['ok', 'error'])
      expect(samples.get(`presence_tencent_calls_total{${app},outcome="${outcome}"}`)).toBe(0);
    for (const kind of EVENT_KINDS)
      expect(samples.get(`presence_events_published_total{${app},kind="${kind}"}`)).toBe(0);
    for (const decision of ['start', 'resume', 'skip'])
      expect(samples.get(`presence_sweeps_total{${app},watchlist="vip",decision="${decision}"}`)).toBe(0);
    for (const outcome of ['applied', 'unchanged', 'rejected', 'failed'])
      expect(samples.get(`presence_config_reloads_total{outcome="${outcome}"}`)).toBe(0);
    expect(samples.get(`presence_chunks_given_up_total{${app},watchlist="all"}`)).toBe(0);
    expect(samples.get(`presence_relay_errors_total{${app}}`)).toBe(0);
    expect(samples.get(`presence_account_errors_total{${app},error_code="70107"}`)).toBe(0);
    expect(samples.get(`presence_publish_latency_seconds_count{${app}}`)).toBe(0);
    for (const source of ['sweep', 'hint', 'callback'])
      expect(samples.get(`presence_transition_latency_seconds_count{${app},detected_by="${source}"}`)).toBe(
        0,
      );
    expect(samples.get(`presence_sweep_duration_seconds_count{${app},watchlist="vip"}`)).toBe(0);
    expect(samples.get(`presence_sweep_last_completed_timestamp_seconds{${app},watchlist="vip"}`)).toBe(0);
    expect(samples.get(`presence_outbox_entries{${app}}`)).toBe(0);
    expect(samples.get(`presence_relay_lease_present{${app}}`)).toBe(0);
  });

  it('records the configuration: cap, intervals, members and the app name on one info series', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.initApp(APP);
    const text = await metrics.registry.metrics();
    const samples = parseExposition(text);
    const app = 'sdk_app_id="1400000000"';
    expect(samples.get(`presence_app_info{${app},app_name="demo"}`)).toBe(1);
    expect(samples.get(`presence_cap_calls_per_second{${app}}`)).toBe(2);
    expect(samples.get(`presence_watchlist_interval_seconds{${app},watchlist="vip"}`)).toBe(10);
    expect(samples.get(`presence_watchlist_members{${app},watchlist="all"}`)).toBe(20_000);
    expect(text.match(/app_name=/g)).toHaveLength(1);
  });

  it('computes the demand against the cap from chunks per interval', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.initApp(APP);
    // vip: ceil(1200 / 500) = 3 chunks every 10 s; all: 40 chunks every 60 s; cap 2 calls/s.
    const expected = (3 / 10 + 40 / 60) / 2;
    expect((await scrape(metrics)).get('presence_cap_demand_ratio{sdk_app_id="1400000000"}')).toBeCloseTo(
      expected,
      9,
    );
  });

  it('on a reload drops the watchlists that left and keeps what the probes read for the others', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.initApp(APP);
    metrics.sweepLastCompleted.set({ app: '1400000000', watchlist: 'vip' }, 1_800_000_000);
    metrics.chunksGivenUp.inc({ app: '1400000000', watchlist: 'vip' });
    metrics.initApp({ ...APP, watchlists: [{ name: 'vip', intervalMs: 5_000, members: 100 }] });
    const text = await metrics.registry.metrics();
    const samples = parseExposition(text);
    const vip = 'sdk_app_id="1400000000",watchlist="vip"';
    expect(samples.get(`presence_sweep_last_completed_timestamp_seconds{${vip}}`)).toBe(1_800_000_000);
    expect(samples.get(`presence_chunks_given_up_total{${vip}}`)).toBe(1);
    expect(samples.get(`presence_watchlist_interval_seconds{${vip}}`)).toBe(5);
    expect(text).not.toContain('watchlist="all"');
    expect(samples.get('presence_cap_demand_ratio{sdk_app_id="1400000000"}')).toBeCloseTo(1 / 5 / 2, 9);
  });

  it('refuses a zero cap, a zero interval or a zero probe bound with a clear error', () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    expect(() => metrics.initApp({ ...APP, callsPerSecond: 0 })).toThrow(/callsPerSecond must be > 0, got 0/);
    expect(() =>
      metrics.initApp({ ...APP, watchlists: [{ name: 'vip', intervalMs: 0, members: 1 }] }),
    ).toThrow(/watchlist "vip" intervalMs must be > 0/);
    expect(() => createMetrics({ probeTimeoutMs: 0 })).toThrow(/probeTimeoutMs must be > 0/);
  });

  it('exports presence_kafka_connected only in processes that call initKafka', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    expect((await scrape(metrics)).has('presence_kafka_connected')).toBe(false);
    metrics.initKafka();
    expect((await scrape(metrics)).get('presence_kafka_connected')).toBe(0);
    metrics.kafkaConnected.set({}, 1);
    expect((await scrape(metrics)).get('presence_kafka_connected')).toBe(1);
  });
});

describe('metrics probes', () => {
  const outbox = 'presence_outbox_entries{sdk_app_id="1400000000"}';

  it('keep what flow events and other probes set when the app probe initialises the app again', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.addProbe('redis-connection:1400000000', async () => {
      metrics.redisConnected.set({ app: '1400000000' }, 1);
    });
    metrics.addProbe('redis:1400000000', async () => metrics.initApp(APP));
    metrics.relayActive.set({ app: '1400000000' }, 1);
    for (let scrapes = 0; scrapes < 2; scrapes++) {
      const samples = await scrape(metrics);
      expect(samples.get('presence_redis_connected{sdk_app_id="1400000000"}')).toBe(1);
      expect(samples.get('presence_relay_lease_held{sdk_app_id="1400000000"}')).toBe(1);
    }
  });

  it('run on every scrape, so the gauges show what the probe reads now', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    let reads = 0;
    metrics.addProbe('redis:1400000000', async () => {
      reads += 1;
      metrics.outboxLength.set({ app: '1400000000' }, reads * 10);
    });
    expect((await scrape(metrics)).get(outbox)).toBe(10);
    const second = await scrape(metrics);
    expect(second.get(outbox)).toBe(20);
    expect(second.get('presence_probe_success{probe="redis:1400000000"}')).toBe(1);
  });

  it('bound the scrape by probeTimeoutMs and do not start a probe still running', async () => {
    const metrics = createMetrics({ probeTimeoutMs: 50 });
    let release: () => void = () => {};
    let starts = 0;
    metrics.addProbe('hung', () => {
      starts += 1;
      if (starts > 1) return Promise.resolve();
      return new Promise<void>((resolve) => (release = resolve));
    });
    metrics.calls.inc({ app: '1', outcome: 'ok' });

    const first = await scrape(metrics);
    expect(first.get('presence_probe_success{probe="hung"}')).toBe(0);
    expect(first.get('presence_tencent_calls_total{sdk_app_id="1",outcome="ok"}')).toBe(1);
    expect((await scrape(metrics)).get('presence_probe_success{probe="hung"}')).toBe(0);
    expect(starts).toBe(1);

    // Once it answers, the late result counts, and the next scrape starts the probe afresh.
    release();
    await waitFor(async () => (await scrape(metrics)).get('presence_probe_success{probe="hung"}') === 1, {
      description: 'the released probe to count as answered',
    });
    expect((await scrape(metrics)).get('presence_probe_success{probe="hung"}')).toBe(1);
    expect(starts).toBe(2);
  });

  it('report a failing probe as 0 and keep the values it set before', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    let fail = false;
    metrics.addProbe('redis:1400000000', async () => {
      if (fail) throw new Error('connection lost');
      metrics.outboxLength.set({ app: '1400000000' }, 7);
    });
    expect((await scrape(metrics)).get(outbox)).toBe(7);
    fail = true;
    const samples = await scrape(metrics);
    expect(samples.get('presence_probe_success{probe="redis:1400000000"}')).toBe(0);
    expect(samples.get(outbox)).toBe(7);
  });

  it('count a probe that throws synchronously as failed without failing the scrape', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    metrics.addProbe('broken', () => {
      throw new Error('not async');
    });
    expect((await scrape(metrics)).get('presence_probe_success{probe="broken"}')).toBe(0);
  });

  it('refuse a second probe of the same name, and removing one drops its series', async () => {
    const metrics = createMetrics({ errorLabels: tencentErrorLabels() });
    const remove = metrics.addProbe('redis:1', async () => {});
    expect(() => metrics.addProbe('redis:1', async () => {})).toThrow(/already registered/);
    expect((await scrape(metrics)).get('presence_probe_success{probe="redis:1"}')).toBe(1);
    remove();
    expect((await scrape(metrics)).has('presence_probe_success{probe="redis:1"}')).toBe(false);
  });
});
