#!/usr/bin/env bash
# Prints the directory holding the Apache Kafka broker's jars, resolving them with Maven on first use.
# The jars are cached outside the work tree (per Kafka version), so later starts take seconds.
#   usage: scripts/kafka-classpath.sh [3|4]
#     3 (default): scripts/kafka/pom.xml     -> e.g. /root/.cache/presence-poller/kafka-3.9.1/libs
#     4:           scripts/kafka/4.x/pom.xml -> e.g. /root/.cache/presence-poller/kafka-4.1.1/libs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
line="${1:-3}"
case "$line" in
  3 | 3.x) pom="$here/kafka/pom.xml" ;;
  4 | 4.x) pom="$here/kafka/4.x/pom.xml" ;;
  *) echo "unknown Kafka line: $line (use 3 or 4)" >&2; exit 2 ;;
esac
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
cache_root="${PRESENCE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/presence-poller}"
libs="$cache_root/kafka-$version/libs"

if [ ! -f "$libs/.complete" ]; then
  command -v java >/dev/null || { echo "java not found: install a JDK 17+ (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "mvn not found: install Maven (apt-get install -y maven)" >&2; exit 1; }
  echo "resolving Apache Kafka $version jars into $libs (first run only)" >&2
  rm -rf "$libs.tmp" && mkdir -p "$libs.tmp"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >&2
  rm -rf "$libs" && mv "$libs.tmp" "$libs"
  touch "$libs/.complete"
fi
echo "$libs"
