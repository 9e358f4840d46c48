#!/usr/bin/env bash
# Runs every test suite; installs what it needs first. Ends with `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")"
# ./test.sh --k8s: smoke-test a deployed namespace instead (see deploy.sh)
if [ "${1:-}" = "--k8s" ]; then exec ./scripts/k8s-smoke.sh; fi
./scripts/ensure-deps.sh
exec npm test --silent -- "$@"
