package deploy

import (
	"strings"
	"time"
)

var pointOrder = map[Point]int{
	BeforeStart: 0, GreenHealthy: 1, AfterTestTraffic: 2, AfterStep: 3, AfterFullTraffic: 4, AfterBlueRetired: 5,
}

// hooks runs the hooks at point one after another and reports true once all have passed. A
// failed or overdue hook ends the deployment (failed before production traffic, rolled back
// after). res is the result of the hook being waited for, if it has finished.
func (d *decision) hooks(point Point, res *HookResult) bool {
	s := &d.s
	if s.HookPoint != "" && pointOrder[point] < pointOrder[s.HookPoint] {
		return true // an earlier point of this phase, already done
	}
	if s.HookPoint != point {
		s.HookPoint, s.HooksDone = point, 0
	}
	names := s.Plan.Hooks[point]
	for s.HooksDone < len(names) {
		if s.Hook == nil {
			s.Hook = &HookWait{Point: point, Index: s.HooksDone, Name: names[s.HooksDone], Step: s.Step, StartedAt: d.now}
			d.record("running %s hook %q", point, s.Hook.Name)
			return false
		}
		if res != nil && res.Key == s.Hook.Key() {
			name := s.Hook.Name
			if !res.Passed {
				d.fail("%s hook %q failed: %s%s", point, name, res.Reason, outputTail(res.Output))
				return false
			}
			s.Hook = nil
			s.HooksDone++
			d.record("%s hook %q passed%s", point, name, outputTail(res.Output))
			res = nil
			continue
		}
		if limit := s.Plan.HookTimeout; limit > 0 && !d.now.Before(s.Hook.StartedAt.Add(limit)) {
			d.fail("%s hook %q did not finish within %s", point, s.Hook.Name, limit)
			return false
		}
		return false
	}
	return true
}

// Ensure returns the actions that make the world match s. They are idempotent: the runner
// performs them after every decision and again after a restart.
func Ensure(s State) []Action {
	var acts []Action
	switch s.Phase {
	case PhaseBeforeStart:
	case PhaseStarting, PhaseTesting:
		acts = append(acts, Action{Kind: ActEnsureGreen, Count: s.greenWanted()}, Action{Kind: ActRoute, Weight: 0})
	case PhaseShifting, PhaseFullTraffic:
		if s.Plan.Rolling {
			acts = append(acts, Action{Kind: ActEnsureGreen, Count: max(s.GreenTarget, 1)}, Action{Kind: ActRoute, Weight: s.Weight},
				Action{Kind: ActScaleBlue, Count: s.BlueTarget})
		} else {
			acts = append(acts, Action{Kind: ActEnsureGreen, Count: s.Plan.Instances}, Action{Kind: ActRoute, Weight: s.Weight})
		}
		if s.RebalanceGen > 0 && s.Phase == PhaseShifting {
			acts = append(acts, Action{Kind: ActRebalance, Gen: s.RebalanceGen})
		}
	case PhaseSucceeded:
		acts = append(acts, Action{Kind: ActPromote})
	case PhaseRolledBack, PhaseFailed, PhaseAborted:
		if s.Plan.Rolling && s.Plan.BlueVersion != "" {
			acts = append(acts, Action{Kind: ActRoute, Weight: 0}, Action{Kind: ActEnsureBlue, Count: s.Plan.Instances})
		} else {
			acts = append(acts, Action{Kind: ActRoute, Weight: 0})
		}
		acts = append(acts, Action{Kind: ActStopGreen})
	}
	if s.Hook != nil && !s.Phase.Terminal() {
		acts = append(acts, Action{Kind: ActRunHook, Hook: s.Hook})
	}
	return acts
}

// NextWake is when Decide must run again even if nothing is observed: the earliest timer of
// the state. The runner also decides on every observation.
func NextWake(s State) time.Time {
	if s.Phase.Terminal() {
		return time.Time{}
	}
	t := s.Deadline()
	consider := func(c time.Time) {
		if !c.IsZero() && c.Before(t) {
			t = c
		}
	}
	switch s.Phase {
	case PhaseStarting:
		consider(s.PhaseSince.Add(s.Plan.StartupGrace))
	case PhaseShifting:
		st := s.Plan.Steps[s.Step]
		consider(s.StepReachedAt.Add(st.Pause))
		if st.Approval {
			consider(s.StepReachedAt.Add(st.Pause + s.Plan.Approval))
		}
		if s.Plan.Analysis != nil {
			consider(s.NextAnalysisAt)
		}
	}
	if s.Hook != nil && s.Plan.HookTimeout > 0 {
		consider(s.Hook.StartedAt.Add(s.Plan.HookTimeout))
	}
	return t
}

// outputTail is the end of a hook's output for the deployment's event log.
func outputTail(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	if len(out) > 500 {
		out = "…" + out[len(out)-500:]
	}
	return "; output: " + out
}
