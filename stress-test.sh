#!/usr/bin/env bash
# Drives load and faults and prints a report; bounded in time and count, stops by itself.
#   ./stress-test.sh [--duration 60] [--rate 200] [--workers 3] [--kill-every 15] [--k8s]   (--help: all options)
set -euo pipefail
cd "$(dirname "$0")"
P2P_SKIP_APT=1 ./scripts/ensure-deps.sh
PATH="$PWD/node_modules/.bin:$PATH"
node scripts/build-if-stale.mjs
exec node bench/stress.mjs "$@"
