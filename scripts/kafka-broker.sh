#!/usr/bin/env bash
# Starts or stops one single-node Apache Kafka broker (KRaft, broker+controller) on loopback.
#   scripts/kafka-broker.sh start DIR PORT CONTROLLER_PORT [3|4]   # formats DIR on first use, starts in background
#   scripts/kafka-broker.sh stop DIR                                # stops the broker whose pid is in DIR
#   scripts/kafka-broker.sh status DIR
# The optional last argument picks the Kafka line (default 3: 3.9.x; 4: 4.1.x, see scripts/kafka-classpath.sh).
# Logs go to DIR/kafka.log, data to DIR/data. Readiness is checked by the caller with a real round trip
# (scripts/wait-for-kafka.ts), not here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:?usage: kafka-broker.sh start|stop|status DIR [PORT CONTROLLER_PORT [3|4]]}"
dir="${2:?broker directory required}"
pidfile="$dir/kafka.pid"

is_running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
  start)
    port="${3:?PORT required}"
    cport="${4:?CONTROLLER_PORT required}"
    line="${5:-3}"
    if is_running; then echo "kafka already running in $dir (pid $(cat "$pidfile"))"; exit 0; fi
    libs="$("$here/kafka-classpath.sh" "$line")"
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
    if [ "$line" = 3 ] || [ "$line" = 3.x ]; then
      # Kafka 3.x logs through reload4j (Log4j 1 syntax).
      cat >"$dir/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS
      log_opt="-Dlog4j.configuration=file:$dir/log4j.properties"
    else
      # Kafka 4.x logs through Log4j 2, which reads its own properties syntax.
      cat >"$dir/log4j2.properties" <<PROPS
appender.file.type=File
appender.file.name=file
appender.file.fileName=$dir/kafka.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
PROPS
      log_opt="-Dlog4j2.configurationFile=$dir/log4j2.properties"
    fi
    java_opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true "$log_opt")
    if [ ! -f "$dir/data/meta.properties" ]; then
      cluster_id="$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>>"$dir/kafka.log")"
      java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$dir/server.properties" >>"$dir/kafka.log" 2>&1
    fi
    # setsid: the broker must not die with the shell that started it, and must not hold its terminal.
    setsid java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
      >>"$dir/kafka.out" 2>&1 </dev/null &
    echo $! >"$pidfile"
    echo "kafka starting on 127.0.0.1:$port (pid $!, logs $dir/kafka.log)"
    ;;
  stop)
    if ! is_running; then rm -f "$pidfile"; exit 0; fi
    pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$pidfile"
    ;;
  status)
    if is_running; then echo "kafka running (pid $(cat "$pidfile"))"; else echo "kafka stopped"; exit 3; fi
    ;;
  *) echo "unknown command: $cmd" >&2; exit 2 ;;
esac
