package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

func verifyPlan() Plan {
	p := canaryPlan()
	p.VerifyTraffic, p.VerifyTimeout = true, 2*time.Minute
	return p
}

func held(bp int) *TrafficCheck {
	return &TrafficCheck{Weight: bp, Verified: true, Evidence: "ALB listener weights read back"}
}

// TestPauseStartsWhenTheProviderHoldsTheWeight: the 1m pause of step 1 counts from the
// read-back that verified 10%, not from the write.
func TestPauseStartsWhenTheProviderHoldsTheWeight(t *testing.T) {
	m := atFirstStep(t, verifyPlan())
	m.advance(30 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 0, Reason: "provider has not converged"}})
	if w := Why(m.s, m.now); !strings.Contains(w, "\ntraffic: waiting for the provider to hold green at 10%: provider has not converged") {
		t.Fatalf("why while the read-back waits:\n%s", w)
	}
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 1000, Reason: "waiting for TTL 60s after INSYNC (until 12:01:00.000)"}})
	if w := Why(m.s, m.now); !strings.Contains(w, "\ntraffic: green at 10% held, waiting for TTL 60s after INSYNC (until 12:01:00.000)") {
		t.Fatalf("why while the weight settles:\n%s", w)
	}
	m.advance(40 * time.Second) // 70s after the write: the pause would be over had it started then
	m.decide(Observation{Green: healthy(2), Traffic: held(1000)})
	if m.s.VerifiedAt != m.now || !strings.Contains(m.s.Reason, "verified: ALB listener") {
		t.Fatalf("not verified at the read-back: %+v", m.s)
	}
	if w := Why(m.s, m.now); !strings.Contains(w, "\ntraffic: ALB listener weights read back") {
		t.Fatalf("why lacks the provider's evidence:\n%s", w)
	}
	m.advance(59 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: held(1000)})
	if m.s.BakeDone {
		t.Fatal("the pause ended 59s after the weight was verified")
	}
	m.advance(time.Second)
	m.decide(Observation{Green: healthy(2)})
	if !m.s.BakeDone && m.s.Step != 1 {
		t.Fatalf("the pause did not end 1m after verification: %s", m.s.Reason)
	}
}

// TestUnverifiedWeightFailsAtTheVerifyTimeout: the provider never converges; the step rolls
// back at the timeout with the provider's reason, and analysis is not judged meanwhile.
func TestUnverifiedWeightFailsAtTheVerifyTimeout(t *testing.T) {
	p := verifyPlan()
	p.Analysis = &AnalysisPlan{Interval: 5 * time.Second, Window: 30 * time.Second, MinRequests: 30, FailureLimit: 1, ConsecutiveSuccesses: 1}
	m := atFirstStep(t, p)
	stuck := &TrafficCheck{Weight: 0, Reason: "provider has not converged on the written weight: listener update pending"}
	for i := 0; i < 23; i++ {
		m.advance(5 * time.Second)
		m.decide(Observation{Green: healthy(2), Traffic: stuck, Analysis: &AnalysisResult{Verdict: analysis.Fail, Evidence: []string{"errors 50%"}}})
		m.wantPhase(PhaseShifting) // a failing verdict at an unverified weight is not judged
	}
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: stuck})
	m.wantPhase(PhaseRolledBack)
	m.wantWeight(0)
	if !strings.Contains(m.s.Reason, "not verified within 2m0s: provider has not converged on the written weight: listener update pending") {
		t.Fatalf("reason: %s", m.s.Reason)
	}
	if e := m.s.TrafficEvidence(); e != "" {
		t.Fatalf("a rolled-back deployment still shows the provider's evidence of green: %s", e)
	}
}

// TestAlarmRollsBackBeforeVerification: a firing alarm does not wait for the read-back.
func TestAlarmRollsBackBeforeVerification(t *testing.T) {
	p := verifyPlan()
	p.Analysis = &AnalysisPlan{Interval: 5 * time.Second, Window: 30 * time.Second, MinRequests: 30, FailureLimit: 1, ConsecutiveSuccesses: 1}
	m := atFirstStep(t, p)
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Inconclusive, Alarms: []string{"web-5xx: Threshold Crossed"}}})
	m.wantPhase(PhaseRolledBack)
	if acts := Ensure(m.s); len(acts) == 0 || acts[0].Kind != ActRoute || acts[0].Weight != 0 {
		t.Fatalf("rollback does not write blue first: %+v", acts)
	}
}

