package analysis

import "fmt"

// Verdict is the outcome of one check, or of a set of checks by Aggregate. The zero value is
// Inconclusive, so a verdict nobody set never passes.
type Verdict int

const (
	// Inconclusive means there is not enough data, or the data could not be read: neither
	// pass nor fail. It never lets a step pass.
	Inconclusive Verdict = iota
	// Pass means green meets the check.
	Pass
	// Fail means green does not meet the check.
	Fail
)

// String returns "inconclusive", "pass" or "fail".
func (v Verdict) String() string {
	switch v {
	case Inconclusive:
		return "inconclusive"
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Aggregate combines the verdicts of all checks evaluated together: any Fail makes Fail;
// otherwise any Inconclusive (or unknown verdict) makes Inconclusive; otherwise Pass, so
// every check must pass. No results at all is Inconclusive: an analysis that measured
// nothing has shown nothing. (A step without any analysis is the engine's business and
// never reaches Aggregate.)
func Aggregate(results []Result) Verdict {
	if len(results) == 0 {
		return Inconclusive
	}
	v := Pass
	for _, r := range results {
		switch r.Verdict {
		case Fail:
			return Fail
		case Pass:
		default:
			v = Inconclusive
		}
	}
	return v
}

// Tracker is the bookkeeping of one step's analysis across its repeated evaluations, as a
// plain value: the engine stores it with the deployment and replaces it with what Observe
// returns, so a restart resumes the count where it was.
//
// The rules, after Argo Rollouts' failureLimit and consecutiveSuccessLimit:
//
//   - Failures counts every Fail in the step, consecutive or not; a Pass does not reset it.
//     The step rolls back when Failures reaches Limits.FailureLimit.
//   - Successes counts consecutive Passes; a Fail resets it to 0. The step passes when
//     Successes reaches Limits.ConsecutiveSuccesses.
//   - Inconclusives counts every Inconclusive. An inconclusive verdict is neither a success
//     nor a failure: it leaves Successes and Failures as they are (a streak of passes
//     interrupted by "not enough data" resumes afterwards) and never passes a step on its
//     own. A step that stays inconclusive waits until the engine's step deadline, which
//     decides what happens then; the tracker has no limit of its own for it.
//
// A new step starts from the zero Tracker.
type Tracker struct {
	// Failures is the number of failed evaluations in the step.
	Failures int
	// Successes is the number of passed evaluations since the last failure, consecutively.
	Successes int
	// Inconclusives is the number of inconclusive evaluations in the step.
	Inconclusives int
}

// Limits are a step's thresholds for Tracker.Observe.
type Limits struct {
	// FailureLimit is the number of failed evaluations that rolls the deployment back:
	// rollback when Failures >= FailureLimit. Values below 1 count as 1, so the first
	// failure rolls back.
	FailureLimit int
	// ConsecutiveSuccesses is the number of passes in a row that passes the step. Values
	// below 1 count as 1.
	ConsecutiveSuccesses int
}

// Outcome is what the engine should do after an evaluation.
type Outcome int

const (
	// Continue means keep evaluating at the next interval.
	Continue Outcome = iota
	// StepPassed means the analysis of this step has passed: move on.
	StepPassed
	// RollBack means the analysis has failed: roll back to blue.
	RollBack
)

// String returns "continue", "step passed" or "roll back".
func (o Outcome) String() string {
	switch o {
	case Continue:
		return "continue"
	case StepPassed:
		return "step passed"
	case RollBack:
		return "roll back"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Observe returns the tracker after one more evaluation with verdict v, and what to do about
// it under l. It is pure: t is not modified. A verdict other than Pass or Fail counts as
// Inconclusive.
func (t Tracker) Observe(v Verdict, l Limits) (Tracker, Outcome) {
	failureLimit := max(l.FailureLimit, 1)
	successes := max(l.ConsecutiveSuccesses, 1)
	switch v {
	case Fail:
		t.Failures++
		t.Successes = 0
		if t.Failures >= failureLimit {
			return t, RollBack
		}
	case Pass:
		t.Successes++
		if t.Successes >= successes {
			return t, StepPassed
		}
	default:
		t.Inconclusives++
	}
	return t, Continue
}
