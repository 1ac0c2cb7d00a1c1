package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func canaryPlan() Plan {
	return Plan{
		GreenVersion: "v2", BlueVersion: "v1", Instances: 2,
		Steps:        []Step{{Weight: 10, Pause: time.Minute}, {Weight: 50, Approval: true}, {Weight: 100}},
		StartupGrace: time.Minute, Deadline: time.Hour, Approval: 10 * time.Minute, HookTimeout: 5 * time.Minute,
		KeepWarm: 5 * time.Minute, DrainTimeout: 30 * time.Second,
		SplitTolerance: 5, SplitMinRequests: 200,
	}
}

func newState(p Plan) State {
	return State{ID: "web-1", App: "web", Plan: p, Phase: PhaseBeforeStart, CreatedAt: t0, PhaseSince: t0}
}

func healthy(n int) []InstanceObs {
	var out []InstanceObs
	for i := 0; i < n; i++ {
		out = append(out, InstanceObs{ID: "web-v2-" + string(rune('1'+i)), Healthy: true})
	}
	return out
}

// sim drives Decide the way the runner does, with a fake clock.
type sim struct {
	t   *testing.T
	s   State
	now time.Time
	all []Event
}

func (m *sim) decide(o Observation) []Action {
	m.t.Helper()
	next, acts, evs := Decide(m.s, o, m.now)
	m.s = next
	m.all = append(m.all, evs...)
	return acts
}

func (m *sim) advance(d time.Duration) { m.now = m.now.Add(d) }

func (m *sim) wantPhase(p Phase) {
	m.t.Helper()
	if m.s.Phase != p {
		m.t.Fatalf("phase %s, want %s (reason: %s)", m.s.Phase, p, m.s.Reason)
	}
}

func (m *sim) wantWeight(w int) {
	m.t.Helper()
	if m.s.Weight != w {
		m.t.Fatalf("weight %d, want %d (phase %s, reason: %s)", m.s.Weight, w, m.s.Phase, m.s.Reason)
	}
}

func TestCanaryHappyPath(t *testing.T) {
	m := &sim{t: t, s: newState(canaryPlan()), now: t0}
	acts := m.decide(Observation{})
	m.wantPhase(PhaseStarting)
	if !hasAction(acts, ActEnsureGreen) {
		t.Fatalf("starting without ensure_green: %+v", acts)
	}
	m.advance(time.Second)
	m.decide(Observation{Green: healthy(1)})
	m.wantPhase(PhaseStarting) // one of two healthy
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseTesting)
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseShifting)
	m.wantWeight(1000)
	m.advance(30 * time.Second)
	m.decide(Observation{Green: healthy(2)})
	m.wantWeight(1000) // pause not over
	m.advance(31 * time.Second)
	m.decide(Observation{Green: healthy(2), Split: &Split{Green: 100, Total: 1000}})
	m.wantWeight(5000)
	m.advance(time.Minute)
	m.decide(Observation{Green: healthy(2)})
	m.wantWeight(5000) // waits for approval
	if !strings.Contains(Why(m.s, m.now), "waiting for approval") {
		t.Fatalf("why: %s", Why(m.s, m.now))
	}
	m.decide(Observation{Green: healthy(2), Commands: []Command{{Kind: CmdApprove}}})
	m.wantWeight(10000)
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseFullTraffic)
	acts = m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseSucceeded)
	if !hasAction(acts, ActPromote) {
		t.Fatalf("succeeded without promote: %+v", acts)
	}
	if want := m.now.Add(5 * time.Minute); !m.s.RetireBlueAt.Equal(want) {
		t.Fatalf("retire blue at %v, want %v", m.s.RetireBlueAt, want)
	}
}

