#!/usr/bin/env bash
# Builds the p2p-node image with Docker or Podman, whichever is there, and, when a kind or minikube cluster is
# running, loads it there.
#   ./build.sh                  IMAGE=p2p-network:dev by default; ENGINE=docker|podman to choose
#   ./build.sh --offline-base   first make the base image (node:24-bookworm-slim) locally from Debian packages and
#                               the pinned Node (scripts/offline-base.sh): for builders that reach no registry
set -euo pipefail
cd "$(dirname "$0")"
IMAGE=${IMAGE:-p2p-network:dev}
OFFLINE=0
for arg in "$@"; do
  case "$arg" in
    --offline-base) OFFLINE=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then
    echo "build.sh: docker is installed but no Docker engine answers (docker info failed), and podman is not installed" >&2; exit 1
  else
    echo "build.sh: neither docker nor podman is installed (apt-get install podman runc)" >&2; exit 1
  fi
fi
# shellcheck source=scripts/podman-env.sh
[ "$ENGINE" = podman ] && . scripts/podman-env.sh
BASE=docker.io/library/node:24-bookworm-slim
if [ "$OFFLINE" = 1 ]; then ENGINE=$ENGINE ./scripts/offline-base.sh; fi
PULL=()
# a base made here (or pulled before) is used as it is; only a missing one is pulled
if "$ENGINE" image inspect "$BASE" >/dev/null 2>&1; then PULL=(--pull=never); fi
start=$(date +%s)
"$ENGINE" build "${PULL[@]}" -t "$IMAGE" .
echo "build.sh: built $IMAGE with $ENGINE in $(( $(date +%s) - start ))s ($("$ENGINE" image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
if [ "$ENGINE" = docker ] && command -v kind >/dev/null 2>&1 && [ -n "$(kind get clusters 2>/dev/null)" ]; then
  for c in $(kind get clusters); do kind load docker-image "$IMAGE" --name "$c"; done
elif command -v minikube >/dev/null 2>&1 && minikube status >/dev/null 2>&1; then
  minikube image load "$IMAGE"
else
  echo "build.sh: no kind or minikube cluster found to load it into (push $IMAGE to your registry)"
fi
