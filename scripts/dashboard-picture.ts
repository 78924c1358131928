/**
 * Renders the main panels of deploy/grafana/presence-poller.json from a real run into docs/dashboard.svg, which the
 * README shows. It starts a private Prometheus (Debian's `prometheus` package) that scrapes a running service, waits,
 * then asks Prometheus for each panel's own PromQL over the window and draws the series: the picture shows what the
 * dashboard would, with no Grafana needed.
 *
 *   npm run demo &                                     # or any running service
 *   npx tsx scripts/dashboard-picture.ts --target 127.0.0.1:9464 --seconds 120 [--out docs/dashboard.svg]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** The panels drawn, by their title in the dashboard; each keeps the dashboard's queries and legends. */
const PANELS = [
  'Calls per second: used, cap, demand',
  'Time since last completed sweep',
  'Transitions published by kind',
  'Publish latency',
  'Outbox depth',
  'Process RSS',
];
const STEP_SECONDS = 2;
const WIDTH = 480;
const HEIGHT = 230;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  title: string;
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
}
interface Series {
  label: string;
  points: Array<[number, number]>;
}

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: '127.0.0.1:9464' },
    seconds: { type: 'string', default: '120' },
    out: { type: 'string', default: 'docs/dashboard.svg' },
    port: { type: 'string', default: '19090' },
  },
});

async function main(): Promise<void> {
  const dashboard = JSON.parse(readFileSync('deploy/grafana/presence-poller.json', 'utf8')) as {
    panels: Panel[];
  };
  const panels = PANELS.map((title) => {
    const panel = dashboard.panels.find((p) => p.title === title);
    if (!panel) throw new Error(`no panel "${title}" in the dashboard`);
    return panel;
  });
  const dir = mkdtempSync(join(tmpdir(), 'presence-prometheus-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: ${STEP_SECONDS}s\nscrape_configs:\n  - job_name: presence-poller\n` +
      `    static_configs:\n      - targets: ['${values.target}']\n`,
  );
  const url = `http://127.0.0.1:${values.port}`;
  const prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${values.port}`,
    ],
    { stdio: 'ignore' },
  );
  try {
    const start = Date.now() / 1000;
    console.log(`scraping ${values.target} for ${values.seconds} s with Prometheus on ${url}`);
    await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
    const end = Date.now() / 1000;
    const drawn = await Promise.all(panels.map((panel) => queryPanel(url, panel, start + 10, end)));
    writeFileSync(values.out!, render(drawn, new Date(end * 1000)));
    console.log(`wrote ${values.out}`);
  } finally {
    prometheus.kill('SIGTERM');
    await new Promise((resolve) => prometheus.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function queryPanel(url: string, panel: Panel, start: number, end: number) {
  const series: Series[] = [];
  for (const target of panel.targets ?? []) {
    // The dashboard's variables, for every app, watchlist and job; $__rate_interval as Grafana would pick it here.
    const expr = target.expr
      .replaceAll('=~"$sdk_app_id"', '=~".*"')
      .replaceAll('=~"$watchlist"', '=~".*"')
      .replaceAll('=~"$job"', '=~".*"')
      .replaceAll('$__rate_interval', `${STEP_SECONDS * 4}s`);
    const query = new URLSearchParams({
      query: expr,
      start: String(start),
      end: String(end),
      step: String(STEP_SECONDS),
    });
    const answer = (await (await fetch(`${url}/api/v1/query_range?${query}`)).json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
    };
    if (answer.status !== 'success') throw new Error(`${panel.title}: ${answer.error}`);
    for (const result of answer.data!.result) {
      const label = (target.legendFormat ?? JSON.stringify(result.metric)).replace(
        /\{\{\s*(\w+)\s*\}\}/g,
        (_, name: string) => result.metric[name] ?? '',
      );
      series.push({ label, points: result.values.map(([t, v]) => [t, Number(v)]) });
    }
  }
  return { title: panel.title, unit: panel.fieldConfig?.defaults?.unit ?? '', series, start, end };
}

function render(panels: Awaited<ReturnType<typeof queryPanel>>[], at: Date): string {
  const columns = 2;
  const rows = Math.ceil(panels.length / columns);
  const parts = panels.map((panel, i) =>
    renderPanel(panel, (i % columns) * (WIDTH + 20) + 10, Math.floor(i / columns) * (HEIGHT + 20) + 40),
  );
  const width = columns * (WIDTH + 20) + 10;
  const height = rows * (HEIGHT + 20) + 50;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    `<text x="10" y="24" font-size="15" font-weight="bold">presence-poller dashboard: a demo run, ${at.toISOString().slice(0, 16)} UTC</text>\n` +
    `${parts.join('\n')}\n</svg>\n`
  );
}

function renderPanel(panel: Awaited<ReturnType<typeof queryPanel>>, x: number, y: number): string {
  const plot = { x: x + 50, y: y + 28, w: WIDTH - 60, h: HEIGHT - 90 };
  const all = panel.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  // An idle series (an empty outbox) keeps a scale of 1 rather than one of nothing.
  const max = (Math.max(0, ...all) || 1) * 1.1;
  const sx = (t: number) => plot.x + ((t - panel.start) / (panel.end - panel.start)) * plot.w;
  const sy = (v: number) => plot.y + plot.h - (v / max) * plot.h;
  const lines = panel.series.map((series, i) => {
    const points = series.points
      .filter(([, v]) => Number.isFinite(v))
      .map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`)
      .join(' ');
    return `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${points}"/>`;
  });
  const legend = panel.series.slice(0, 6).map((series, i) => {
    const lx = x + 10 + (i % 2) * (WIDTH / 2);
    const ly = y + HEIGHT - 42 + Math.floor(i / 2) * 14;
    return (
      `<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="${lx + 14}" y="${ly - 3}">${escape(series.label).slice(0, 60)}</text>`
    );
  });
  const seconds = Math.round(panel.end - panel.start);
  return [
    `<rect x="${x}" y="${y}" width="${WIDTH}" height="${HEIGHT}" fill="#fafafa" stroke="#ccc"/>`,
    `<text x="${x + 10}" y="${y + 18}" font-weight="bold">${escape(panel.title)}</text>`,
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="#888"/>`,
    `<line x1="${plot.x}" y1="${plot.y}" x2="${plot.x}" y2="${plot.y + plot.h}" stroke="#888"/>`,
    `<text x="${plot.x - 4}" y="${plot.y + 4}" text-anchor="end">${format(max / 1.1, panel.unit)}</text>`,
    `<text x="${plot.x - 4}" y="${plot.y + plot.h}" text-anchor="end">0</text>`,
    `<text x="${plot.x + plot.w}" y="${plot.y + plot.h + 13}" text-anchor="end">last ${seconds} s</text>`,
    ...(panel.series.length === 0
      ? [`<text x="${plot.x + 10}" y="${plot.y + 20}" fill="#888">no data</text>`]
      : lines),
    ...legend,
  ].join('\n');
}

function format(value: number, unit: string): string {
  if (unit === 'bytes') return `${(value / 2 ** 20).toFixed(0)} MiB`;
  if (unit === 's') return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(1)} s`;
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

await main();
