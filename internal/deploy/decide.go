package deploy

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

// decision accumulates the next state and its events while Decide runs.
type decision struct {
	s      State
	now    time.Time
	events []Event
}

func (d *decision) record(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.s.Reason = msg
	d.events = append(d.events, Event{At: d.now, Phase: d.s.Phase, Step: d.s.Step, Weight: d.s.Weight, Message: msg})
}

// enter moves to a phase and records why.
func (d *decision) enter(p Phase, format string, args ...any) {
	d.s.Phase = p
	d.s.PhaseSince = d.now
	d.s.Hook = nil
	d.s.HooksDone, d.s.HookPoint = 0, ""
	if p.Terminal() {
		d.s.EndedAt = d.now
		d.s.Paused = false
	}
	d.record(format, args...)
}

// servedProduction reports whether green has had production traffic, which decides between
// failed (blue never lost a request to green) and rolled_back.
func (s *State) servedProduction() bool {
	return s.Phase == PhaseShifting || s.Phase == PhaseFullTraffic
}

// fail ends the deployment on a problem: failed before production traffic, rolled back after.
// Traffic returns to blue at once (the Route action with weight 0 is the first thing done).
func (d *decision) fail(format string, args ...any) {
	if d.s.servedProduction() {
		d.s.Weight = 0
		d.enter(PhaseRolledBack, format+"; rolling back to blue", args...)
		return
	}
	d.s.Weight = 0
	d.enter(PhaseFailed, format+"; blue untouched", args...)
}

// Decide is the engine: given the persisted state, what the runner observed and the time, it
// returns the next state, the actions that make the world match it, and the events to record.
// It is pure: no I/O, no clock, no randomness.
func Decide(s State, o Observation, now time.Time) (State, []Action, []Event) {
	d := &decision{s: s, now: now}
	if !s.Phase.Terminal() {
		d.step(o)
	}
	return d.s, Ensure(d.s), d.events
}

func (d *decision) step(o Observation) {
	if d.commands(o.Commands) {
		return
	}
	if o.StartError != "" && (d.s.Phase == PhaseStarting || d.s.Scaling) {
		d.fail("cannot start green instances of %s: %s", d.s.Plan.GreenVersion, o.StartError)
		return
	}
	if d.s.Phase != PhaseBeforeStart {
		for _, in := range o.Green {
			if in.Exited {
				d.fail("green instance %s exited: %s", in.ID, in.Reason)
				return
			}
		}
	}
	if !d.now.Before(d.s.Deadline()) {
		d.fail("deployment deadline of %s reached while %s", d.s.Plan.Deadline, waitingFor(&d.s))
		return
	}
	switch d.s.Phase {
	case PhaseBeforeStart:
		if d.hooks(BeforeStart, o.Hook) {
			d.enter(PhaseStarting, "before_start hooks passed; starting %d green instance(s) of %s", d.s.Plan.Instances, d.s.Plan.GreenVersion)
		}
	case PhaseStarting:
		d.starting(o.Green)
	case PhaseTesting:
		if d.hooks(GreenHealthy, o.Hook) && d.hooks(AfterTestTraffic, o.Hook) {
			d.enterStep(0)
		}
	case PhaseShifting:
		d.shifting(o)
	case PhaseFullTraffic:
		if d.verifyTraffic(o.Traffic) && d.hooks(AfterFullTraffic, o.Hook) {
			d.s.RetireBlueAt = d.now.Add(d.s.Plan.KeepWarm)
			warm := "no previous blue"
			if b := d.s.Plan.BlueVersion; b != "" {
				warm = fmt.Sprintf("blue %s kept warm for %s", b, d.s.Plan.KeepWarm)
			}
			d.enter(PhaseSucceeded, "green %s serves all traffic and passed every check; promoted (%s)", d.s.Plan.GreenVersion, warm)
		}
	}
}

