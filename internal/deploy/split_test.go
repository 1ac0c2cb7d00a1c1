package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

func analysisPlan() Plan {
	p := canaryPlan()
	p.SplitTolerance, p.SplitMinRequests = 10, 500
	p.Analysis = &AnalysisPlan{Interval: 5 * time.Second, Window: 30 * time.Second, MinRequests: 30, FailureLimit: 1, ConsecutiveSuccesses: 1}
	return p
}

// atFirstStep drives a deployment to step 1 (10%).
func atFirstStep(t *testing.T, p Plan) *sim {
	m := &sim{t: t, s: newState(p), now: t0}
	m.decide(Observation{})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseShifting)
	m.wantWeight(1000)
	return m
}

// sixteenOffBalance is issue 12's case: 16 sticky clients, none of them in green's cohort.
func sixteenOffBalance(total uint64) *Split {
	var sticky []int
	for i := 0; i < 16; i++ {
		sticky = append(sticky, 1000+i*500)
	}
	return &Split{Green: 0, Total: total, Sticky: sticky}
}

// TestSplitCheckSpeaksUpWhileAnalysisStarves: analysis stays inconclusive (green gets
// nothing), so the step never bakes; the split check still says what is wrong, in the events
// and in why, within the step, and fails the step at the split deadline with the reason —
// long before the deployment's hour.
func TestSplitCheckSpeaksUpWhileAnalysisStarves(t *testing.T) {
	m := atFirstStep(t, analysisPlan())
	inconclusive := &AnalysisResult{Verdict: analysis.Inconclusive, Evidence: []string{"errors: inconclusive: green served no requests"}}
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Analysis: inconclusive, Split: sixteenOffBalance(11480)})
	want := "green got 0 of 11,480 requests at 10%: 16 sticky clients, none in green's cohort"
	if !strings.Contains(m.s.Reason, want) || !strings.Contains(m.all[len(m.all)-1].Message, want) {
		t.Fatalf("reason %q / event %q, want %q", m.s.Reason, m.all[len(m.all)-1].Message, want)
	}
	if why := Why(m.s, m.now); !strings.Contains(why, "waits on its split: "+want) {
		t.Fatalf("why does not say it: %s", why)
	}
	events := len(m.all)
	for i := 0; i < 10; i++ {
		m.advance(5 * time.Second)
		m.decide(Observation{Green: healthy(2), Analysis: inconclusive, Split: sixteenOffBalance(11480 + uint64(i)*100)})
	}
	if len(m.all) != events {
		t.Fatalf("the split check repeated itself: %v", m.all[events:])
	}
	m.advance(DefaultSplitDeadline)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(20000)})
	m.wantPhase(PhaseRolledBack)
	if !strings.Contains(m.s.Reason, "16 sticky clients, none in green's cohort, for 5m0s; rolling back to blue") {
		t.Fatalf("rollback reason %q", m.s.Reason)
	}
	if m.now.Sub(t0) >= m.s.Plan.Deadline {
		t.Fatal("ended by the deployment deadline, not the split check")
	}
}

// TestSplitCheckWaitPolicyKeepsWaitingAndSaysSo: with split_check.policy wait the step does
// not fail on the split, still says why, and the deployment deadline ends it.
func TestSplitCheckWaitPolicyKeepsWaitingAndSaysSo(t *testing.T) {
	p := analysisPlan()
	p.SplitWait = true
	m := atFirstStep(t, p)
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(11480)})
	if !strings.Contains(m.s.Reason, "none in green's cohort; waiting for it to right itself") {
		t.Fatalf("reason %q", m.s.Reason)
	}
	m.advance(2 * DefaultSplitDeadline)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(30000)})
	m.wantPhase(PhaseShifting)
	m.now = m.s.Deadline()
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(90000)})
	m.wantPhase(PhaseRolledBack)
	if !strings.Contains(m.s.Reason, "waits on its split: green got 0 of 30,000 requests") {
		t.Fatalf("deadline reason does not carry the split: %q", m.s.Reason)
	}
}

// TestSplitBackInRangeClears: a split that rights itself is recorded and lets the step go on.
func TestSplitBackInRangeClears(t *testing.T) {
	m := atFirstStep(t, canaryPlan())
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(1000)})
	if m.s.SplitOffSince.IsZero() {
		t.Fatal("a starved green was not noticed")
	}
	m.advance(time.Minute)
	m.decide(Observation{Green: healthy(2), Split: &Split{Green: 110, Total: 1000}})
	if !m.s.SplitOffSince.IsZero() || m.s.SplitNote != "" {
		t.Fatalf("still off after a fair split: %q", m.s.SplitNote)
	}
	if m.s.Step != 1 {
		t.Fatalf("step %d after the split righted itself and the bake passed, want 1 (reason %q)", m.s.Step, m.s.Reason)
	}
}

