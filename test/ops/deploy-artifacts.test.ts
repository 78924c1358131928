import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startOpsServer, type OpsServer } from '../../src/ops/http-server.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { metricNameOf, parseExposition } from './exposition.js';
import { tencentErrorLabels } from '../../src/tencent/errors.js';

/**
 * The alert rules and the dashboard name metrics by string; these tests tie those strings to what the service
 * exports, so a renamed family breaks here instead of silently emptying a panel or an alert.
 */

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

const rules = (
  parse(read('deploy/prometheus/alerts.yaml')) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule) => rule.alert !== undefined);

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string }>;
}
const panelExpressions = (panels: Panel[] = []): string[] =>
  panels.flatMap((panel) => [
    ...panelExpressions(panel.panels),
    ...(panel.targets ?? []).flatMap((target) => (target.expr ? [target.expr] : [])),
  ]);
const dashboard = JSON.parse(read('deploy/grafana/presence-poller.json')) as {
  panels: Panel[];
  templating: { list: Array<{ definition?: string }> };
};
const dashboardQueries = [
  ...panelExpressions(dashboard.panels),
  ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
];

/** Metric names the service must export; `up` is Prometheus's own, recording rules (with colons) are the rules'. */
const SERVICE_METRIC = /\b(?:presence|process|nodejs)_[a-z0-9_]+\b/g;
const namesIn = (expressions: string[]) =>
  [...new Set(expressions.flatMap((expr) => expr.match(SERVICE_METRIC) ?? []))].sort();

describe('deploy artifacts', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('use only metrics that a fresh service exports, with samples at 0 where nothing happened yet', async () => {
    const metrics = createMetrics({ defaultMetrics: true, errorLabels: tencentErrorLabels() });
    metrics.initApp({
      sdkAppId: 1400000000,
      name: 'demo',
      callsPerSecond: 200,
      watchlists: [{ name: 'vip', intervalMs: 10_000, members: 1_200 }],
    });
    metrics.initKafka();
    metrics.addProbe('redis:1400000000', async () => {});
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: async () => ({ ready: true, checks: {} }),
    });
    const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    const exported = new Set([...samples.keys()].map(metricNameOf));

    const used = namesIn([
      ...alerts.map((rule) => rule.expr),
      ...rules.map((rule) => rule.expr),
      ...dashboardQueries,
    ]);
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);

    const countsNothingYet = (name: string) =>
      /_(total|bucket|count|sum)$/.test(name) && name.startsWith('presence_');
    const nonZero = [...samples]
      .filter(([series]) => used.includes(metricNameOf(series)) && countsNothingYet(metricNameOf(series)))
      .filter(([, value]) => value !== 0);
    expect(nonZero).toEqual([]);
  });

  it('use neither the old presence_ runtime prefix nor the app label', () => {
    const all = [...alerts.map((rule) => rule.expr), ...dashboardQueries].join('\n');
    expect(all).not.toMatch(/presence_(process|nodejs)_/);
    expect(all).not.toMatch(/[{,(\s]app\s*=/);
  });

  it('link every alert to a runbook paragraph that exists', () => {
    const anchors = new Set(
      read('deploy/RUNBOOK.md')
        .split('\n')
        .filter((line) => /^#{2,3} /.test(line))
        .map((line) =>
          line
            .replace(/^#+ /, '')
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replaceAll(' ', '-'),
        ),
    );
    for (const alert of alerts) {
      expect(alert.annotations?.summary, alert.alert).toBeTruthy();
      const link = alert.annotations?.runbook_url ?? '';
      expect(link, alert.alert).toMatch(/^deploy\/RUNBOOK\.md#/);
      expect(anchors, `${alert.alert} -> ${link}`).toContain(link.split('#')[1]);
    }
  });

  it('test every alert with a case where it fires and one where it stays quiet', () => {
    const tests = (parse(read('deploy/prometheus/alerts.test.yaml')) as { tests: AlertTest[] }).tests;
    const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} stays quiet somewhere`,
      ).toBe(true);
    }
  });
});
