#!/usr/bin/env bash
# bench/chaos.sh: the long runs of the reliability suite (test/reliability and the router
# process's upgrade test), with their results lines, for RELIABILITY.md.
#
#   - kill -9 of `cutover server` in each phase of a canary, under constant load;
#   - every green instance killed with SIGKILL mid-canary;
#   - a green that accepts connections and never answers;
#   - a soak of $SOAK deployments alternating good and bad releases under load, watching
#     descriptors, goroutines, processes and memory of the server and the router;
#   - three router upgrades under load (internal/routerctl).
#
# Environment: SOAK (default 100 deployments). CI runs the same tests with a 20-deployment
# soak as part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SOAK=${SOAK:-100}
echo "command: SOAK=$SOAK bench/chaos.sh ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
CUTOVER_SOAK_DEPLOYMENTS=$SOAK go test -count=1 -v -timeout 30m \
  -run 'TestKill9ServerAtEveryPhaseFailsNoRequest|TestKilledGreenInstancesRollBack|TestHangingGreenEndsWithoutStuckDeployment|TestSoakAlternatingReleases' \
  ./test/reliability/ 2>&1 | grep -E '^\s+(chaos|soak)_test.go|^--- |^(ok|FAIL)'
go test -count=1 -v -run 'TestUpgradeUnderLoadFailsNoRequest' ./internal/routerctl/ 2>&1 | grep -E 'upgrades|^--- |^(ok|FAIL)'
