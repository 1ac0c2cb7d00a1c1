#!/usr/bin/env bash
# bench/routerkill.sh: kill the cutover router with SIGKILL again and again under constant
# wrk load, and count refused connections and failed requests.
#
# It builds cutover, starts `cutover server` over a temporary data dir (which starts the
# router process and holds duplicates of its listening sockets), deploys the sample app (2
# instances) and runs wrk against the app's listener. Meanwhile, every $INTERVAL, it kills
# the router with kill -9 and waits for the server to start a new one. At the end it prints
# the kills, the router PIDs seen, and wrk's totals: requests, non-2xx answers and socket
# errors by kind (connect = refused; read/write/timeout = requests the dead process held).
# The bar: 0 connect errors.
#
# Environment: KILLS (default 20), INTERVAL between kills (default 1s), CONNS (wrk
# connections, default 32). Only 127.0.0.1 is used.
set -euo pipefail
export LC_ALL=C
KILLS=${KILLS:-20}
INTERVAL=${INTERVAL:-1}
CONNS=${CONNS:-32}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2 || die "apt-get install wrk failed"
fi

work=$(mktemp -d /tmp/cutover-routerkill-XXXXXX)
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

router_pid() { curl -s --unix-socket "$CUTOVER_DATA_DIR/router.sock" http://router/v1/ping | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'; }

log "building cutover"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$bin" ./cmd/cutover)
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

total=$(( (KILLS + 2) * INTERVAL + 2 ))
wrk -t2 -c"$CONNS" -d"${total}s" "http://$listen/" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1
pids=("$(router_pid)")
for i in $(seq "$KILLS"); do
  sleep "$INTERVAL"
  old=${pids[-1]}
  kill -KILL "$old"
  for _ in $(seq 200); do
    new=$(router_pid || true)
    [[ -n $new && $new != "$old" ]] && break
    sleep 0.02
  done
  [[ -n $new && $new != "$old" ]] || die "kill $i: no new router 4s after pid $old was killed"
  pids+=("$new")
done
wait "$wrk_pid"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/wrk.txt")
# "  Socket errors: connect 0, read 12, write 0, timeout 0" (absent when there were none)
sockerr() { sed -n "s/.*Socket errors:.* $1 \([0-9]*\).*/\1/p" "$work/wrk.txt"; }
connect=$(sockerr connect) readerr=$(sockerr read) writeerr=$(sockerr write) timeout=$(sockerr timeout)
echo "command: KILLS=$KILLS INTERVAL=$INTERVAL CONNS=$CONNS bench/routerkill.sh"
echo "kills: $KILLS; router pids: ${pids[*]}"
echo "wrk: ${requests:-?} requests; refused connections (connect errors): ${connect:-0}; failed requests: read ${readerr:-0}, write ${writeerr:-0}, timeout ${timeout:-0}, non-2xx ${non2xx:-0}"
sed -n '/Latency/p;/Requests\/sec/p' "$work/wrk.txt"
if [[ ${connect:-0} == 0 ]]; then echo "PASS: no connection refused"; else echo "FAIL: connections refused"; exit 1; fi
