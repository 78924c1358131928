// Prints every PromQL expression of a Grafana dashboard as a Prometheus rule file (JSON is valid YAML), so
// `promtool check rules` parses each panel query. Grafana's variables become what Grafana would substitute:
// `$__rate_interval` a duration, `$var` (always used as `=~"$var"`) the regex of "All".
//   usage: node scripts/dashboard-rules.mjs deploy/grafana/presence-poller.json > /tmp/rules.yaml
import { readFileSync } from 'node:fs';
import process from 'node:process';

const fail = (message, code = 1) => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

const [dashboardPath] = process.argv.slice(2);
if (!dashboardPath) {
  fail('usage: node scripts/dashboard-rules.mjs <dashboard.json>', 2);
}

const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));
const rules = [];
const visit = (panels) => {
  for (const panel of panels ?? []) {
    visit(panel.panels);
    for (const target of panel.targets ?? []) {
      if (!target.expr) continue;
      const expr = target.expr
        .replaceAll(/\$__(rate_interval|interval|range)\b/g, '5m')
        .replaceAll(/"\$\{?[a-z_]+\}?"/g, '".*"');
      if (expr.includes('$')) {
        fail(`panel "${panel.title}" ${target.refId}: unsupported variable in ${target.expr}`);
      }
      rules.push({ record: `dashboard:panel_${panel.id}:${target.refId.toLowerCase()}`, expr });
    }
  }
};
visit(dashboard.panels);
if (rules.length === 0) {
  fail(`no PromQL expressions found in ${dashboardPath}`);
}
process.stdout.write(`${JSON.stringify({ groups: [{ name: 'dashboard-panels', rules }] }, null, 2)}\n`);
