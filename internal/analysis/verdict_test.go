package analysis

import "testing"

func TestAggregate(t *testing.T) {
	r := func(vs ...Verdict) []Result {
		var out []Result
		for _, v := range vs {
			out = append(out, Result{Verdict: v})
		}
		return out
	}
	tests := []struct {
		desc    string
		results []Result
		want    Verdict
	}{
		{desc: "no results is inconclusive", results: nil, want: Inconclusive},
		{desc: "all pass", results: r(Pass, Pass), want: Pass},
		{desc: "one fail among passes", results: r(Pass, Fail, Pass), want: Fail},
		{desc: "fail beats inconclusive", results: r(Inconclusive, Fail), want: Fail},
		{desc: "inconclusive beats pass", results: r(Pass, Inconclusive), want: Inconclusive},
		{desc: "an unknown verdict never passes", results: r(Pass, Verdict(7)), want: Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Aggregate(tt.results); got != tt.want {
				t.Errorf("Aggregate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTracker(t *testing.T) {
	const (
		P = Pass
		F = Fail
		I = Inconclusive
	)
	tests := []struct {
		desc     string
		limits   Limits
		verdicts []Verdict
		want     []Outcome // after each verdict
		end      Tracker
	}{
		{desc: "failure limit 1: the first failure rolls back",
			limits: Limits{FailureLimit: 1, ConsecutiveSuccesses: 3}, verdicts: []Verdict{P, F},
			want: []Outcome{Continue, RollBack}, end: Tracker{Failures: 1}},
		{desc: "failure limit 0 counts as 1",
			limits: Limits{}, verdicts: []Verdict{F}, want: []Outcome{RollBack}, end: Tracker{Failures: 1}},
		{desc: "failure limit 3: failures accumulate across passes",
			limits:   Limits{FailureLimit: 3, ConsecutiveSuccesses: 3},
			verdicts: []Verdict{F, P, F, P, P, F},
			want:     []Outcome{Continue, Continue, Continue, Continue, Continue, RollBack},
			end:      Tracker{Failures: 3}},
		{desc: "consecutive successes pass the step",
			limits: Limits{FailureLimit: 3, ConsecutiveSuccesses: 3}, verdicts: []Verdict{P, P, P},
			want: []Outcome{Continue, Continue, StepPassed}, end: Tracker{Successes: 3}},
		{desc: "a failure resets the consecutive successes",
			limits:   Limits{FailureLimit: 3, ConsecutiveSuccesses: 3},
			verdicts: []Verdict{P, P, F, P, P, P},
			want:     []Outcome{Continue, Continue, Continue, Continue, Continue, StepPassed},
			end:      Tracker{Failures: 1, Successes: 3}},
		{desc: "inconclusive never passes a step",
			limits: Limits{FailureLimit: 1, ConsecutiveSuccesses: 1}, verdicts: []Verdict{I, I, I, I},
			want: []Outcome{Continue, Continue, Continue, Continue}, end: Tracker{Inconclusives: 4}},
		{desc: "inconclusive neither breaks nor extends a streak",
			limits:   Limits{FailureLimit: 2, ConsecutiveSuccesses: 3},
			verdicts: []Verdict{P, I, P, I, I, P},
			want:     []Outcome{Continue, Continue, Continue, Continue, Continue, StepPassed},
			end:      Tracker{Successes: 3, Inconclusives: 3}},
		{desc: "inconclusive does not count towards the failure limit",
			limits: Limits{FailureLimit: 2, ConsecutiveSuccesses: 3}, verdicts: []Verdict{F, I, I, I},
			want: []Outcome{Continue, Continue, Continue, Continue}, end: Tracker{Failures: 1, Inconclusives: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var tr Tracker
			for i, v := range tt.verdicts {
				before := tr
				var got Outcome
				tr, got = tr.Observe(v, tt.limits)
				if got != tt.want[i] {
					t.Errorf("verdict %d (%v): outcome %v, want %v", i, v, got, tt.want[i])
				}
				if again, _ := before.Observe(v, tt.limits); again != tr {
					t.Errorf("verdict %d: Observe is not a function of its inputs", i)
				}
			}
			if tr != tt.end {
				t.Errorf("tracker = %+v, want %+v", tr, tt.end)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[Verdict]string{Inconclusive: "inconclusive", Pass: "pass", Fail: "fail", 9: "Verdict(9)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
	for o, want := range map[Outcome]string{Continue: "continue", StepPassed: "step passed", RollBack: "roll back", 9: "Outcome(9)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
	var zero Verdict
	if zero != Inconclusive {
		t.Errorf("the zero Verdict is %v, want inconclusive", zero)
	}
}
