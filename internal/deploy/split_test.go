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
