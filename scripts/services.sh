#!/usr/bin/env bash
# Local Redis and Kafka for the demo and for manual runs, without Docker.
#   scripts/services.sh up       # start both (installs redis-server with apt-get when missing and root)
#   scripts/services.sh down     # stop both
#   scripts/services.sh status
# Redis: 127.0.0.1:${PRESENCE_REDIS_PORT:-6380} (AOF on, noeviction) — not the machine's shared 6379.
# Kafka: 127.0.0.1:${PRESENCE_KAFKA_PORT:-9092}, controller on ${PRESENCE_KAFKA_CONTROLLER_PORT:-9093}.
# State lives in ${PRESENCE_CACHE_DIR:-~/.cache/presence-poller}/run; the Kafka jars are cached beside it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache_root="${PRESENCE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/presence-poller}"
run_dir="$cache_root/run"
redis_port="${PRESENCE_REDIS_PORT:-6380}"
kafka_port="${PRESENCE_KAFKA_PORT:-9092}"
kafka_cport="${PRESENCE_KAFKA_CONTROLLER_PORT:-9093}"

ensure_redis_binary() {
  command -v redis-server >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "redis-server not found: installing it with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server not found: install it (Debian/Ubuntu: sudo apt-get install -y redis-server)" >&2
    exit 1
  fi
}

redis_up() {
  ensure_redis_binary
  mkdir -p "$run_dir/redis"
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then echo "redis already up on 127.0.0.1:$redis_port"; return; fi
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$run_dir/redis" --save '' --appendonly yes --appendfsync always \
    --maxmemory-policy noeviction --daemonize yes --pidfile "$run_dir/redis/redis.pid" \
    --logfile "$run_dir/redis/redis.log"
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null || { echo "redis did not start; see $run_dir/redis/redis.log" >&2; exit 1; }
  echo "redis up on 127.0.0.1:$redis_port"
}

kafka_up() {
  "$here/kafka-broker.sh" start "$run_dir/kafka" "$kafka_port" "$kafka_cport"
  (cd "$root" && npx --no-install tsx scripts/wait-for-kafka.ts "127.0.0.1:$kafka_port" 90) \
    || { echo "kafka did not answer; see $run_dir/kafka/kafka.log" >&2; exit 1; }
}

case "${1:-status}" in
  up) redis_up; kafka_up ;;
  down)
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    "$here/kafka-broker.sh" stop "$run_dir/kafka"
    echo "services stopped"
    ;;
  status)
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then echo "redis up on 127.0.0.1:$redis_port"; else echo "redis down"; fi
    "$here/kafka-broker.sh" status "$run_dir/kafka" || true
    ;;
  *) echo "usage: scripts/services.sh up|down|status" >&2; exit 2 ;;
esac
