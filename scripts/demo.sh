#!/usr/bin/env bash
# `npm run demo`: on a fresh Debian 12 machine with Node 20, as root, from the repository —
# install what is missing, build, bring up a 3-chassis sandbox (tearing down one left in
# ./.sandbox), build two networks with VMs through the API, print who reaches whom, and leave
# the cloud running. Extra arguments go to `wyvern sandbox demo` (e.g. --store etcd).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (network namespaces, Open vSwitch)" >&2
  exit 1
fi
./scripts/setup-host.sh
if [ ! -d node_modules ]; then
  echo "demo: npm ci"
  npm ci --no-audit --no-fund
fi
echo "demo: building"
npm run --silent build
exec node dist/src/cli/main.js sandbox demo "$@"
