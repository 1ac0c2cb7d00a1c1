#!/usr/bin/env bash
# bench/ab.sh: A/B runs of router builds (and HAProxy) taking turns on the same backends.
#
#   bench/ab.sh [-n ROUNDS] [-c CONNS] NAME=COMMAND ...
#   bench/ab.sh -n 5 base=/tmp/cutover-old new=/tmp/cutover-new haproxy=haproxy
#
# Each NAME=COMMAND is a proxy: a cutover binary (run as `router --table`), or the word
# haproxy (HAProxy, nbthread 1, like the router's one thread). Every round runs each of
# them in turn, on 127.0.0.1:18080 in front of one nginx (worker_processes 1) serving
# "blue" on :18001 and "green" on :18002 at a 90/10 split: 2 s of warm-up, then
# `wrk -t2 -c$CONNS -d8s --latency`. One line per run: requests/s, p50, p99 and the
# proxy's user and system CPU per request (/proc/PID/stat), so a change is judged on runs
# minutes apart, not on one pair: this machine's speed drifts by the minute.
# Needs nginx, wrk and haproxy installed (bench/router.sh installs them). Loopback only.
set -euo pipefail
ROUNDS=3 CONNS=64
while getopts n:c: o; do
  case $o in n) ROUNDS=$OPTARG ;; c) CONNS=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
(($# > 0)) || { echo "usage: $0 [-n ROUNDS] [-c CONNS] NAME=COMMAND ..." >&2; exit 2; }
TMP=$(mktemp -d /tmp/cutover-ab.XXXXXX)
cleanup() { [[ -f $TMP/nginx.pid ]] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$TMP/tmp"
cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 8192; }
http {
    access_log off; default_type text/plain;
    keepalive_requests 100000000; keepalive_timeout 300s;
    client_body_temp_path $TMP/tmp/body; proxy_temp_path $TMP/tmp/proxy; fastcgi_temp_path $TMP/tmp/fcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi; scgi_temp_path $TMP/tmp/scgi;
    server { listen 127.0.0.1:18001; location / { return 200 "blue\n"; } }
    server { listen 127.0.0.1:18002; location / { return 200 "green\n"; } }
}
EOF
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    balance roundrobin
    http-reuse always
    server blue 127.0.0.1:18001 weight 90
    server green 127.0.0.1:18002 weight 10
EOF
echo '{"listeners":[{"addr":"127.0.0.1:18080"}],"apps":[{"name":"bench","routes":[{"listener":"127.0.0.1:18080"}],"blue":{"version":"v1","instances":[{"id":"b1","addr":"127.0.0.1:18001"}]},"green":{"version":"v2","instances":[{"id":"g1","addr":"127.0.0.1:18002"}]},"green_weight":1000}]}' >"$TMP/table.json"
nginx -c "$TMP/nginx.conf"

run() { # NAME COMMAND
  local name=$1 cmd=$2 pid u0 s0 u1 s1 req out=$TMP/$1.wrk
  if [[ $cmd == haproxy ]]; then
    setsid haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/$name.log" 2>&1 &
  else
    setsid "$cmd" router --table "$TMP/table.json" --state "$TMP/$name.state.json" >"$TMP/$name.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done
  wrk -t2 -c"$CONNS" -d2s http://127.0.0.1:18080/ >/dev/null
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  wrk -t2 -c"$CONNS" -d8s --latency http://127.0.0.1:18080/ >"$out"
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  kill -- -"$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  req=$(awk '/requests in/ {print $1}' "$out")
  awk -v n="$name" -v req="$req" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} / 99%/ {p99 = $2}
    END {printf "%-10s %9.0f req/s  p50 %-8s p99 %-8s user %5.1f µs/req  sys %5.1f µs/req\n", n, rps, p50, p99, u / hz * 1e6 / req, s / hz * 1e6 / req}' "$out"
}

for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r of $ROUNDS (wrk -t2 -c$CONNS -d8s)"
  for arg in "$@"; do run "${arg%%=*}" "${arg#*=}"; done
done
