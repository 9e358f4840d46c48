#!/usr/bin/env bash
# Builds the p2p-node image and, when a kind or minikube cluster is running, loads it there.
#   IMAGE=p2p-network:dev ./build.sh
set -euo pipefail
cd "$(dirname "$0")"
IMAGE=${IMAGE:-p2p-network:dev}
if ! command -v docker >/dev/null 2>&1; then
  echo "build.sh: docker is not installed; build the image on a machine with a Docker engine" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "build.sh: no Docker engine answers (docker info failed); start one, or build elsewhere and push $IMAGE" >&2
  exit 1
fi
docker build -t "$IMAGE" .
if command -v kind >/dev/null 2>&1 && [ -n "$(kind get clusters 2>/dev/null)" ]; then
  for c in $(kind get clusters); do kind load docker-image "$IMAGE" --name "$c"; done
elif command -v minikube >/dev/null 2>&1 && minikube status >/dev/null 2>&1; then
  minikube image load "$IMAGE"
else
  echo "build.sh: built $IMAGE; no kind or minikube cluster found to load it into (push it to your registry)"
fi
