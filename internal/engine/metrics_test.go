package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cutover/cutover/internal/deploy"
)

func TestCause(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"aborted by user at step 1 (10%); traffic back to blue", "user"},
		{"step 1 (10%): analysis failed: errors: green error rate 12.5% (25 of 200) > 1% limit; rolling back to blue", "analysis"},
		{`after_step hook "smoke" failed: status 500; rolling back to blue`, "hook"},
		{"green instance web-v2-1 exited: exited with code 3; rolling back to blue", "instance_exited"},
		{"green did not become healthy within 1m0s: 0 of 2 instances healthy; blue untouched", "unhealthy"},
		{"step 2: only 1 of 4 green instances became healthy within 1m0s; rolling back to blue", "unhealthy"},
		{"step 2 (50%): no approval within 1h0m0s; rolling back to blue", "approval_timeout"},
		{"deployment deadline of 1h0m0s reached while baking step 1 (10%); rolling back to blue", "deadline"},
		{"something new", "other"},
	} {
		if got := Cause(tc.reason); got != tc.want {
			t.Errorf("Cause(%q) = %s, want %s", tc.reason, got, tc.want)
		}
	}
}

// TestMetricsFollowSavedStates: the gauges and counters move with the saved decisions.
func TestMetricsFollowSavedStates(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := newMetrics(reg)
	s := deploy.State{ID: "web-2", App: "web", Phase: deploy.PhaseStarting, CreatedAt: t0()}
	m.saved(s)
	s.Phase = deploy.PhaseShifting
	m.saved(s)
	if got := testutil.ToFloat64(m.inPhase.WithLabelValues("shifting")); got != 1 {
		t.Fatalf("in shifting: %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.inPhase.WithLabelValues("starting")); got != 0 {
		t.Fatalf("in starting: %v, want 0", got)
	}
	s.Phase, s.EndedAt = deploy.PhaseRolledBack, s.CreatedAt.Add(90e9)
	s.Reason = "step 1 (10%): analysis failed: errors: …; rolling back to blue"
	m.saved(s)
	if got := testutil.ToFloat64(m.inPhase.WithLabelValues("shifting")); got != 0 {
		t.Fatalf("in shifting after the end: %v", got)
	}
	if got := testutil.ToFloat64(m.rollbacks.WithLabelValues("web", "analysis")); got != 1 {
		t.Fatalf("rollbacks by analysis: %v", got)
	}
	if got := testutil.ToFloat64(m.ended.WithLabelValues("web", "rolled_back")); got != 1 {
		t.Fatalf("ended rolled_back: %v", got)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cutover_deployment_duration_seconds Time from a deployment's creation to its terminal state.
# TYPE cutover_deployment_duration_seconds histogram
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="1"} 0
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="5"} 0
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="15"} 0
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="30"} 0
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="60"} 0
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="120"} 1
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="300"} 1
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="600"} 1
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="1800"} 1
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="3600"} 1
cutover_deployment_duration_seconds_bucket{outcome="rolled_back",le="+Inf"} 1
cutover_deployment_duration_seconds_sum{outcome="rolled_back"} 90
cutover_deployment_duration_seconds_count{outcome="rolled_back"} 1
`), "cutover_deployment_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func t0() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }
