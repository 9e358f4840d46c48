#!/usr/bin/env bash
# Makes the Dockerfile's base image, node:24-bookworm-slim, locally from Debian packages and the pinned Node, for a
# builder that reaches no container registry (an air-gapped one, or this build machine): a Debian bookworm minbase
# root filesystem (mmdebstrap), the pinned Node binary from node_modules, npm, and the host's CA bundle (npm in the
# build reaches the registry through whatever TLS proxy the host trusts). Tagged with the name the Dockerfile asks
# for, so `build.sh` builds the Dockerfile unchanged with --pull=never.
#   ENGINE=podman|docker scripts/offline-base.sh        (build.sh --offline-base runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE:-podman}
BASE=${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}
# the pinned Node's binary: node_modules/.bin/node leads to it (a copy or a link, as the node package's install made it)
NODE_BIN=$(readlink -f node_modules/.bin/node 2>/dev/null || true)
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] && head -c 4 "$NODE_BIN" | grep -q ELF || { echo "offline-base: the pinned Node binary (node_modules/.bin/node) is missing: run npm ci first (./scripts/ensure-deps.sh)" >&2; exit 1; }
command -v mmdebstrap >/dev/null 2>&1 || { echo "offline-base: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 1; }
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { echo "offline-base: no npm found beside $(command -v npm)" >&2; exit 1; }
CA=/etc/ssl/certs/ca-certificates.crt

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "offline-base: debian bookworm minbase (mmdebstrap)"
mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$work/rootfs"
root=$work/rootfs
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
cp "$NODE_BIN" "$root/usr/local/bin/node"
cp -a "$NPM_DIR" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
[ -f "$CA" ] && cp "$CA" "$root/etc/ssl/certs/ca-certificates.crt"
# the official image's user `node` (1000) is not needed: the Dockerfile runs as 10001. Node reads the CA bundle
# (NODE_EXTRA_CA_CERTS), which holds whatever TLS proxy the host trusts
tar -C "$root" -c . | "$ENGINE" import --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$BASE" >/dev/null
echo "offline-base: $BASE made locally (node $("$NODE_BIN" --version), npm $(node "$NPM_DIR/bin/npm-cli.js" --version 2>/dev/null || echo '?'))"
