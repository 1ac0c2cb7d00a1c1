package deploy

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cutover/cutover/internal/analysis"
)

func genPlan(t *rapid.T) Plan {
	p := canaryPlan()
	n := rapid.IntRange(1, 4).Draw(t, "steps")
	p.Steps = nil
	w := 0.0
	for i := 0; i < n; i++ {
		if 100-w > 1 {
			w += rapid.Float64Range(1, 100-w).Draw(t, "weight")
		}
		if i == n-1 || 100-w <= 1 {
			w = 100
		}
		p.Steps = append(p.Steps, Step{
			Weight:   w,
			Pause:    time.Duration(rapid.IntRange(0, 300).Draw(t, "pause")) * time.Second,
			Approval: rapid.Bool().Draw(t, "approval"),
		})
		if w >= 100 {
			break
		}
	}
	p.Rolling = rapid.Bool().Draw(t, "rolling")
	if rapid.Bool().Draw(t, "hooks") {
		p.Hooks = map[Point][]string{BeforeStart: {"a"}, AfterStep: {"b"}, AfterFullTraffic: {"c"}}
	}
	if rapid.Bool().Draw(t, "analysis") {
		p.Analysis = &AnalysisPlan{Interval: 10 * time.Second, Window: 30 * time.Second, MinRequests: 50,
			FailureLimit: rapid.IntRange(1, 3).Draw(t, "limit"), ConsecutiveSuccesses: rapid.IntRange(1, 3).Draw(t, "succ")}
	}
	return p
}

func genObservation(t *rapid.T, s State) Observation {
	var o Observation
	n := s.Plan.Instances
	for i := 0; i < n; i++ {
		in := InstanceObs{ID: "g" + string(rune('0'+i)), Healthy: rapid.IntRange(0, 9).Draw(t, "healthy") > 1}
		in.Exited = rapid.IntRange(0, 99).Draw(t, "exit") == 0
		o.Green = append(o.Green, in)
	}
	if s.Hook != nil && rapid.Bool().Draw(t, "hookdone") {
		o.Hook = &HookResult{Key: s.Hook.Key(), Passed: rapid.IntRange(0, 9).Draw(t, "hookpass") > 0}
	}
	if s.Plan.Analysis != nil && rapid.Bool().Draw(t, "eval") {
		v := rapid.SampledFrom([]analysis.Verdict{analysis.Pass, analysis.Pass, analysis.Inconclusive, analysis.Fail}).Draw(t, "verdict")
		o.Analysis = &AnalysisResult{Verdict: v}
	}
	if rapid.IntRange(0, 19).Draw(t, "cmd") == 0 {
		o.Commands = []Command{{Kind: rapid.SampledFrom([]CommandKind{CmdPromote, CmdApprove, CmdPause, CmdResume, CmdAbort}).Draw(t, "kind")}}
	}
	if rapid.IntRange(0, 9).Draw(t, "split") == 0 {
		total := uint64(rapid.IntRange(0, 5000).Draw(t, "total"))
		o.Split = &Split{Total: total, Green: uint64(rapid.IntRange(0, int(total)).Draw(t, "green"))}
	}
	return o
}

// TestPropertyEveryDeploymentEnds: any sequence of observations reaches a terminal state by
// the deadline; after a failure the green weight only goes down; a bad end leaves all
// traffic on blue.
func TestPropertyEveryDeploymentEnds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newState(genPlan(t))
		now := t0
		failed := false
		for i := 0; i < 2000 && !s.Phase.Terminal(); i++ {
			now = now.Add(time.Duration(rapid.IntRange(0, 120).Draw(t, "advance")) * time.Second)
			prev := s
			var acts []Action
			s, acts, _ = Decide(s, genObservation(t, s), now)
			if failed && s.Weight > prev.Weight {
				t.Fatalf("weight rose from %d to %d after a failure", prev.Weight, s.Weight)
			}
			if s.Phase == PhaseRolledBack || s.Phase == PhaseFailed || s.Phase == PhaseAborted {
				failed = true
				if s.Weight != 0 || routeWeight(acts) != 0 || !hasAction(acts, ActStopGreen) {
					t.Fatalf("%s left weight %d, actions %+v", s.Phase, s.Weight, acts)
				}
			}
			if !now.Before(s.Deadline()) && !s.Phase.Terminal() {
				t.Fatalf("past the deadline and still %s", s.Phase)
			}
			if s.Phase.Terminal() && s.Reason == "" {
				t.Fatal("terminal without a reason")
			}
		}
		if !s.Phase.Terminal() {
			// Jump past the deadline: the next decision must end it.
			s, _, _ = Decide(s, Observation{}, s.Deadline())
			if !s.Phase.Terminal() {
				t.Fatalf("still %s at the deadline", s.Phase)
			}
		}
	})
}