func hasGen(acts []Action, kind ActionKind, gen int64) bool {
	for _, a := range acts {
		if a.Kind == kind && a.Gen == gen {
			return true
		}
	}
	return false
}

// TestSplitCheckRebalancesThenFails: under policy rebalance (the default) the first off split
// of a step asks the router to re-balance once (a generation in the actions from then on),
// the split is judged from the re-balance, a split back in range lets the step go on, and
// one still off at the deadline fails the step saying it re-balanced first.
func TestSplitCheckRebalancesThenFails(t *testing.T) {
	p := analysisPlan()
	p.SplitRebalance = true
	m := atFirstStep(t, p)
	m.advance(5 * time.Second)
	acts := m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(11480)})
	gen := m.s.RebalanceGen
	if gen <= 0 || !m.s.SplitRebalancedAt.Equal(m.now) || !hasGen(acts, ActRebalance, gen) {
		t.Fatalf("no re-balance asked: gen %d at %v, actions %+v", gen, m.s.SplitRebalancedAt, acts)
	}
	if !strings.Contains(m.s.Reason, "none in green's cohort; re-balancing the cohorts") {
		t.Fatalf("reason %q does not say it re-balances", m.s.Reason)
	}
	if m.s.splitSince() != m.now {
		t.Fatal("the split is not judged from the re-balance")
	}
	// Still off: no second re-balance in this step, the same generation kept in the actions.
	for i := 0; i < 5; i++ {
		m.advance(30 * time.Second)
		acts = m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(5000)})
		if m.s.RebalanceGen != gen || !hasGen(acts, ActRebalance, gen) {
			t.Fatalf("re-balanced again within the step: gen %d → %d", gen, m.s.RebalanceGen)
		}
	}
	m.advance(DefaultSplitDeadline)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(20000)})
	m.wantPhase(PhaseRolledBack)
	if !strings.Contains(m.s.Reason, "none in green's cohort, for 5m0s, after re-balancing the cohorts") {
		t.Fatalf("rollback reason %q", m.s.Reason)
	}
}

// TestSplitCheckRebalanceThatWorksLetsTheStepGoOn: after a re-balance the split is back in
// range and the step advances as usual.
func TestSplitCheckRebalanceThatWorksLetsTheStepGoOn(t *testing.T) {
	p := analysisPlan()
	p.SplitRebalance = true
	m := atFirstStep(t, p)
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Split: sixteenOffBalance(11480)})
	m.advance(10 * time.Second)
	ok := &AnalysisResult{Verdict: analysis.Pass, Evidence: []string{"errors: 0%"}}
	m.decide(Observation{Green: healthy(2), Analysis: ok, Split: &Split{Green: 120, Total: 1100}})
	if !m.s.SplitOffSince.IsZero() || !strings.Contains(m.all[len(m.all)-1].Message, "back in range") {
		t.Fatalf("split not back in range: %q", m.all[len(m.all)-1].Message)
	}
	for i := 0; i < 20 && m.s.Step == 0 && !m.s.Phase.Terminal(); i++ {
		m.advance(5 * time.Second)
		m.decide(Observation{Green: healthy(2), Analysis: ok, Split: &Split{Green: 120, Total: 1100}})
	}
	if m.s.Step != 1 {
		t.Fatalf("the step did not go on after the re-balance: step %d, %s: %s", m.s.Step, m.s.Phase, m.s.Reason)
	}
	if m.s.SplitRebalancedAt != (time.Time{}) {
		t.Error("the next step starts with the re-balance of the last one")
	}
}

// TestFiringAlarmRollsBackAtOnce: an alarm in ALARM ends the step at the first evaluation
// that sees it, even with failure_limit above 1 and the checks passing.
func TestFiringAlarmRollsBackAtOnce(t *testing.T) {
	p := analysisPlan()
	p.Analysis.FailureLimit = 5
	m := atFirstStep(t, p)
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Pass, Evidence: []string{"alarms: none of 1 alarm(s) in ALARM"}}})
	m.wantPhase(PhaseShifting)
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Fail, Alarms: []string{"web-5xx is in ALARM: Threshold Crossed"}}})
	m.wantPhase(PhaseRolledBack)
	if !strings.Contains(m.s.Reason, "step 1 (10%): alarm web-5xx is in ALARM: Threshold Crossed") {
		t.Fatalf("reason %q", m.s.Reason)
	}
}
