#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: copies exactly what its build stage COPYs into an empty directory,
# runs the build stage's RUN steps there, then checks that what the runtime stage copies exists and that the
# compiled CLI answers --help the way the image's entry point runs it. A build that needs a file the Dockerfile does
# not copy fails here as it would in `docker build`.
#   scripts/check-image-build.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

stage=0
while IFS= read -r line; do
  case "$line" in
    FROM*) stage=$((stage + 1)) ;;
    COPY\ --from=*) ;;
    COPY*)
      read -ra parts <<<"${line#COPY }"
      dest="${parts[${#parts[@]}-1]}"
      for src in "${parts[@]:0:${#parts[@]}-1}"; do
        [ -e "$root/$src" ] || { echo "Dockerfile copies $src, which does not exist" >&2; exit 1; }
        if [ "$stage" -eq 1 ]; then
          case "$dest" in
            */) mkdir -p "$work/$dest" && cp -R "$root/$src" "$work/$dest" ;;
            *) mkdir -p "$(dirname "$work/$dest")" && cp -R "$root/$src" "$work/$dest" ;;
          esac
        fi
      done
      ;;
    RUN*)
      if [ "$stage" -eq 1 ]; then
        echo "::: (build stage) ${line#RUN }"
        (cd "$work" && bash -c "${line#RUN }")
      fi
      ;;
  esac
done < <(grep -E '^(FROM|COPY|RUN) ' "$root/Dockerfile")

for built in node_modules dist; do
  [ -d "$work/$built" ] || { echo "the build stage produced no $built/, which the runtime stage copies" >&2; exit 1; }
done
if [ -d "$work/node_modules/typescript" ]; then
  echo "dev dependencies were not pruned from the image's node_modules" >&2
  exit 1
fi
entry="$(sed -n 's/^ENTRYPOINT \["node", \(.*\)\]$/\1/p' "$root/Dockerfile" | tr -d '",')"
# The runtime stage has no src/: run the compiled CLI from a copy laid out like the image.
image="$work/image" && mkdir -p "$image"
cp -R "$work/node_modules" "$work/dist" "$root/package.json" "$root/schema" "$image/"
mkdir -p "$image/packages/events"
cp -R "$work/packages/events/package.json" "$work/packages/events/dist" "$image/packages/events/"
(cd "$image" && node $entry --help >/dev/null)

# The image's own presence.yaml is empty: an environment-only deployment (README "Deploying") must load with it.
grep -q '^COPY deploy/image-presence.yaml ./config/presence.yaml$' "$root/Dockerfile" ||
  { echo "the Dockerfile no longer copies deploy/image-presence.yaml to config/presence.yaml" >&2; exit 1; }
mkdir -p "$image/config/watchlists" && cp "$root/deploy/image-presence.yaml" "$image/config/presence.yaml"
printf 'name: vip\ninterval: 30s\nusers: [alice]\n' >"$image/config/watchlists/vip.yaml"
printf 'not-a-real-key\n' >"$work/key"
(cd "$image" && env -i PATH="$PATH" PRESENCE__APPS__0__SDKAPPID=1400000000 PRESENCE__APPS__0__REGION=singapore \
  PRESENCE__APPS__0__IDENTIFIER=administrator PRESENCE__APPS__0__SECRETKEYFILE="$work/key" \
  REDIS_URL=redis://redis:6379 KAFKA_BROKERS=kafka:9092 node $entry check-config >/dev/null) ||
  { echo "an environment-only configuration does not load with the image's presence.yaml" >&2; exit 1; }
# The HEALTHCHECK must not need curl or wget: the slim image has neither.
grep -qE '^HEALTHCHECK .*\\$|^HEALTHCHECK .*CMD \["node"' "$root/Dockerfile" ||
  { echo "the Dockerfile has no HEALTHCHECK" >&2; exit 1; }
if grep -qE 'curl|wget' <(sed -n '/^HEALTHCHECK/,/^[^ ]/p' "$root/Dockerfile"); then
  echo "the HEALTHCHECK uses curl or wget, which the image does not have" >&2
  exit 1
fi
echo "image build check passed: the build stage builds from what it copies, the image runs --help and loads an env-only configuration"