// TestDriftPausesWithoutOverwriting: someone else's weights pause the deployment with what
// they wrote; resume clears the pause, and the step goes on once the read-back is clean.
func TestDriftPausesWithoutOverwriting(t *testing.T) {
	m := atFirstStep(t, verifyPlan())
	m.decide(Observation{Green: healthy(2), Traffic: held(1000)})
	m.advance(10 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 5000, Drift: "listener holds 50/50, cutover wrote 90/10"}})
	if !m.s.Paused || m.s.Drift == "" || !strings.Contains(m.s.Reason, "paused without overwriting it") {
		t.Fatalf("drift did not pause: %+v", m.s)
	}
	events := len(m.all)
	m.advance(time.Minute)
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 5000, Drift: "listener holds 50/50, cutover wrote 90/10"}})
	if len(m.all) != events || m.s.BakeDone {
		t.Fatalf("a drift already reported was reported again or the step baked: %+v", m.all[events:])
	}
	m.decide(Observation{Green: healthy(2), Commands: []Command{{Kind: CmdResume}}})
	m.decide(Observation{Green: healthy(2), Traffic: held(1000)})
	if m.s.Paused || m.s.Drift != "" || !strings.Contains(m.s.Reason, "drift gone") && !m.s.BakeDone {
		t.Fatalf("after resume: %+v", m.s)
	}
}

// TestFullTrafficWaitsForVerification: success (and so blue's retirement) waits until the
// provider holds 100%.
func TestFullTrafficWaitsForVerification(t *testing.T) {
	p := verifyPlan()
	p.Steps = []Step{{Weight: 100}}
	m := &sim{t: t, s: newState(p), now: t0}
	m.decide(Observation{})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2)})
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 10000, Reason: "settling"}})
	m.decide(Observation{Green: healthy(2)})
	if m.s.Phase == PhaseSucceeded {
		t.Fatal("succeeded before the provider held 100%")
	}
	m.decide(Observation{Green: healthy(2), Traffic: held(10000)})
	m.decide(Observation{Green: healthy(2)})
	m.wantPhase(PhaseSucceeded)
}

// TestWithoutVerifyNothingChanges: the built-in router's plans never wait on a read-back.
func TestWithoutVerifyNothingChanges(t *testing.T) {
	m := atFirstStep(t, canaryPlan())
	m.advance(time.Minute)
	m.decide(Observation{Green: healthy(2)})
	if !m.s.BakeDone && m.s.Step != 1 {
		t.Fatalf("a plan without verify_traffic waited: %s", m.s.Reason)
	}
}

// TestWhyAfterAnalysisPassed: once the step's analysis has passed, why says the pause goes
// on instead of counting passes beyond those needed.
func TestWhyAfterAnalysisPassed(t *testing.T) {
	p := canaryPlan()
	p.Analysis = &AnalysisPlan{Interval: 5 * time.Second, Window: 30 * time.Second, MinRequests: 30, FailureLimit: 1, ConsecutiveSuccesses: 1}
	m := atFirstStep(t, p)
	for i := 0; i < 3; i++ {
		m.advance(5 * time.Second)
		m.decide(Observation{Green: healthy(2), Analysis: &AnalysisResult{Verdict: analysis.Pass}})
	}
	if w := Why(m.s, m.now); !strings.Contains(w, "baking step 1 (10%): analysis passed; the step's pause goes on") {
		t.Fatalf("why after the analysis passed:\n%s", w)
	}
}

// TestWhyShowsTheLatestReadBack: once a weight is verified, later read-backs (the first one
// after a restart among them) replace the evidence `why` shows; a read-back at another
// weight does not.
func TestWhyShowsTheLatestReadBack(t *testing.T) {
	m := atFirstStep(t, verifyPlan())
	m.decide(Observation{Green: healthy(2), Traffic: held(1000)})
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 1000, Verified: true, Evidence: "ALB listener weights read back at 12:00:05"}})
	if w := Why(m.s, m.now); !strings.Contains(w, "\ntraffic: ALB listener weights read back at 12:00:05") {
		t.Fatalf("why after a later read-back:\n%s", w)
	}
	m.advance(5 * time.Second)
	m.decide(Observation{Green: healthy(2), Traffic: &TrafficCheck{Weight: 5000, Verified: true, Evidence: "weights 50/50"}})
	if strings.Contains(m.s.Traffic, "50/50") {
		t.Fatalf("a read-back at another weight replaced the evidence: %q", m.s.Traffic)
	}
}