// commands applies user commands; it reports true when one ended the deployment.
func (d *decision) commands(cmds []Command) bool {
	for _, c := range cmds {
		switch c.Kind {
		case CmdAbort:
			at := describePosition(&d.s)
			d.s.Weight = 0
			d.enter(PhaseAborted, "aborted by user at %s; traffic back to blue", at)
			return true
		case CmdPause:
			if !d.s.Paused {
				d.s.Paused, d.s.PauseReason = true, "paused by user"
				d.record("paused by user at %s", describePosition(&d.s))
			}
		case CmdResume:
			if d.s.Paused {
				d.s.Paused, d.s.PauseReason = false, ""
				d.record("resumed by user")
			}
		case CmdApprove:
			d.s.Approved = true
			d.record("approved by user at %s", describePosition(&d.s))
		case CmdPromote:
			if d.s.Phase == PhaseShifting {
				d.s.Paused, d.s.PauseReason = false, ""
				d.s.Weight = WeightScale
				d.s.Step = len(d.s.Plan.Steps) - 1
				d.enter(PhaseFullTraffic, "promoted by user: remaining steps skipped; green at 100%%")
			} else {
				d.record("promote ignored: only a deployment that is shifting traffic can be promoted (now %s)", d.s.Phase)
			}
		}
	}
	return false
}

func (d *decision) starting(green []InstanceObs) {
	healthy := 0
	var sick []string
	for _, in := range green {
		if in.Healthy {
			healthy++
		} else if in.Reason != "" {
			sick = append(sick, in.ID+": "+in.Reason)
		}
	}
	if healthy >= d.s.greenWanted() {
		d.enter(PhaseTesting, "%d green instance(s) of %s healthy", healthy, d.s.Plan.GreenVersion)
		return
	}
	if !d.now.Before(d.s.PhaseSince.Add(d.s.Plan.StartupGrace)) {
		detail := ""
		if len(sick) > 0 {
			detail = " (" + strings.Join(sick, "; ") + ")"
		}
		d.fail("green did not become healthy within %s: %d of %d instances healthy%s",
			d.s.Plan.StartupGrace, healthy, d.s.greenWanted(), detail)
	}
}

// enterStep sets the weight of step i and starts its bake.
func (d *decision) enterStep(i int) {
	st := d.s.Plan.Steps[i]
	d.s.Step = i
	d.s.Weight = percentToWeight(st.Weight)
	d.s.Scaling = false
	if d.s.Plan.Rolling {
		d.s.GreenTarget = d.s.rollingGreen(i)
		d.s.BlueTarget = d.s.Plan.Instances - d.s.GreenTarget
	}
	d.s.StepReachedAt = d.now
	d.s.BakeDone, d.s.Approved = false, false
	d.s.SplitOffSince, d.s.SplitNote, d.s.SplitRebalancedAt = time.Time{}, "", time.Time{}
	d.s.Tracker = analysis.Tracker{}
	if a := d.s.Plan.Analysis; a != nil {
		d.s.NextAnalysisAt = d.now.Add(a.Interval)
	}
	d.enter(PhaseShifting, "step %d of %d: green at %s", i+1, len(d.s.Plan.Steps), pct(d.s.Weight))
}

