package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WeightScale is 100% in basis points, as the router counts green's weight.
const WeightScale = 10000

func percentToWeight(p float64) int {
	w := int(p*100 + 0.5)
	return max(0, min(WeightScale, w))
}

// pct formats a weight in basis points as a percentage: "10%", "12.5%".
func pct(w int) string {
	return strconv.FormatFloat(float64(w)/100, 'f', -1, 64) + "%"
}

func describePosition(s *State) string {
	if s.Phase == PhaseShifting {
		return fmt.Sprintf("step %d (%s)", s.Step+1, pct(s.Weight))
	}
	return string(s.Phase)
}

func bakeSummary(s *State, st Step) string {
	var parts []string
	if st.Pause > 0 {
		parts = append(parts, "paused "+st.Pause.String())
	}
	if st.Approval {
		parts = append(parts, "approved")
	}
	if s.Plan.Analysis != nil {
		parts = append(parts, fmt.Sprintf("analysis passed %d time(s)", s.Tracker.Successes))
	}
	if len(parts) == 0 {
		return "no pause, gate or analysis"
	}
	return strings.Join(parts, ", ")
}

// waitingFor says in words what the deployment waits for now.
func waitingFor(s *State) string {
	if s.Hook != nil {
		return fmt.Sprintf("waiting for %s hook %q", s.Hook.Point, s.Hook.Name)
	}
	switch s.Phase {
	case PhaseBeforeStart:
		return "running before_start hooks"
	case PhaseStarting:
		return fmt.Sprintf("waiting for %d green instance(s) to become healthy", s.Plan.Instances)
	case PhaseTesting:
		return "running hooks against the test listener"
	case PhaseShifting:
		if s.Paused {
			return "paused: " + s.PauseReason
		}
		st := s.Plan.Steps[s.Step]
		if s.SplitNote != "" {
			return fmt.Sprintf("step %d (%s) waits on its split: %s", s.Step+1, pct(s.Weight), s.SplitNote)
		}
		switch {
		case !s.BakeDone && st.Approval && !s.Approved:
			return fmt.Sprintf("waiting for approval at step %d (%s)", s.Step+1, pct(s.Weight))
		case !s.BakeDone && s.Plan.Analysis != nil && s.Tracker.Successes >= s.Plan.Analysis.ConsecutiveSuccesses:
			return fmt.Sprintf("baking step %d (%s): analysis passed; the step's pause goes on", s.Step+1, pct(s.Weight))
		case !s.BakeDone && s.Plan.Analysis != nil:
			return fmt.Sprintf("baking step %d (%s): analysis %d of %d passes needed", s.Step+1, pct(s.Weight),
				s.Tracker.Successes, s.Plan.Analysis.ConsecutiveSuccesses)
		default:
			return fmt.Sprintf("baking step %d (%s)", s.Step+1, pct(s.Weight))
		}
	case PhaseFullTraffic:
		return "running after_full_traffic hooks"
	}
	return "nothing: the deployment has ended (" + string(s.Phase) + ")"
}

// Why explains what the deployment waits for now, with the time left and the last evidence.
func Why(s State, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is %s: %s", s.ID, s.Phase, waitingFor(&s))
	if !s.Phase.Terminal() {
		if wake := NextWake(s); !wake.IsZero() && wake.After(now) {
			fmt.Fprintf(&b, " (next decision in %s)", wake.Sub(now).Round(time.Second))
		}
		fmt.Fprintf(&b, "; deadline in %s", s.Deadline().Sub(now).Round(time.Second))
	}
	fmt.Fprintf(&b, "\nlast: %s", s.Reason)
	if t := s.TrafficEvidence(); t != "" {
		fmt.Fprintf(&b, "\ntraffic: %s", t)
	}
	for _, e := range s.Evidence {
		fmt.Fprintf(&b, "\nevidence: %s", e)
	}
	return b.String()
}
