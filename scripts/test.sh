#!/usr/bin/env bash
# Runs every test cutover has. Installs what the tests need when it is missing, so it works on
# a fresh machine: Go modules, staticcheck, a Docker engine (Debian's docker.io, started when
# none answers), the Kubernetes control plane (built from the Go module proxy into
# ~/.cache/cutover, see scripts/kube-binaries.sh). Usage: scripts/test.sh [lint|unit|fuzz|docker|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
FUZZTIME=${FUZZTIME:-10s}
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
export PATH="$(go env GOPATH)/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

lint() {
  step "go mod download"
  go mod download
  step "gofmt"
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
  step "go vet"
  go vet ./...
  step "staticcheck"
  if ! command -v staticcheck >/dev/null || ! staticcheck -version | grep -q "($STATICCHECK_VERSION)"; then
    go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  fi
  staticcheck ./...
}

# The docker driver's tests run containers on a real engine and never skip: install Debian's
# docker.io when dockerd or the docker CLI is missing, start dockerd in the background when
# `docker info` fails (a running daemon is left alone), and wait until it answers.
DOCKERD_LOG=${DOCKERD_LOG:-/tmp/cutover-dockerd.log}
DOCKERD_WAIT=${DOCKERD_WAIT:-60} # seconds
docker_engine() {
  step "docker engine"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    echo "installing docker.io (dockerd or docker is missing)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker.io >/dev/null
  fi
  if docker info >/dev/null 2>&1; then
    echo "the engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    return
  fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != unix:///var/run/docker.sock ]; then
    echo "DOCKER_HOST=$DOCKER_HOST does not answer; starting a local dockerd would not help"
    docker info 2>&1 | tail -n 5
    exit 1
  fi
  # A pid file left by a dockerd that died stops a new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    $sudo rm -f /var/run/docker.pid
  fi
  echo "starting dockerd (log: $DOCKERD_LOG)"
  $sudo sh -c "setsid dockerd >'$DOCKERD_LOG' 2>&1 </dev/null &"
  for _ in $(seq "$DOCKERD_WAIT"); do
    if docker info >/dev/null 2>&1; then
      echo "the engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
      return
    fi
    sleep 1
  done
  echo "dockerd did not answer within ${DOCKERD_WAIT}s; the end of $DOCKERD_LOG:"
  tail -n 40 "$DOCKERD_LOG" || true
  exit 1
}

# The dashboard's browser test (test/ui) drives Debian's Chromium; it fails without it.
install_chromium() {
  [ -x /usr/bin/chromium ] && return
  step "apt-get install chromium (for the dashboard's browser test)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The multi-router test (test/multirouter) creates network namespaces with ip from iproute2,
# as root (which CI is); it fails without them.
install_iproute2() {
  command -v ip >/dev/null && return
  step "apt-get install iproute2 (for the multi-router namespace test)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
}

# The pipeline tests (internal/pipeline/gitsrc, test/pipeline) drive the git CLI on
# repositories they make; they fail without it.
install_git() {
  command -v git >/dev/null && return
  step "apt-get install git (for the pipeline tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null
}

# The AWS providers' tests (internal/provider/aws*) run against a real moto_server on
# 127.0.0.1 and never skip; say so at once when it is missing instead of failing deep inside.
moto_server_check() {
  step "moto_server (for the AWS provider tests)"
  if ! command -v moto_server >/dev/null; then
    echo "moto_server is missing: the AWS provider tests need it; install moto 5.2.1: pip install 'moto[server]==5.2.1'" >&2
    exit 1
  fi
  command -v moto_server
}

# The Kubernetes tests (internal/provider/kube*, internal/engine, test/kube, test/ui) run
# against a real kube-apiserver, controller-manager, scheduler and kwok, built once per
# machine from the Go module proxy into a cache outside the repository (a cold build takes
# ~15 min on 2 cores, a warm check under a second); they never skip.
kube_binaries() {
  step "Kubernetes control plane (scripts/kube-binaries.sh)"
  KUBEBUILDER_ASSETS="$(scripts/kube-binaries.sh | tail -n 1)"
  export KUBEBUILDER_ASSETS
  echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
}

unit() {
  docker_engine
  install_chromium
  install_iproute2
  install_git
  moto_server_check
  kube_binaries
  step "go test -race"
  go test -race -count=1 -timeout 15m ./...
}

# Short fuzz runs of every fuzz target: each target for FUZZTIME, seed corpora included.
fuzz() {
  step "fuzz (each target for $FUZZTIME)"
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
      echo "-- $pkg $target"
      fuzz_one "$pkg" "$target" || fuzz_one "$pkg" "$target" retry
    done
  done
}

# fuzz_one runs one target. Go 1.26's fuzz coordinator can report a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input (go.dev/issue/75804, fixed in Go
# 1.27): no input failed and none is written. That case, and only that one, returns 1 so the
# caller runs the target once more; any real failure (a failing input written, a panic, a
# test error) exits at once.
fuzz_one() {
  local out rc=0
  out=$(go test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" "$1" 2>&1) || rc=$?
  printf '%s\n' "$out"
  [ "$rc" = 0 ] && return 0
  if [ -z "${3:-}" ] && grep -q 'context deadline exceeded' <<<"$out" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' <<<"$out"; then
    echo "(go.dev/issue/75804: the fuzz coordinator's deadline race, no failing input; running $2 again)"
    return 1
  fi
  exit "$rc"
}

case "$what" in
  lint) lint ;;
  unit) unit ;;
  fuzz) fuzz ;;
  docker) docker_engine ;;
  all) lint; unit; fuzz ;;
  *) echo "usage: $0 [lint|unit|fuzz|docker|all]" >&2; exit 2 ;;
esac
