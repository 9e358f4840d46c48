#!/usr/bin/env bash
# Runs every test suite; installs what it needs first. Ends with `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/ensure-deps.sh
exec npm test --silent -- "$@"
