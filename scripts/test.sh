#!/usr/bin/env bash
# Runs every test cutover has. Installs what the tests need when it is missing, so it works on
# a fresh machine: Go modules, staticcheck. Usage: scripts/test.sh [lint|unit|fuzz|all]
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

# The dashboard's browser test (test/ui) drives Debian's Chromium; it fails without it.
install_chromium() {
  [ -x /usr/bin/chromium ] && return
  step "apt-get install chromium (for the dashboard's browser test)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

unit() {
  install_chromium
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
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
    done
  done
}

case "$what" in
  lint) lint ;;
  unit) unit ;;
  fuzz) fuzz ;;
  all) lint; unit; fuzz ;;
  *) echo "usage: $0 [lint|unit|fuzz|all]" >&2; exit 2 ;;
esac
