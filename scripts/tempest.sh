#!/bin/bash
# npm run test:tempest: OpenStack tempest's network API tests (tempest.api.network, IPv6 on)
# against `wyvern server` on a fresh sqlite store with Keystone auth, through the harness in
# ../shared/tempest (TEMPEST_HARNESS to point elsewhere). Fails when fewer tests pass than the
# committed threshold (test/tempest/threshold.json, which only ever rises) or any test fails.
# Everything it starts (Keystone, the server) it stops; state lives under $WORK (a temp dir).
#   Environment: TEMPEST_HARNESS, KS_PORT (5000), PORT (9696 + a free one is not probed: set it
#   when 9696 is taken), REGEX (a subset; the threshold is then not checked), KEEP=1 (keep $WORK).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${TEMPEST_HARNESS:-$ROOT/../shared/tempest}
[ -x "$HARNESS/run.sh" ] || { echo "tempest harness not found at $HARNESS (set TEMPEST_HARNESS)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/wyvern-tempest-run.XXXXXX)
PORT=${PORT:-9696}
export KS_DIR=$WORK/keystone TEMPEST_DIR=$WORK/tempest KS_PORT=${KS_PORT:-5000}
URL=http://127.0.0.1:$PORT
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  KEEP_RESULTS=1 "$HARNESS/stop.sh" >/dev/null 2>&1
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
"$HARNESS/install.sh" >/dev/null || { echo "could not install the harness' Debian packages" >&2; exit 2; }
(cd "$ROOT" && npm run -s build) || exit 2
eval "$("$HARNESS/keystone.sh" "$URL" 2>"$WORK/keystone.log")" || { cat "$WORK/keystone.log" >&2; exit 2; }
# Neutron's default quotas (the tests of quotas assume finite defaults; Wyvern's own default is
# unlimited, see docs/api.md).
cat >"$WORK/server.json" <<'JSON'
{ "quotaDefaults": { "network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
                     "security_group": 10, "security_group_rule": 100, "subnetpool": -1 } }
JSON
node "$ROOT/dist/src/cli/main.js" server --listen "127.0.0.1:$PORT" --store "sqlite:$WORK/nb.sqlite" \
  --auth keystone --keystone-url "${KEYSTONE_URL%/v3}" --config "$WORK/server.json" >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$URL/" && break; sleep 0.2; done
IPV6=1 ${REGEX:+REGEX="$REGEX"} "$HARNESS/run.sh" "$URL" | tee "$WORK/run.log"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$WORK/run.log" | tail -1)
[ -n "$summary" ] || { echo "no summary from the harness" >&2; exit 2; }
read -r passed _ failed _ skipped _ <<<"$summary"
min=$(node -e "console.log(require('$ROOT/test/tempest/threshold.json').minPassed)")
max=$(node -e "console.log(require('$ROOT/test/tempest/threshold.json').maxFailed)")
echo "tempest.api.network: $passed passed, $failed failed, $skipped skipped (threshold: >= $min passed, <= $max failed)"
[ "$failed" -le "$max" ] || exit 1
[ -n "${REGEX:-}" ] || [ "$passed" -ge "$min" ] || exit 1