func TestFailurePoints(t *testing.T) {
	withHooks := func(p Plan) Plan {
		p.Hooks = map[Point][]string{BeforeStart: {"migrate"}, AfterTestTraffic: {"smoke"}, AfterStep: {"check"}}
		return p
	}
	withAnalysis := func(p Plan) Plan {
		p.Analysis = &AnalysisPlan{Interval: 10 * time.Second, Window: 30 * time.Second, MinRequests: 50, FailureLimit: 1, ConsecutiveSuccesses: 1}
		return p
	}
	cases := []struct {
		desc   string
		plan   Plan
		drive  func(m *sim)
		phase  Phase
		reason string
	}{
		{"green never healthy fails with blue untouched", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.advance(61 * time.Second)
			m.decide(Observation{Green: []InstanceObs{{ID: "a", Reason: "GET /healthz: status 503"}}})
		}, PhaseFailed, "did not become healthy within 1m0s: 0 of 2 instances healthy (a: GET /healthz: status 503)"},
		{"green cannot start", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{StartError: "start instance web-v2-1: fork/exec ./web: no such file or directory"})
		}, PhaseFailed, "cannot start green instances of v2: start instance web-v2-1: fork/exec ./web: no such file or directory; blue untouched"},
		{"green exits while starting", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: []InstanceObs{{ID: "a", Exited: true, Reason: "exited with code 3"}}})
		}, PhaseFailed, "green instance a exited: exited with code 3"},
		{"before_start hook fails", withHooks(canaryPlan()), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Hook: &HookResult{Key: "before_start/migrate/0", Reason: "command ./migrate exited with code 2",
				Output: "applying 0042_add_column\nERROR: relation exists\n"}})
		}, PhaseFailed, `before_start hook "migrate" failed: command ./migrate exited with code 2; output: applying 0042_add_column
ERROR: relation exists; blue untouched`},
		{"after_step hook fails rolls back", withHooks(canaryPlan()), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Hook: &HookResult{Key: "before_start/migrate/0", Passed: true}})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)}) // starts smoke
			m.decide(Observation{Green: healthy(2), Hook: &HookResult{Key: "after_test_traffic/smoke/0", Passed: true}})
			m.advance(time.Minute)
			m.decide(Observation{Green: healthy(2)}) // bake done, starts check
			m.decide(Observation{Green: healthy(2), Hook: &HookResult{Key: "after_step/check/0", Reason: "status 500"}})
		}, PhaseRolledBack, `after_step hook "check" failed: status 500; rolling back`},
		{"analysis fail rolls back", withAnalysis(canaryPlan()), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			m.advance(10 * time.Second)
			m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Fail,
				Evidence: []string{"green error rate 12.5% (25 of 200) > 1% limit"}}})
		}, PhaseRolledBack, "step 1 (10%): analysis failed: green error rate 12.5% (25 of 200) > 1% limit; rolling back"},
		{"inconclusive analysis never passes and ends at the deadline", withAnalysis(canaryPlan()), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			for i := 0; i < 400; i++ {
				m.advance(10 * time.Second)
				m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Inconclusive,
					Evidence: []string{"inconclusive: green served 3 requests"}}})
				if m.s.Weight > 1000 {
					m.t.Fatalf("weight raised on inconclusive analysis")
				}
			}
		}, PhaseRolledBack, "deployment deadline of 1h0m0s reached"},
		{"green exits mid-canary", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: []InstanceObs{{ID: "a", Exited: true, Reason: "killed by SIGKILL"}}})
		}, PhaseRolledBack, "green instance a exited: killed by SIGKILL; rolling back"},
		{"abort mid-canary", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Commands: []Command{{Kind: CmdAbort}}})
		}, PhaseAborted, "aborted by user at step 1 (10%)"},
		{"no approval in time", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			m.advance(time.Minute)
			m.decide(Observation{Green: healthy(2)})
			m.advance(11 * time.Minute)
			m.decide(Observation{Green: healthy(2)})
		}, PhaseRolledBack, "step 2 (50%): no approval within 10m0s"},
		{"split far off fails the step at the split deadline", canaryPlan(), func(m *sim) {
			m.decide(Observation{})
			m.decide(Observation{Green: healthy(2)})
			m.decide(Observation{Green: healthy(2)})
			m.advance(time.Minute)
			m.decide(Observation{Green: healthy(2), Split: &Split{Green: 400, Total: 1000}})
			m.wantPhase(PhaseShifting)
			m.wantWeight(1000) // baked, but a split that is off does not advance
			m.advance(DefaultSplitDeadline)
			m.decide(Observation{Green: healthy(2), Split: &Split{Green: 800, Total: 2000}})
		}, PhaseRolledBack, "step 1 (10%): green got 800 of 2,000 requests at 10%, for 5m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			m := &sim{t: t, s: newState(tc.plan), now: t0}
			tc.drive(m)
			m.wantPhase(tc.phase)
			if !strings.Contains(m.s.Reason, tc.reason) {
				t.Fatalf("reason %q does not contain %q", m.s.Reason, tc.reason)
			}
			if tc.phase.Terminal() {
				m.wantWeight(0)
				acts := Ensure(m.s)
				if !hasAction(acts, ActStopGreen) || routeWeight(acts) != 0 {
					t.Fatalf("terminal %s without route 0 + stop green: %+v", tc.phase, acts)
				}
			}
		})
	}
}

