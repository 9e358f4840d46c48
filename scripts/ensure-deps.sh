#!/usr/bin/env bash
# Installs what the project needs, once: npm packages (with the pinned Node 24 in node_modules/.bin) and,
# when run as root, the Debian tools some tests use (tmux to drive the REPL, iproute2 for network namespaces,
# prometheus for a real scrape and promtool, nftables for the NAT routers of the NAT tests, chromium and
# firefox-esr for the web console's browser tests, podman, runc and mmdebstrap to build the image and run it in
# real containers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "$(id -u)" = 0 ] && [ "${P2P_SKIP_APT:-}" = "" ]; then
  missing=()
  command -v tmux >/dev/null || missing+=(tmux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v nft >/dev/null || missing+=(nftables)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v firefox-esr >/dev/null || command -v firefox >/dev/null || missing+=(firefox-esr)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (apt-get)..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "warning: could not install ${missing[*]}; the tests that need them will be skipped" >&2
  fi
fi
