#!/usr/bin/env bash
# Runs a whole network on loopback (bootstrap, relay, three workers) and opens a REPL on worker-1.
set -euo pipefail
cd "$(dirname "$0")"
P2P_SKIP_APT=1 ./scripts/ensure-deps.sh
exec npm start --silent -- "$@"