func TestPromoteSkipsRemainingSteps(t *testing.T) {
	m := &sim{t: t, s: newState(canaryPlan()), now: t0}
	m.decide(Observation{})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2)})
	m.wantWeight(1000)
	m.decide(Observation{Commands: []Command{{Kind: CmdPromote}}})
	// No after_full_traffic hooks: promotion completes in the same decision.
	m.wantPhase(PhaseSucceeded)
	m.wantWeight(10000)
	if !strings.Contains(m.all[len(m.all)-2].Message, "promoted by user") {
		t.Fatalf("events: %+v", m.all)
	}
}

func TestPauseHoldsAndResumeContinues(t *testing.T) {
	m := &sim{t: t, s: newState(canaryPlan()), now: t0}
	m.decide(Observation{})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Commands: []Command{{Kind: CmdPause}}})
	m.advance(5 * time.Minute)
	m.decide(Observation{Green: healthy(2)})
	m.wantWeight(1000)
	m.decide(Observation{Green: healthy(2), Commands: []Command{{Kind: CmdResume}}})
	m.wantWeight(5000)
}

func hasAction(acts []Action, k ActionKind) bool {
	for _, a := range acts {
		if a.Kind == k {
			return true
		}
	}
	return false
}

func routeWeight(acts []Action) int {
	for _, a := range acts {
		if a.Kind == ActRoute {
			return a.Weight
		}
	}
	return -1
}

func TestRollingReplacesInBatches(t *testing.T) {
	p := canaryPlan()
	p.Instances, p.Rolling = 4, true
	p.Steps = []Step{{Weight: 50, Pause: time.Minute}, {Weight: 100}}
	m := &sim{t: t, s: newState(p), now: t0}
	acts := m.decide(Observation{})
	if got := countOf(acts, ActEnsureGreen); got != 2 {
		t.Fatalf("first batch starts %d green instances, want 2", got)
	}
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseShifting)
	m.wantWeight(5000)
	if acts := Ensure(m.s); countOf(acts, ActScaleBlue) != 2 || countOf(acts, ActEnsureGreen) != 2 {
		t.Fatalf("at 50%%: %+v, want 2 green and blue scaled to 2", acts)
	}
	m.advance(time.Minute)
	m.decide(Observation{Green: healthy(2)})
	if !m.s.Scaling || m.s.Weight != 5000 {
		t.Fatalf("after the bake: scaling %v weight %d, want the next batch starting at 50%%", m.s.Scaling, m.s.Weight)
	}
	if acts := Ensure(m.s); countOf(acts, ActEnsureGreen) != 4 || countOf(acts, ActScaleBlue) != 2 || routeWeight(acts) != 5000 {
		t.Fatalf("while the batch starts: %+v, want 4 green, blue still 2, traffic still 50%%", acts)
	}
	m.decide(Observation{Green: healthy(3)})
	m.wantWeight(5000) // not all of the batch is healthy yet
	m.decide(Observation{Green: healthy(4)})
	m.wantWeight(10000)
	if acts := Ensure(m.s); countOf(acts, ActScaleBlue) != 0 || !hasAction(acts, ActScaleBlue) {
		t.Fatalf("at 100%%: %+v, want blue scaled to 0", acts)
	}
	m.decide(Observation{Green: []InstanceObs{{ID: "a", Exited: true, Reason: "exit 3"}}})
	m.wantPhase(PhaseRolledBack)
	if acts := Ensure(m.s); countOf(acts, ActEnsureBlue) != 4 || routeWeight(acts) != 0 {
		t.Fatalf("rolled back: %+v, want blue back to 4 and traffic on blue", acts)
	}
}

// countOf is the Count of the first action of kind k, or -1.
func countOf(acts []Action, k ActionKind) int {
	for _, a := range acts {
		if a.Kind == k {
			return a.Count
		}
	}
	return -1
}
