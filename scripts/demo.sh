#!/usr/bin/env bash
# The product end to end on this machine: local Redis and Kafka, the Tencent simulator, the poller with the
# example config, and a live view of the transitions arriving in Kafka. Ctrl-C stops everything it started.
#   npm run demo                      # runs until Ctrl-C
#   DEMO_SECONDS=90 npm run demo      # stops by itself after 90 s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund
export TENCENT_IM_SECRET_KEY="${TENCENT_IM_SECRET_KEY:-demo-only-secret-key-for-the-local-simulator}"
export REDIS_URL="redis://127.0.0.1:${PRESENCE_REDIS_PORT:-6380}"
export KAFKA_BROKERS="127.0.0.1:${PRESENCE_KAFKA_PORT:-9092}"
export PRESENCE__HTTP__PORT="${PRESENCE__HTTP__PORT:-9464}"
log_dir="${PRESENCE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/presence-poller}/demo"
mkdir -p "$log_dir"
cli=(node --import tsx src/cli.ts)
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/services.sh down >/dev/null || true
  echo "demo stopped; logs in $log_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/services.sh up

echo "starting the Tencent simulator on 127.0.0.1:8089 (3,000 users, 20 changes/s)"
"${cli[@]}" simulator --port 8089 --users 3000 --churn 20 --latency-min 30 --latency-max 80 >"$log_dir/simulator.log" 2>&1 &
pids+=($!)
"${cli[@]}" check-config --config config/presence.yaml
echo "starting the poller (all roles); metrics on http://127.0.0.1:$PRESENCE__HTTP__PORT/metrics"
"${cli[@]}" run --config config/presence.yaml >"$log_dir/poller.log" 2>&1 &
pids+=($!)

# The poller creates the topics at start; follow them once it reports ready.
node -e '
  const url = process.argv[1], deadline = Date.now() + 90_000;
  (async () => {
    while (Date.now() < deadline) {
      try { if ((await fetch(url)).ok) return; } catch {}
      await new Promise((r) => setTimeout(r, 500));
    }
    console.error(`the poller did not become ready; see its log in ${process.argv[2]}`);
    process.exit(1);
  })();
' "http://127.0.0.1:$PRESENCE__HTTP__PORT/readyz" "$log_dir/poller.log"
echo "transitions arriving in Kafka (presence.transitions):"
if [ -n "${DEMO_SECONDS:-}" ]; then
  timeout "$DEMO_SECONDS" "${cli[@]}" tail --config config/presence.yaml || true
else
  "${cli[@]}" tail --config config/presence.yaml
fi
