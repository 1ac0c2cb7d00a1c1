#!/usr/bin/env bash
# bench/upgrade.sh: replace the cutover router's binary and upgrade it in place, again and
# again, under constant load, and count the requests that failed.
#
# It builds cutover, starts `cutover server` over a temporary data dir (which starts the
# router process), deploys the sample app (2 instances) and runs wrk against the app's
# listener. Meanwhile, every $INTERVAL, it installs a freshly built binary at the router's
# path (copy + rename, as a package manager does) and runs `cutover router upgrade`: the
# router hands its listening sockets to the new process and drains. At the end it prints
# the upgrades done, the router PIDs seen, and wrk's totals: requests, non-2xx answers and
# socket errors (connect, read, write, timeout). Zero failures is the bar.
#
# Environment: UPGRADES (default 20), INTERVAL between upgrades (default 1s), CONNS (wrk
# connections, default 32). Installs wrk from Debian if missing. Only 127.0.0.1 is used.
set -euo pipefail
export LC_ALL=C
UPGRADES=${UPGRADES:-20}
INTERVAL=${INTERVAL:-1}
CONNS=${CONNS:-32}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2 || die "apt-get install wrk failed"
fi

work=$(mktemp -d /tmp/cutover-upgrade-XXXXXX)
export CUTOVER_DATA_DIR=$work/data
bin=$work/bin/cutover
mkdir -p "$work/bin"
server_pid=
cleanup() {
  set +e
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rpid=$(curl -s --unix-socket "$CUTOVER_DATA_DIR/router.sock" http://router/v1/ping | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
  [[ -n $rpid ]] && kill -TERM "$rpid" 2>/dev/null
  for f in "$CUTOVER_DATA_DIR"/instances/instances/*.json; do
    [[ -e $f ]] || continue
    pid=$(grep -o '"pid": *[0-9]*' "$f" | head -1 | grep -o '[0-9]*$')
    [[ -n $pid ]] && kill -TERM -- "-$pid" 2>/dev/null # its process group
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

install_binary() { # a fresh build, installed the way a package manager does: copy, rename
  (cd "$REPO" && CGO_ENABLED=0 go build -o "$bin.new" ./cmd/cutover) && mv -f "$bin.new" "$bin"
}
router_pid() { curl -s --unix-socket "$CUTOVER_DATA_DIR/router.sock" http://router/v1/ping | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'; }

log "building cutover"
install_binary
listen=127.0.0.1:$((20000 + RANDOM % 20000))
"$bin" server --listen "" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do "$bin" status >/dev/null 2>&1 && break; sleep 0.1; done
"$bin" status >/dev/null || die "server did not start: $(tail -5 "$work/server.log")"
cat >"$work/app.yaml" <<YAML
app: web
routes: [{listen: "$listen"}]
run:
  process: {command: ["$bin", sample-app]}
  instances: 2
health: {path: /healthz, interval: 200ms, healthy_threshold: 1}
YAML
"$bin" apply -f "$work/app.yaml" >/dev/null
"$bin" deploy web --version v1 --wait >/dev/null || die "deploy v1 failed"
log "router pid $(router_pid); load: wrk -t2 -c$CONNS on http://$listen/"

total=$(( (UPGRADES + 2) * INTERVAL + 2 ))
wrk -t2 -c"$CONNS" -d"${total}s" "http://$listen/" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1
pids=("$(router_pid)")
for i in $(seq "$UPGRADES"); do
  sleep "$INTERVAL"
  install_binary
  "$bin" router upgrade >/dev/null || die "upgrade $i failed"
  pids+=("$(router_pid)")
done
wait "$wrk_pid"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/wrk.txt")
# "  Socket errors: connect 0, read 12, write 0, timeout 0" (absent when there were none); the leading blanks make $1 empty
sockerr=$(awk -F'[ ,]+' '/Socket errors/ {print $5+$7+$9+$11}' "$work/wrk.txt")
echo "command: UPGRADES=$UPGRADES INTERVAL=$INTERVAL CONNS=$CONNS bench/upgrade.sh"
echo "upgrades: $UPGRADES; router pids: ${pids[*]}"
echo "wrk: ${requests:-?} requests, ${non2xx:-0} non-2xx/3xx, ${sockerr:-0} socket errors"
sed -n "/Latency/p;/Requests\/sec/p;/Socket errors/p" "$work/wrk.txt"
if [[ ${non2xx:-0} == 0 && ${sockerr:-0} == 0 ]]; then echo "PASS: no request failed"; else echo "FAIL: requests failed"; exit 1; fi
