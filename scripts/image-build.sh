#!/bin/sh
# The image's build steps, in one place: the Dockerfile runs this, and test/e2e/image.test.ts runs
# it on a clean copy of the repository (no Docker engine is needed to prove the steps work).
#   install (with dev dependencies, to compile) -> build (tsc + bundle) -> prune to runtime dependencies
set -eu
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npm prune --omit=dev --no-audit --no-fund --loglevel=error
# nothing the runtime does not need
rm -rf src ui test bench docs k8s scripts/local-network.mjs scripts/run-tests.mjs