func (d *decision) shifting(o Observation) {
	if d.s.Scaling {
		d.scaling(o.Green)
		return
	}
	st := d.s.Plan.Steps[d.s.Step]
	a := d.s.Plan.Analysis
	if a != nil && o.Analysis != nil {
		d.s.NextAnalysisAt = d.now.Add(a.Interval)
		if len(o.Analysis.Alarms) > 0 { // an alarm rolls back even before the weight is verified
			d.s.Evidence = o.Analysis.Evidence
			d.fail("step %d (%s): alarm %s", d.s.Step+1, pct(d.s.Weight), strings.Join(o.Analysis.Alarms, "; alarm "))
			return
		}
	}
	if !d.verifyTraffic(o.Traffic) {
		return // analysis judges green only at a weight clients see
	}
	if a != nil && o.Analysis != nil {
		d.s.Evidence = o.Analysis.Evidence
		var out analysis.Outcome
		d.s.Tracker, out = d.s.Tracker.Observe(o.Analysis.Verdict, analysis.Limits{
			FailureLimit: a.FailureLimit, ConsecutiveSuccesses: a.ConsecutiveSuccesses})
		if out == analysis.RollBack {
			d.fail("step %d (%s): analysis failed: %s", d.s.Step+1, pct(d.s.Weight), strings.Join(o.Analysis.Evidence, "; "))
			return
		}
	}
	if d.s.Paused {
		return
	}
	if d.checkSplit(o.Split) {
		return
	}
	if !d.s.BakeDone {
		if !d.bakeDone(st) {
			return
		}
		d.s.BakeDone = true
		d.record("step %d (%s) baked: %s", d.s.Step+1, pct(d.s.Weight), bakeSummary(&d.s, st))
	}
	if !d.hooks(AfterStep, o.Hook) {
		return
	}
	next := d.s.Step + 1
	if next >= len(d.s.Plan.Steps) || d.s.Weight >= WeightScale {
		d.enter(PhaseFullTraffic, "green at 100%% after %d step(s)", d.s.Step+1)
		return
	}
	if !d.s.SplitOffSince.IsZero() {
		return // the step does not advance on a split that is off
	}
	if d.s.Plan.Rolling {
		// Start the next batch first; traffic moves once it is healthy.
		d.s.Step, d.s.Scaling, d.s.PhaseSince = next, true, d.now
		d.s.GreenTarget = d.s.rollingGreen(next)
		d.record("step %d of %d: starting green instances up to %d of %d", next+1, len(d.s.Plan.Steps), d.s.GreenTarget, d.s.Plan.Instances)
		return
	}
	d.enterStep(next)
}

// scaling waits for a rolling batch's green instances to be healthy, up to the start-up grace.
func (d *decision) scaling(green []InstanceObs) {
	healthy := 0
	for _, in := range green {
		if in.Healthy {
			healthy++
		}
	}
	if healthy >= d.s.GreenTarget {
		d.enterStep(d.s.Step)
		return
	}
	if !d.now.Before(d.s.PhaseSince.Add(d.s.Plan.StartupGrace)) {
		d.fail("step %d: only %d of %d green instances became healthy within %s", d.s.Step+1, healthy, d.s.GreenTarget, d.s.Plan.StartupGrace)
	}
}

// greenWanted is how many green instances must be healthy before any traffic moves.
func (s *State) greenWanted() int {
	if s.Plan.Rolling && len(s.Plan.Steps) > 0 {
		return s.rollingGreen(0)
	}
	return s.Plan.Instances
}

// rollingGreen is how many green instances step i runs in a rolling update.
func (s *State) rollingGreen(i int) int {
	n := int(math.Round(s.Plan.Steps[i].Weight * float64(s.Plan.Instances) / 100))
	return max(1, min(s.Plan.Instances, n))
}

// bakeDone reports whether the pause has passed, the gate is approved and analysis has passed.
func (d *decision) bakeDone(st Step) bool {
	if d.now.Before(d.s.StepReachedAt.Add(st.Pause)) {
		return false
	}
	if st.Approval && !d.s.Approved {
		if !d.now.Before(d.s.StepReachedAt.Add(st.Pause + d.s.Plan.Approval)) {
			d.fail("step %d (%s): no approval within %s", d.s.Step+1, pct(d.s.Weight), d.s.Plan.Approval)
		}
		return false
	}
	if a := d.s.Plan.Analysis; a != nil && d.s.Tracker.Successes < a.ConsecutiveSuccesses {
		return false // inconclusive extends the bake, up to the deployment deadline
	}
	return true
}
