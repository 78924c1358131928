#!/usr/bin/env bash
# Checks the deploy artifacts with promtool: the alert rules parse, their unit tests pass, and every PromQL query of
# the Grafana dashboard parses (as recording rules). Metric names are checked against /metrics by
# test/ops/deploy-artifacts.test.ts.
#   usage: scripts/check-deploy.sh     (needs promtool: apt-get install -y prometheus)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v promtool >/dev/null || { echo "promtool not found: apt-get install -y prometheus" >&2; exit 1; }

promtool check rules deploy/prometheus/alerts.yaml
promtool test rules deploy/prometheus/alerts.test.yaml

panel_rules="$(mktemp --suffix=.yaml)"
trap 'rm -f "$panel_rules"' EXIT
node scripts/dashboard-rules.mjs deploy/grafana/presence-poller.json >"$panel_rules"
echo "dashboard queries:"
promtool check rules "$panel_rules"
