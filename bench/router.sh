#!/usr/bin/env bash
# bench/router.sh: the cutover router against HAProxy, nginx and Caddy, in one run.
#
# Each proxy in turn listens on 127.0.0.1:18080 and fronts the same two backends
# (one nginx master, worker_processes 1: "blue" on 127.0.0.1:18001, "green" on
# 127.0.0.1:18002) with a 90/10 weighted split and upstream keep-alive. For each proxy:
#   - a 200-request split check (curl, one keep-alive connection): how many went green;
#   - 2 s warm-up, then wrk -t2 -c64 and wrk -t2 -c256 for $DURATION with --latency:
#     requests/s, p50, p99, non-2xx/3xx and socket errors; the proxy's CPU time per
#     request (utime+stime of its whole process tree, /proc/PID/stat) during the c64 run;
#     peak RSS (sum of VmHWM over its processes) after the two runs;
#   - weight changes under load: wrk -t2 -c64 for $DURATION while the weights cycle
#     90/10 -> 50/50 -> 100/0 -> 0/100 -> 90/10 ... through the proxy's normal mechanism,
#     paced at up to 1000 changes per $DURATION, each change waited for before the next:
#       cutover  rewrite the table file (temp + mv), kill -HUP, wait for its
#                "table applied" log line
#       haproxy  runtime API, one persistent stats-socket session (socat):
#                `set server be/green weight N; set server be/blue weight M`
#       nginx    rewrite nginx.conf (temp + mv), kill -HUP the master, wait until the
#                master has logged the new generation of workers (error_log notice)
#       caddy    POST the whole JSON config to the admin API /load (synchronous)
#     and counts the requests that failed meanwhile (non-2xx/3xx, by status, + socket
#     errors: connect, read, write, timeout).
# Prints one markdown table, the cutover/HAProxy ratios and PASS/FAIL against the bar
# (rps >= 0.6x HAProxy, p99 <= 1.5x HAProxy, zero failed requests during weight changes).
#
# Environment:
#   DURATION     each measured wrk run (wrk syntax: 10s, 1m; default 10s)
#   PROXIES      which proxies, in order (default "haproxy nginx caddy cutover")
#   OUT          also write the report to this file (overwritten)
#   CUTOVER_BIN  use this cutover binary instead of building ./cmd/cutover
#   CUTOVER_PROCS  pass --procs N to the cutover router (default: its own default, half the cores)
#   ROUNDS       measure the c64 and c256 loads this many times, the proxies taking turns
#                (haproxy, cutover, haproxy, cutover, ...), and report each proxy's medians
#                (default 3). On a shared machine whose speed drifts by the minute, turns
#                spread the drift over every proxy instead of whichever ran in the slow minute.
#   CUTOVER_PPROF  write a CPU profile of the cutover router during its c64 run to this file
#                  (router started with --pprof-addr 127.0.0.1:18098; read it with go tool pprof)
#
# Everything runs in the foreground under this script, with configs in a temp dir; no
# system service is used. Only 127.0.0.1 is used. The exit status is 0 when the run
# completed, whatever the verdict; the verdict is in the report.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

DURATION=${DURATION:-10s}
PROXIES=${PROXIES:-haproxy nginx caddy cutover}
OUT=${OUT:-}
CUTOVER_BIN=${CUTOVER_BIN:-}
CUTOVER_PROCS=${CUTOVER_PROCS:-}
CUTOVER_PPROF=${CUTOVER_PPROF:-}
ROUNDS=${ROUNDS:-3}
CUTOVER_BIN_GIVEN=$CUTOVER_BIN

HOST=127.0.0.1
BLUE_PORT=18001
GREEN_PORT=18002
PROXY_PORT=18080
CADDY_ADMIN_PORT=18019
URL="http://$HOST:$PROXY_PORT/"
WARMUP=2s
CHANGES_TARGET=1000   # weight changes attempted per $DURATION (paced), for every proxy
CYCLE=(5000 0 10000 1000) # green weight in basis points, cycled from the initial 1000

COMMAND_LINE="DURATION=$DURATION PROXIES=\"$PROXIES\"${ROUNDS/#/ ROUNDS=}${OUT:+ OUT=$OUT}${CUTOVER_BIN:+ CUTOVER_BIN=$CUTOVER_BIN}${CUTOVER_PROCS:+ CUTOVER_PROCS=$CUTOVER_PROCS} $0${*:+ $*}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------- options
for p in $PROXIES; do
  case $p in haproxy | nginx | caddy | cutover) ;; *) die "unknown proxy '$p' in PROXIES (haproxy nginx caddy cutover)" ;; esac
done
[[ $DURATION =~ ^([0-9]+)([smh]?)$ ]] || die "DURATION must look like 10s, 1m or 30 (got '$DURATION')"
case ${BASH_REMATCH[2]} in m) DUR_S=$((BASH_REMATCH[1] * 60)) ;; h) DUR_S=$((BASH_REMATCH[1] * 3600)) ;; *) DUR_S=${BASH_REMATCH[1]} ;; esac
((DUR_S > 0)) || die "DURATION must be > 0"
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be a number from 1 to 99 (got '$ROUNDS')"
[[ $(id -u) == 0 ]] || log "warning: not root; apt-get install will fail if anything is missing"

want() { [[ " $PROXIES " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------- install
# command -> Debian package. nginx serves the backends, so it is always needed.
declare -A PKG_OF=([nginx]=nginx-light [wrk]=wrk [curl]=curl [socat]=socat [ss]=iproute2 [ps]=procps [setsid]=util-linux [getconf]=libc-bin)
want haproxy && PKG_OF[haproxy]=haproxy
want caddy && PKG_OF[caddy]=caddy
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
for c in "${!PKG_OF[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("${PKG_OF[$c]}")
done
service_pids() { { pgrep -x haproxy; pgrep -x nginx; pgrep -x caddy; } | sort || true; }
if ((${#missing[@]})); then
  # Only what is missing: packages already there are left at their version.
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing: ${missing[*]}"
  before=$(service_pids)
  # Keep the packages' init scripts from starting their services (Debian's policy-rc.d).
  POLICY_ADDED=
  remove_policy() { if [[ -n $POLICY_ADDED ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_ADDED=; fi; }
  trap remove_policy EXIT
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && POLICY_ADDED=1
  fi
  rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 || rc=$?
  remove_policy
  trap - EXIT
  ((rc == 0)) || die "apt-get failed ($rc)"
  # Should a package have started its service anyway, stop exactly those processes.
  after=$(service_pids)
  started=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep . || true)
  if [[ -n $started ]]; then
    log "stopping service processes started by the install: $(echo "$started" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill $started 2>/dev/null || true
  fi
fi

# ---------------------------------------------------------------------------- ports
port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
ports=("$BLUE_PORT" "$GREEN_PORT" "$PROXY_PORT")
want caddy && ports+=("$CADDY_ADMIN_PORT")
for port in "${ports[@]}"; do
  if port_busy "$port"; then
    ss -Hltnp "sport = :$port" >&2 || true
    die "port $port is already in use (need ${ports[*]} free on $HOST)"
  fi
done

# ---------------------------------------------------------------------------- temp dir, processes, cleanup
TMP=$(mktemp -d /tmp/cutover-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as nobody
PIDS=()          # every long-lived process we started: each leads its own process group

alive() { # pid alive and not a zombie
  local st
  kill -0 "$1" 2>/dev/null || return 1
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  [[ ${st:0:1} != Z ]]
}

stop_group() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || pgrep -g "$pid" >/dev/null || break; nap 0.1; done
  if pgrep -g "$pid" >/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

CLEANED=
cleanup() {
  local rc=$? pid i port left
  [[ -n $CLEANED ]] && return
  CLEANED=1
  trap - EXIT INT TERM HUP
  for pid in "${PIDS[@]}"; do stop_group "$pid"; done
  left=
  for port in "${ports[@]}"; do
    for ((i = 0; i < 30; i++)); do port_busy "$port" || break; sleep 0.1; done
    port_busy "$port" && left+=" $port"
  done
  if [[ -n $left ]]; then
    log "warning: still listening after cleanup on:$left"
    ss -Hltnp 2>/dev/null | grep -E ":(${left// /|})\b" >&2 || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

# nap SECONDS: a sleep without a fork (read times out on a pipe nobody writes to).
if exec {NAP_FD}<> <(:); then
  nap() { read -rt "$1" -u "$NAP_FD" _ || true; }
else
  nap() { sleep "$1"; }
fi
# Microseconds since the epoch are "${EPOCHREALTIME/./}" (no fork; LC_ALL=C gives the dot).

# start NAME CMD...: run CMD in its own session/process group, logs in $TMP/NAME.log.
# Sets STARTED_PID.
start() {
  local name=$1
  shift
  setsid "$@" >"$TMP/$name.log" 2>&1 </dev/null &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

forget() { # drop a pid from PIDS once stopped
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

wait_http() { # URL PID TIMEOUT_S: until URL answers 200 (fails early if PID dies)
  local url=$1 pid=$2 deadline=$((${EPOCHREALTIME/./} + $3 * 1000000))
  while ((${EPOCHREALTIME/./} < deadline)); do
    alive "$pid" || return 1
    [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null) == 200 ]] && return 0
    nap 0.1
  done
  return 1
}

wait_port_free() {
  local i
  for ((i = 0; i < 100; i++)); do port_busy "$1" || return 0; nap 0.1; done
  return 1
}

# ---------------------------------------------------------------------------- /proc accounting
CLK_TCK=$(getconf CLK_TCK)

tree_pids() { # ROOT: ROOT and all its descendants
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      q[1] = root; n = 1
      for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] }
    }'
}

cpu_ticks() { # ROOT: CPU time of the tree: utime+stime of each process, plus cutime+cstime
  # (its children that exited and were reaped, such as nginx workers retired by a reload).
  local total=0 p line f
  for p in $(tree_pids "$1"); do
    { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
    read -r -a f <<<"${line##*) }"
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}

# Noise gauge: how much CPU other work took while a run was measured, in cores, as the
# smaller of two estimates that each err high in their own way:
#  - per process: every user-space process outside this script's tree ("pid:starttime
#    ticks"; kernel threads left out, ksoftirqd does our own loopback work). A process that
#    ended in the window counts through its parent's cutime, possibly with CPU from before
#    the window (a test binary that ran for a minute), so this can overshoot a lot;
#  - machine-wide: busy time in /proc/stat (user, nice, system, irq, softirq) minus this
#    script's tree; softirq work done outside our processes' context (e.g. on an idle CPU)
#    lands on "others", so this overshoots a little, but never beyond the cores there are.
# noise_end prints "OTHERS STEAL", steal being the hypervisor's (lost to us too).
noise_snapshot() {
  local own
  own=" $(tree_pids $$ | tr '\n' ' ') "
  awk -v own="$own" 'BEGIN {
    while (("ls /proc" | getline d) > 0) {
      if (d !~ /^[0-9]+$/ || index(own, " " d " ")) continue
      f = "/proc/" d "/stat"
      if ((getline line < f) > 0) {
        sub(/^.*\) /, "", line)
        split(line, a, " ") # a[2] ppid, a[12..15] utime stime cutime cstime, a[20] starttime
        if (d != 2 && a[2] != 2) print d ":" a[20], a[12] + a[13] + a[14] + a[15]
      }
      close(f)
    }
  }' >"$1"
}
stat_ticks() { # "BUSY STEAL" from /proc/stat
  local a
  read -r -a a </proc/stat
  echo "$((a[1] + a[2] + a[3] + a[6] + a[7])) ${a[8]:-0}"
}
noise_begin() {
  NOISE_T0=${EPOCHREALTIME/./}
  read -r NOISE_BUSY0 NOISE_STEAL0 < <(stat_ticks)
  NOISE_OWN0=$(cpu_ticks $$)
  noise_snapshot "$TMP/noise0"
}
noise_end() {
  local us busy steal own
  noise_snapshot "$TMP/noise1"
  read -r busy steal < <(stat_ticks)
  own=$(cpu_ticks $$)
  us=$((${EPOCHREALTIME/./} - NOISE_T0))
  awk -v us="$us" -v hz="$CLK_TCK" -v steal="$((steal - NOISE_STEAL0))" \
    -v wide="$((busy - NOISE_BUSY0 - (own - NOISE_OWN0)))" '
    NR == FNR { b[$1] = $2; next }
    { t += ($1 in b) ? $2 - b[$1] : $2 }
    END {
      if (wide < t) t = wide
      s = us / 1e6 * hz
      printf "%.2f %.2f\n", (t > 0 ? t / s : 0), steal / s
    }' "$TMP/noise0" "$TMP/noise1"
}

peak_rss_kb() { # ROOT: sum of VmHWM over the tree
  local total=0 p kb
  for p in $(tree_pids "$1"); do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# ---------------------------------------------------------------------------- wrk
# parse_wrk FILE -> "rps p50_ms p99_ms requests non2xx socket_errors"
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /h$/) return v * 3600000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { req = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { non = $NF }
    END {
      if (rps == "") { print "NA NA NA NA NA NA"; exit }
      printf "%.0f %s %s %d %d %d\n", rps, (p50 == "" ? "NA" : p50), (p99 == "" ? "NA" : p99), req, non, sock
    }' "$1"
}

# run_wrk OUTFILE ARGS...: wrk in the background (so traps run at once), waited for.
run_wrk() {
  local out=$1 pid
  shift
  setsid wrk "$@" "$URL" >"$out" 2>&1 </dev/null &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || log "wrk exited with status $? (see below)"
  forget "$pid"
}

# During the weight-change run wrk also counts responses by status (>= 300) with this
# script; done() prints "status CODE: N" per thread. (Not used for the throughput runs: a
# Lua response() hook costs wrk time.)
write_status_lua() {
  cat >"$TMP/status.lua" <<'EOF'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body)
  if status >= 300 then codes[tostring(status)] = (codes[tostring(status)] or 0) + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do io.write("status " .. k .. ": " .. v .. "\n") end
  end
end
EOF
}

# ---------------------------------------------------------------------------- configs
# Green weight in basis points -> each server's weight in percent.
pct_blue() { echo $(((10000 - $1) / 100)); }
pct_green() { echo $(($1 / 100)); }

write_backends_conf() {
  local d=$TMP/backends
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server { listen $HOST:$BLUE_PORT; location / { return 200 "blue\n"; } }
    server { listen $HOST:$GREEN_PORT; location / { return 200 "green\n"; } }
}
EOF
}

haproxy_conf() {
  local d=$TMP/haproxy
  mkdir -p "$d"
  cat >"$d/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn 4096
    stats socket $d/admin.sock mode 600 level admin
    stats timeout 10m
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 300s
frontend fe
    bind $HOST:$PROXY_PORT
    default_backend be
backend be
    balance roundrobin
    http-reuse always
    server blue $HOST:$BLUE_PORT weight $(pct_blue 1000)
    server green $HOST:$GREEN_PORT weight $(pct_green 1000)
EOF
}

nginx_proxy_conf() { # GREEN_BP FILE
  local d=$TMP/nginx b g
  b=$(pct_blue "$1")
  g=$(pct_green "$1")
  # nginx has no weight 0: a server out of rotation is marked "down".
  local bs="weight=$b" gs="weight=$g"
  ((b == 0)) && bs="weight=1 down"
  ((g == 0)) && gs="weight=1 down"
  cat >"$2" <<EOF
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log notice;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    upstream bench {
        server $HOST:$BLUE_PORT $bs;
        server $HOST:$GREEN_PORT $gs;
        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        listen $HOST:$PROXY_PORT;
        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

# Caddy 2.6 (Debian 12) has no weighted_round_robin (added in 2.8), so the weights are
# expressed by listing each backend in proportion and using round_robin: 90/10 is blue
# nine times and green once, 50/50 is 5+5, 100/0 is blue alone. round_robin over that
# list gives exactly 9:1 (the duplicate upstreams share one host entry and its pool).
caddy_json() { # GREEN_BP FILE
  local b g ups=() i
  b=$(($(pct_blue "$1") / 10))
  g=$(($(pct_green "$1") / 10))
  for ((i = 0; i < b; i++)); do ups+=("{\"dial\":\"$HOST:$BLUE_PORT\"}"); done
  for ((i = 0; i < g; i++)); do ups+=("{\"dial\":\"$HOST:$GREEN_PORT\"}"); done
  local IFS=,
  cat >"$2" <<EOF
{"admin":{"listen":"$HOST:$CADDY_ADMIN_PORT","config":{"persist":false}},
 "apps":{"http":{"servers":{"bench":{
   "listen":["$HOST:$PROXY_PORT"],
   "automatic_https":{"disable":true},
   "routes":[{"handle":[{"handler":"reverse_proxy",
     "load_balancing":{"selection_policy":{"policy":"round_robin"}},
     "transport":{"protocol":"http","keep_alive":{"enabled":true,"max_idle_conns_per_host":128,"idle_timeout":"300s"}},
     "upstreams":[${ups[*]}]}]}]}}}}}
EOF
}

CUTOVER_TABLE_FMT='{"listeners":[{"addr":"'$HOST:$PROXY_PORT'"}],"apps":[{"name":"bench","routes":[{"listener":"'$HOST:$PROXY_PORT'"}],"blue":{"version":"v1","instances":[{"id":"b1","addr":"'$HOST:$BLUE_PORT'"}]},"green":{"version":"v2","instances":[{"id":"g1","addr":"'$HOST:$GREEN_PORT'"}]},"green_weight":%d}]}\n'

# ---------------------------------------------------------------------------- proxies: start
# start_PROXY: sets PROXY_PID or returns non-zero with NA_REASON.
start_haproxy() {
  haproxy_conf
  haproxy -c -q -f "$TMP/haproxy/haproxy.cfg" >&2 || { NA_REASON="bad config"; return 1; }
  start haproxy haproxy -db -f "$TMP/haproxy/haproxy.cfg"
  PROXY_PID=$STARTED_PID
}

start_nginx() {
  local d=$TMP/nginx
  mkdir -p "$d/tmp"
  nginx_proxy_conf 1000 "$d/nginx.conf"
  nginx -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >&2 || { NA_REASON="bad config"; return 1; }
  start nginx nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off; master_process on;'
  PROXY_PID=$STARTED_PID
}

start_caddy() {
  local d=$TMP/caddy gw
  mkdir -p "$d/home"
  for gw in 1000 "${CYCLE[@]}"; do caddy_json "$gw" "$d/config-$gw.json"; done
  start caddy env -u GOMAXPROCS HOME="$d/home" XDG_CONFIG_HOME="$d/home" XDG_DATA_HOME="$d/home" \
    caddy run --config "$d/config-1000.json"
  PROXY_PID=$STARTED_PID
}

CUTOVER_BUILD=
build_cutover() {
  [[ -n $CUTOVER_BUILD ]] && return
  if [[ -n $CUTOVER_BIN ]]; then
    [[ -x $CUTOVER_BIN ]] && CUTOVER_BUILD=ok || CUTOVER_BUILD="n/a (CUTOVER_BIN not executable)"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then CUTOVER_BUILD="n/a (go not found)"; return; fi
  log "building cutover (go build -o \$TMP/cutover ./cmd/cutover)"
  if (cd "$REPO_ROOT" && go build -o "$TMP/cutover" ./cmd/cutover) >"$TMP/cutover-build.log" 2>&1; then
    CUTOVER_BIN=$TMP/cutover
    CUTOVER_BUILD=ok
  else
    sed 's/^/  go build: /' "$TMP/cutover-build.log" | head -20 >&2
    CUTOVER_BUILD="n/a (build failed)"
  fi
}

start_cutover() {
  local d=$TMP/cutover-run
  build_cutover
  [[ $CUTOVER_BUILD == ok ]] || { NA_REASON=$CUTOVER_BUILD; return 1; }
  mkdir -p "$d"
  # shellcheck disable=SC2059
  printf "$CUTOVER_TABLE_FMT" 1000 >"$d/table.json"
  start cutover env -u GOMAXPROCS "$CUTOVER_BIN" router --table "$d/table.json" ${CUTOVER_PROCS:+--procs "$CUTOVER_PROCS"} ${CUTOVER_PPROF:+--pprof-addr 127.0.0.1:18098}
  PROXY_PID=$STARTED_PID
}

# ---------------------------------------------------------------------------- proxies: weight change
# setup_changes_PROXY runs once before the loop; change_PROXY GREEN_BP applies one change and
# returns only when it has taken effect (as far as the mechanism tells), non-zero on failure.
# One runtime API session (socat in a coprocess, interactive "prompt" mode) for the whole
# run, as an orchestrator would keep one: each command answers with its output (empty on
# success) and then the prompt "> ".
HAPX_CHILD=
setup_changes_haproxy() {
  local out
  coproc HAPX { exec socat - "UNIX-CONNECT:$TMP/haproxy/admin.sock"; }
  # bash unsets HAPX and HAPX_PID when the coprocess ends: keep copies.
  HAPX_R=${HAPX[0]} HAPX_W=${HAPX[1]} HAPX_CHILD=$HAPX_PID
  PIDS+=("$HAPX_CHILD")
  printf 'prompt\n' >&"$HAPX_W"
  IFS= read -r -d '>' -t 5 -u "$HAPX_R" out && read -r -N1 -t 5 -u "$HAPX_R" _
}
haproxy_cmds() { # CMD1 CMD2...: sent as one line ("a; b"), each answers output + prompt
  local out all='' line c
  printf -v line '%s; ' "$@"
  printf '%s\n' "${line%; }" >&"$HAPX_W" || return 1
  for c in "$@"; do
    IFS= read -r -d '>' -t 5 -u "$HAPX_R" out || return 1
    read -r -N1 -t 5 -u "$HAPX_R" _ || return 1
    all+=$out
  done
  [[ -z ${all//[[:space:]]/} ]] || { log "haproxy: $*: ${all//$'\n'/ }"; return 1; }
}
change_haproxy() {
  local b=$(((10000 - $1) / 100)) g=$(($1 / 100)) # no $(pct_*): no fork in the loop
  # Raise before lowering, so the two servers are never both at weight 0.
  if ((g > 0)); then
    haproxy_cmds "set server be/green weight $g" "set server be/blue weight $b" && return 0
  else
    haproxy_cmds "set server be/blue weight $b" "set server be/green weight $g" && return 0
  fi
  # No (or a wrong) answer: the session may be out of step, so open a new one.
  log "haproxy: runtime API command failed or timed out; reconnecting"
  finish_changes_haproxy
  setup_changes_haproxy || true
  return 1
}
finish_changes_haproxy() {
  exec {HAPX_W}>&-
  stop_group "$HAPX_CHILD"
  forget "$HAPX_CHILD"
}

# Following a log file without forking: follow_open FILE skips what is there, then
# follow_wait OK BAD TIMEOUT_US returns 0 at the next line containing OK, 1 at one
# containing BAD or after TIMEOUT_US.
FOLLOW_FD=
FOLLOW_BUF=
follow_open() {
  local line=''
  exec {FOLLOW_FD}<"$1"
  while IFS= read -r -u "$FOLLOW_FD" line; do :; done
  FOLLOW_BUF=$line # a partial last line, completed by the next read
}
follow_wait() {
  local line deadline=$((${EPOCHREALTIME/./} + $3))
  while :; do
    while IFS= read -r -u "$FOLLOW_FD" line; do
      line=$FOLLOW_BUF$line
      FOLLOW_BUF=
      [[ $line == *"$1"* ]] && return 0
      [[ $line == *"$2"* ]] && { log "$line"; return 1; }
    done
    FOLLOW_BUF+=$line
    ((${EPOCHREALTIME/./} < deadline)) || return 1
    nap 0.001
  done
}
follow_close() { exec {FOLLOW_FD}<&-; }

setup_changes_nginx() {
  local d=$TMP/nginx gw
  for gw in "${CYCLE[@]}"; do nginx_proxy_conf "$gw" "$d/nginx-$gw.conf"; done
  follow_open "$d/error.log"
}
change_nginx() {
  local d=$TMP/nginx
  cp "$d/nginx-$1.conf" "$d/nginx.conf.tmp" && mv -f "$d/nginx.conf.tmp" "$d/nginx.conf" || return 1
  kill -HUP "$PROXY_PID" || return 1
  # The reload is done when the master logs "start worker processes" for the new generation
  # (it then sleeps 100 ms before retiring the old workers and taking the next signal); a
  # config it refuses shows as [emerg] instead.
  follow_wait "start worker processes" "[emerg]" 5000000
}
finish_changes_nginx() { follow_close; }

setup_changes_caddy() { :; }
finish_changes_caddy() { :; }
change_caddy() {
  local code
  code=$(curl -s -o "$TMP/caddy/load.out" -w '%{http_code}' -m 10 -X POST -H 'Content-Type: application/json' \
    --data-binary "@$TMP/caddy/config-$1.json" "http://$HOST:$CADDY_ADMIN_PORT/load") || return 1
  [[ $code == 200 ]] || { log "caddy /load: HTTP $code $(head -c 300 "$TMP/caddy/load.out")"; return 1; }
}

# Each change waits for the router's "table applied" log line (or "reload failed"), so that
# the count is of tables applied; the router coalesces SIGHUPs that arrive during an apply.
# Should no such line ever show up (the log format changed), the changes go on unacknowledged.
CUTOVER_ACKS=0
CUTOVER_WAIT=1
setup_changes_cutover() {
  CUTOVER_ACKS=0 CUTOVER_WAIT=1
  R[cutover,applied0]=$(grep -c 'table applied' "$TMP/cutover.log" || true)
  follow_open "$TMP/cutover.log"
}
finish_changes_cutover() {
  follow_close
  R[cutover,applied]=$(($(grep -c 'table applied' "$TMP/cutover.log" || true) - R[cutover,applied0]))
  ((CUTOVER_WAIT)) || R[cutover,noack]=1
}
change_cutover() {
  local d=$TMP/cutover-run
  # shellcheck disable=SC2059
  printf "$CUTOVER_TABLE_FMT" "$1" >"$d/table.json.tmp" || return 1
  mv -f "$d/table.json.tmp" "$d/table.json" || return 1
  kill -HUP "$PROXY_PID" || return 1
  ((CUTOVER_WAIT)) || return 0
  if follow_wait "table applied" "reload failed" 2000000; then
    CUTOVER_ACKS=$((CUTOVER_ACKS + 1))
    return 0
  fi
  if ((CUTOVER_ACKS == 0)) && alive "$PROXY_PID"; then
    log "cutover: no \"table applied\" log line within 2 s of SIGHUP; not waiting for acknowledgements from here on"
    CUTOVER_WAIT=0
  fi
  return 1
}

# ---------------------------------------------------------------------------- per-proxy run
declare -A R # R[proxy,key]

version_of() {
  case $1 in
    haproxy) haproxy -v 2>/dev/null | awk 'NR == 1 {print "HAProxy " $3}' ;;
    nginx) nginx -v 2>&1 | sed 's/^nginx version: //' ;;
    caddy) caddy version 2>/dev/null | awk '{print "Caddy " $1}' ;;
    cutover) [[ -n $CUTOVER_BIN_GIVEN ]] && { echo "cutover ($CUTOVER_BIN_GIVEN)"; return; }
      echo "cutover $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git -C "$REPO_ROOT" status --porcelain -- cmd internal go.mod 2>/dev/null) ]] && echo '+dirty')" ;;
  esac
}

split_check() { # -> number of "green" bodies out of 200 sequential requests on one connection
  local i cfg=$TMP/split.curl
  : >"$cfg"
  for ((i = 0; i < 200; i++)); do printf 'url = "%s"\n' "$URL" >>"$cfg"; done
  curl -s -m 30 -K "$cfg" 2>/dev/null | grep -c '^green$' || true
}

# measure_loads P ROUND: the c64 and c256 wrk runs against the running proxy P, recorded as
# R[P,KEY,ROUND] (KEY: rps64 p50_64 p99_64 rps256 p50_256 p99_256 cpu err64 err256 others64
# steal64 others256 steal256).
measure_loads() {
  local p=$1 round=$2 f before after ticks rps p50 p99 req non sock prof_pid
  run_wrk "$TMP/$p-warmup.txt" -t2 -c64 -d"$WARMUP"
  for c in 64 256; do
    f=$TMP/$p-c$c-r$round.txt
    log "$p: wrk -t2 -c$c -d$DURATION --latency (round $round of $ROUNDS)"
    noise_begin
    before=$(cpu_ticks "$PROXY_PID")
    prof_pid=
    if [[ $p == cutover && $c == 64 && $round == 1 && -n $CUTOVER_PPROF ]]; then
      curl -sf -o "$CUTOVER_PPROF" "http://127.0.0.1:18098/debug/pprof/profile?seconds=$((DUR_S > 2 ? DUR_S - 1 : 1))" &
      prof_pid=$!
    fi
    run_wrk "$f" -t2 -c"$c" -d"$DURATION" --latency
    [[ -n $prof_pid ]] && { wait "$prof_pid" || log "cutover: CPU profile failed"; }
    after=$(cpu_ticks "$PROXY_PID")
    read -r "R[$p,others$c,$round]" "R[$p,steal$c,$round]" < <(noise_end)
    read -r rps p50 p99 req non sock < <(parse_wrk "$f")
    if [[ $rps == NA ]]; then sed 's/^/  wrk: /' "$f" >&2; fi
    R[$p,rps$c,$round]=$rps R[$p,p50_$c,$round]=$p50 R[$p,p99_$c,$round]=$p99 R[$p,err$c,$round]="$non non-2xx/3xx, $sock socket"
    if [[ $sock != 0 && $sock != NA ]]; then R[$p,err$c,$round]+=" ($(grep -o 'connect [0-9]*, read [0-9]*, write [0-9]*, timeout [0-9]*' "$f"))"; fi
    ticks=$((after - before))
    if [[ $c == 64 && $req != NA && $req -gt 0 ]]; then
      R[$p,cpu,$round]=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$req" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
    fi
    log "$p: c$c: $rps req/s, p50 $p50 ms, p99 $p99 ms, $req requests, errors: ${R[$p,err$c,$round]}, proxy CPU $ticks ticks"
  done
}

# median_of P KEY: the median over the rounds of R[P,KEY,ROUND] (NA when any round is NA or missing).
median_of() {
  local p=$1 k=$2 r vals=()
  for ((r = 1; r <= ROUNDS; r++)); do
    [[ -z ${R[$p,$k,$r]:-} || ${R[$p,$k,$r]} == NA ]] && { echo NA; return; }
    vals+=("${R[$p,$k,$r]}")
  done
  printf '%s\n' "${vals[@]}" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# start_proxy P: starts P and waits until it answers; on failure records R[P,na] and returns 1.
start_proxy() {
  local p=$1
  NA_REASON="failed to start"
  PROXY_PID=
  if ! "start_$p"; then
    R[$p,na]=$NA_REASON
    log "$p: $NA_REASON"
    return 1
  fi
  if ! wait_http "$URL" "$PROXY_PID" 20; then
    R[$p,na]="n/a (failed to start)"
    log "$p did not answer 200 on $URL; its log:"
    tail -n 20 "$TMP/$p.log" | sed 's/^/  /' >&2 || true
    stop_proxy
    return 1
  fi
}

stop_proxy() {
  stop_group "$PROXY_PID"
  forget "$PROXY_PID"
  wait_port_free "$PROXY_PORT" || die "port $PROXY_PORT still busy after stopping the proxy"
}

# bench_round P ROUND: a later round: start P, measure the loads, stop.
bench_round() {
  local p=$1
  [[ -n ${R[$p,na]:-} ]] && return
  log "=== $p: round $2 of $ROUNDS"
  start_proxy "$p" || return
  measure_loads "$p" "$2"
  stop_proxy
}

bench_proxy() {
  local p=$1 f line rps p50 p99 req non sock
  R[$p,version]=$(version_of "$p")
  log "=== $p: ${R[$p,version]}"
  start_proxy "$p" || return

  R[$p,split]=$(split_check)
  log "$p: split check ${R[$p,split]}/200 green"

  measure_loads "$p" 1
  R[$p,rss]=$(awk -v kb="$(peak_rss_kb "$PROXY_PID")" 'BEGIN {printf "%.1f", kb / 1024}')
  R[$p,procs]=$(tree_pids "$PROXY_PID" | wc -l)

  # Weight changes under load.
  log "$p: weight changes under wrk -t2 -c64 -d$DURATION"
  "setup_changes_$p"
  f=$TMP/$p-changes.txt
  setsid wrk -t2 -c64 -d"$DURATION" -s "$TMP/status.lua" "$URL" >"$f" 2>&1 </dev/null &
  local wrk_pid=$! frac ok=0 bad=0 i=0 t0 t1 spent=0 next start_us interval_us maxprocs=0 n
  PIDS+=("$wrk_pid")
  interval_us=$(((DUR_S * 1000000 - 400000) / CHANGES_TARGET)) # all of them inside wrk's run
  nap 0.2 # let wrk connect first
  noise_begin
  start_us=${EPOCHREALTIME/./}
  while alive "$wrk_pid"; do
    t0=${EPOCHREALTIME/./}
    if "change_$p" "${CYCLE[i % ${#CYCLE[@]}]}"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    t1=${EPOCHREALTIME/./}
    spent=$((spent + t1 - t0))
    i=$((i + 1))
    if [[ $p == nginx ]] && ((i % 10 == 0)); then
      n=$(tree_pids "$PROXY_PID" | wc -l)
      ((n > maxprocs)) && maxprocs=$n
    fi
    ((i >= CHANGES_TARGET)) && break
    next=$((start_us + i * interval_us))
    if ((t1 < next)); then
      printf -v frac '%06d' $(((next - t1) % 1000000))
      nap "$(((next - t1) / 1000000)).$frac"
    fi
  done
  wait "$wrk_pid" || true
  read -r "R[$p,others_chg]" "R[$p,steal_chg]" < <(noise_end)
  forget "$wrk_pid"
  "finish_changes_$p"
  read -r rps p50 p99 req non sock < <(parse_wrk "$f")
  if [[ $rps == NA ]]; then sed 's/^/  wrk: /' "$f" >&2; fi
  R[$p,changes]=$ok R[$p,changes_failed]=$bad
  R[$p,change_ms]=$(awk -v s="$spent" -v n="$i" 'BEGIN {printf "%.1f", (n ? s / n / 1000 : 0)}')
  R[$p,chg_rps]=$rps R[$p,chg_req]=$req
  if [[ $non == NA ]]; then R[$p,chg_fail]=NA; else R[$p,chg_fail]=$((non + sock)); fi
  R[$p,chg_detail]="$non non-2xx/3xx$(awk '/^status [0-9]+: [0-9]+$/ {c[$2] += $3} END {for (k in c) {printf "%s%s %d", (n++ ? ", " : " ("), k, c[k]}; if (n) printf ")"}' "$f"), $sock socket errors ($(grep -o 'Socket errors:.*' "$f" || echo 'none'))"
  [[ $p == nginx ]] && R[$p,maxprocs]=$maxprocs
  if alive "$PROXY_PID"; then R[$p,alive]=yes; else R[$p,alive]="NO (proxy died)"; fi
  # What the proxy itself said about trouble (last few warning/error lines of its logs).
  R[$p,complaints]=$(cat "$TMP/$p.log" "$TMP/$p/error.log" 2>/dev/null |
    grep -aiE '"level":"(warn|error)|\b(warn|warning|error|alert|emerg|crit)\b' | grep -avE 'Cannot raise FD limit|automatic HTTPS is completely disabled' |
    tail -n 3 | cut -c1-300 || true)
  if [[ -n ${R[$p,complaints]} ]]; then
    log "$p: last warnings/errors in its log:"
    while IFS= read -r line; do log "  $line"; done <<<"${R[$p,complaints]}"
  fi
  log "$p: $ok weight changes ($bad failed, ${R[$p,change_ms]} ms each), $rps req/s meanwhile, failed requests: ${R[$p,chg_detail]}"

  stop_proxy
}

# ---------------------------------------------------------------------------- main
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
want cutover && build_cutover

log "starting backends (nginx, worker_processes 1) on $HOST:$BLUE_PORT and $HOST:$GREEN_PORT"
write_backends_conf
write_status_lua
nginx -t -q -e "$TMP/backends/error.log" -p "$TMP/backends" -c "$TMP/backends/nginx.conf" >&2 || die "backend nginx config rejected"
start backends nginx -e "$TMP/backends/error.log" -p "$TMP/backends" -c "$TMP/backends/nginx.conf" -g 'daemon off; master_process on;'
BACKENDS_PID=$STARTED_PID
wait_http "http://$HOST:$BLUE_PORT/" "$BACKENDS_PID" 10 || die "backend blue did not start: $(tail -5 "$TMP/backends.log")"
wait_http "http://$HOST:$GREEN_PORT/" "$BACKENDS_PID" 10 || die "backend green did not start"
[[ $(curl -s "http://$HOST:$BLUE_PORT/") == blue && $(curl -s "http://$HOST:$GREEN_PORT/") == green ]] || die "backends answer wrong bodies"

for p in $PROXIES; do bench_proxy "$p"; done
for ((round = 2; round <= ROUNDS; round++)); do
  for p in $PROXIES; do bench_round "$p" "$round"; done
done
# The table shows each proxy's medians over the rounds (the one value when ROUNDS=1).
for p in $PROXIES; do
  [[ -n ${R[$p,na]:-} ]] && continue
  for k in rps64 p50_64 p99_64 rps256 p50_256 p99_256 cpu others64 steal64 others256 steal256; do
    R[$p,$k]=$(median_of "$p" "$k")
  done
  R[$p,err64]=${R[$p,err64,1]} R[$p,err256]=${R[$p,err256,1]}
  for ((round = 2; round <= ROUNDS; round++)); do
    R[$p,err64]+="; ${R[$p,err64,$round]}" R[$p,err256]+="; ${R[$p,err256,$round]}"
  done
done

# ---------------------------------------------------------------------------- report
fmt() { if [[ -z ${1:-} || $1 == NA ]]; then echo "–"; else echo "$1"; fi; }
fmt_ms() { if [[ -z ${1:-} || $1 == NA ]]; then echo "–"; else awk -v v="$1" 'BEGIN {printf "%.2f", v}'; fi; }

report() {
  local p n line
  echo "## Router benchmark: cutover vs HAProxy, nginx, Caddy"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- kernel: $(uname -r), nproc: $(nproc), CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo '?')"
  local worst=0 k
  for k in "${!R[@]}"; do
    [[ $k == *,others* ]] && worst=$(awk -v a="$worst" -v b="${R[$k]}" -v s="${R[${k/others/steal}]:-0}" 'BEGIN {print (b + s > a ? b + s : a)}')
  done
  echo "- load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- CPU taken by processes outside this benchmark (or stolen by the hypervisor) during a measured run: up to $worst of $(nproc) cores$(awk -v w="$worst" 'BEGIN {if (w > 0.2) print " — the machine was not quiet: numbers are skewed, compare only within this run and rerun on a quiet machine"}')"
  echo "- load: wrk -t2 -cN -d$DURATION --latency on $URL after a ${WARMUP} warm-up; backends: nginx worker_processes 1, bodies \"blue\\n\"/\"green\\n\"; split 90/10"
  echo "- versions: $(for p in $PROXIES; do printf '%s; ' "${R[$p,version]:-$p}"; done)wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
  echo
  echo "| proxy | rps@64 | p50@64 ms | p99@64 ms | rps@256 | p50@256 ms | p99@256 ms | CPU µs/req (@64) | peak RSS MiB | weight changes | failed during changes |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for p in $PROXIES; do
    if [[ -n ${R[$p,na]:-} ]]; then
      echo "| $p | ${R[$p,na]} | – | – | – | – | – | – | – | – | – |"
      continue
    fi
    n=$(fmt "${R[$p,changes]:-}")
    ((${R[$p,changes_failed]:-0} > 0)) && n+=" (+${R[$p,changes_failed]} failed)"
    echo "| $p | $(fmt "${R[$p,rps64]:-}") | $(fmt_ms "${R[$p,p50_64]:-}") | $(fmt_ms "${R[$p,p99_64]:-}") | $(fmt "${R[$p,rps256]:-}") | $(fmt_ms "${R[$p,p50_256]:-}") | $(fmt_ms "${R[$p,p99_256]:-}") | $(fmt "${R[$p,cpu]:-}") | $(fmt "${R[$p,rss]:-}") | $n | $(fmt "${R[$p,chg_fail]:-}") |"
  done
  echo
  echo "Details:"
  for p in $PROXIES; do
    [[ -n ${R[$p,na]:-} ]] && { echo "- $p: ${R[$p,na]}"; continue; }
    local mech
    case $p in
      haproxy) mech="runtime API over one persistent stats-socket session (socat): set server be/{blue,green} weight N" ;;
      nginx) mech="rewrite nginx.conf + HUP to the master, each waited for until the new workers started (max $(fmt "${R[$p,maxprocs]:-}") nginx processes seen during the run)" ;;
      caddy) mech="POST /load of the full JSON config to the admin API" ;;
      cutover)
        mech="rewrite the table file (temp + mv) + kill -HUP, each waited for until the router logged \"table applied\"; tables applied per its log: ${R[$p,applied]:-?}"
        [[ -n ${R[$p,noack]:-} ]] && mech="rewrite the table file (temp + mv) + kill -HUP, NOT acknowledged (no \"table applied\" log line seen); tables applied per its log: ${R[$p,applied]:-?}"
        ;;
    esac
    echo "- $p: split check ${R[$p,split]:-?}/200 green; errors in load runs: c64 ${R[$p,err64]:-?}; c256 ${R[$p,err256]:-?}; $(fmt "${R[$p,procs]:-}") process(es); CPU taken by other processes meanwhile: c64 ${R[$p,others64]:-?} cores (+ ${R[$p,steal64]:-?} hypervisor steal), c256 ${R[$p,others256]:-?} (+ ${R[$p,steal256]:-?})"
    if [[ -n ${R[$p,complaints]:-} ]]; then
      echo "  last warnings/errors in its log:"
      while IFS= read -r line; do echo "  - \`$line\`"; done <<<"${R[$p,complaints]}"
    fi
    echo "  weight changes: $mech; ${R[$p,changes]:-?} done, ${R[$p,changes_failed]:-?} failed, ${R[$p,change_ms]:-?} ms per change; ${R[$p,chg_rps]:-?} req/s (${R[$p,chg_req]:-?} requests) meanwhile; failed requests: ${R[$p,chg_detail]:-?}; proxy alive after: ${R[$p,alive]:-?}; CPU taken by other processes meanwhile: ${R[$p,others_chg]:-?} cores (+ ${R[$p,steal_chg]:-?} hypervisor steal)"
  done
  if ((ROUNDS > 1)); then
    echo
    echo "Rounds (the table above shows each proxy's median; weight changes ran in round 1):"
    echo
    echo "| round | proxy | rps@64 | p50@64 ms | p99@64 ms | rps@256 | p50@256 ms | p99@256 ms | CPU µs/req (@64) | others+steal cores (@64) |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    local r
    for ((r = 1; r <= ROUNDS; r++)); do
      for p in $PROXIES; do
        [[ -n ${R[$p,na]:-} ]] && continue
        echo "| $r | $p | $(fmt "${R[$p,rps64,$r]:-}") | $(fmt_ms "${R[$p,p50_64,$r]:-}") | $(fmt_ms "${R[$p,p99_64,$r]:-}") | $(fmt "${R[$p,rps256,$r]:-}") | $(fmt_ms "${R[$p,p50_256,$r]:-}") | $(fmt_ms "${R[$p,p99_256,$r]:-}") | $(fmt "${R[$p,cpu,$r]:-}") | $(awk -v a="${R[$p,others64,$r]:-0}" -v b="${R[$p,steal64,$r]:-0}" 'BEGIN {printf "%.2f", a + b}') |"
      done
    done
  fi
  echo
  echo "Bar (cutover vs HAProxy in this run$( ((ROUNDS > 1)) && echo ", medians of $ROUNDS rounds"): rps ≥ 0.6×, p99 ≤ 1.5×, zero failed requests during weight changes):"
  if ! want cutover || ! want haproxy; then
    echo "- n/a: needs both haproxy and cutover in PROXIES"
  elif [[ -n ${R[cutover,na]:-} || -n ${R[haproxy,na]:-} ]]; then
    echo "- n/a: cutover ${R[cutover,na]:-ran}, haproxy ${R[haproxy,na]:-ran}"
    echo "- verdict: FAIL (not measured)"
  else
    awk -v r64="${R[cutover,rps64]}" -v h64="${R[haproxy,rps64]}" -v r256="${R[cutover,rps256]}" -v h256="${R[haproxy,rps256]}" \
      -v q64="${R[cutover,p99_64]}" -v hq64="${R[haproxy,p99_64]}" -v q256="${R[cutover,p99_256]}" -v hq256="${R[haproxy,p99_256]}" \
      -v fail="${R[cutover,chg_fail]}" -v changes="${R[cutover,changes]}" '
      function ratio(a, b) { return (a == "NA" || b == "NA" || b == 0) ? -1 : a / b }
      function line(name, r, limit, ge,   ok) {
        if (r < 0) { printf "- %s: n/a  FAIL\n", name; return 0 }
        ok = ge ? (r >= limit) : (r <= limit)
        printf "- %s: %.2f× (%s %.1f×)  %s\n", name, r, (ge ? "≥" : "≤"), limit, (ok ? "PASS" : "FAIL")
        return ok
      }
      BEGIN {
        ok = 1
        ok = line("rps@64 cutover/HAProxy", ratio(r64, h64), 0.6, 1) && ok
        ok = line("rps@256 cutover/HAProxy", ratio(r256, h256), 0.6, 1) && ok
        ok = line("p99@64 cutover/HAProxy", ratio(q64, hq64), 1.5, 0) && ok
        ok = line("p99@256 cutover/HAProxy", ratio(q256, hq256), 1.5, 0) && ok
        z = (fail != "NA" && fail == 0 && changes > 0)
        printf "- failed requests during %s weight changes: %s  %s\n", changes, fail, (z ? "PASS" : "FAIL")
        ok = ok && z
        printf "- verdict: %s\n", (ok ? "PASS" : "FAIL")
      }'
  fi
}

report >"$TMP/report.md"
echo
cat "$TMP/report.md"
if [[ -n $OUT ]]; then
  cp "$TMP/report.md" "$OUT"
  log "report written to $OUT"
fi

stop_group "$BACKENDS_PID"
forget "$BACKENDS_PID"
