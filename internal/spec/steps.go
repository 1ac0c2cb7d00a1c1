package spec

import (
	"math"
	"time"
)

// Step is one traffic step the engine executes: route Weight percent of new requests to
// green, then wait Pause, or for an approval.
type Step struct {
	// Weight is green's share of new requests in percent, 0 < Weight <= 100.
	Weight float64
	// Pause is how long the weight is held before the next step (0: no pause).
	Pause time.Duration
	// Approval holds the weight until an approval (Pause is then 0).
	Approval bool
}

// The strategy kinds Strategy.Kind reports.
const (
	KindBlueGreen = "bluegreen"
	KindCanary    = "canary"
	KindLinear    = "linear"
	KindRolling   = "rolling"
)

// The CodeDeploy presets strategy.preset accepts.
const (
	PresetAllAtOnce                    = "AllAtOnce"
	PresetCanary10Percent5Minutes      = "Canary10Percent5Minutes"
	PresetCanary10Percent15Minutes     = "Canary10Percent15Minutes"
	PresetLinear10PercentEvery1Minute  = "Linear10PercentEvery1Minute"
	PresetLinear10PercentEvery3Minutes = "Linear10PercentEvery3Minutes"
)

// Presets lists the preset names in the order docs show them.
func Presets() []string {
	return []string{PresetAllAtOnce, PresetCanary10Percent5Minutes, PresetCanary10Percent15Minutes,
		PresetLinear10PercentEvery1Minute, PresetLinear10PercentEvery3Minutes}
}

// preset returns the strategy a preset name stands for, or false.
func preset(name string) (Strategy, bool) {
	canary := func(d time.Duration) Strategy {
		return Strategy{Canary: &Canary{Steps: []CanaryStep{{Weight: 10, Pause: Duration(d)}}}}
	}
	linear := func(d time.Duration) Strategy { return Strategy{Linear: &Linear{Step: 10, Interval: Duration(d)}} }
	switch name {
	case PresetAllAtOnce:
		return Strategy{BlueGreen: &BlueGreen{}}, true
	case PresetCanary10Percent5Minutes:
		return canary(5 * time.Minute), true
	case PresetCanary10Percent15Minutes:
		return canary(15 * time.Minute), true
	case PresetLinear10PercentEvery1Minute:
		return linear(time.Minute), true
	case PresetLinear10PercentEvery3Minutes:
		return linear(3 * time.Minute), true
	}
	return Strategy{}, false
}

// defaultCanarySteps are the steps of the strategy used when none is set.
func defaultCanarySteps() []CanaryStep {
	return []CanaryStep{{Weight: 10, Pause: Duration(time.Minute)}, {Weight: 50, Pause: Duration(time.Minute)}}
}

// resolved returns the strategy with its defaults filled (in a copy), a preset replaced by
// what it stands for and an empty strategy by the default canary.
func (s Strategy) resolved() Strategy {
	if s.Preset != "" {
		p, _ := preset(s.Preset)
		return p
	}
	if s.Canary != nil {
		c := *s.Canary
		s.Canary = &c
	}
	if s.Linear != nil {
		l := *s.Linear
		s.Linear = &l
	}
	if s.Rolling != nil {
		r := *s.Rolling
		s.Rolling = &r
	}
	s.defaults()
	return s
}

// Kind names the strategy: "bluegreen", "canary", "linear" or "rolling". A preset reports the
// kind it stands for (AllAtOnce is bluegreen), an unset strategy its default, canary. An
// unknown preset reports ""; for a strategy with several kinds set (which Validate rejects)
// the answer is one of them.
func (s Strategy) Kind() string {
	r := s.resolved()
	switch {
	case r.BlueGreen != nil:
		return KindBlueGreen
	case r.Canary != nil:
		return KindCanary
	case r.Linear != nil:
		return KindLinear
	case r.Rolling != nil:
		return KindRolling
	}
	return ""
}

// Steps flattens the strategy into the traffic steps the engine walks; the last step is
// always 100%:
//
//   - bluegreen: [{100, auto_promote_after, approval}]
//   - canary: its steps, then {100} if the last weight is below 100
//   - linear: {step, interval}, {2×step, interval}, ... while below 100, then {100}
//   - presets: what they stand for, e.g. Canary10Percent5Minutes is [{10, 5m}, {100}]
//   - rolling: nil, since its steps depend on the instance count: see Rolling.Steps
//
// Steps of an unset strategy are those of the default canary.
func (s Strategy) Steps() []Step {
	r := s.resolved()
	switch r.Kind() {
	case KindBlueGreen:
		return []Step{{Weight: 100, Pause: r.BlueGreen.AutoPromoteAfter.Duration(), Approval: r.BlueGreen.Approval}}
	case KindCanary:
		steps := r.Canary.Steps
		out := make([]Step, 0, len(steps)+1)
		for _, cs := range steps {
			out = append(out, Step{Weight: cs.Weight, Pause: cs.Pause.Duration(), Approval: cs.Approval})
		}
		if out[len(out)-1].Weight < 100 {
			out = append(out, Step{Weight: 100})
		}
		return out
	case KindLinear:
		step, interval := r.Linear.Step, r.Linear.Interval.Duration()
		if !(step >= 1) {
			step = 10 // unvalidated: keep the loop bounded
		}
		var out []Step
		for k := 1.0; k*step < 100; k++ {
			out = append(out, Step{Weight: k * step, Pause: interval})
		}
		return append(out, Step{Weight: 100})
	}
	return nil
}

// Steps returns a rolling update of instances as traffic steps: after batch k, green runs
// min(k×batch, instances) of the instances and so takes that share of traffic; each batch
// but the last is followed by pause. Instances beyond the valid 100 count as 100.
func (r Rolling) Steps(instances int) []Step {
	batch, instances := max(r.Batch, 1), min(instances, maxInstances)
	var out []Step
	for done := batch; ; done += batch {
		if done >= instances {
			return append(out, Step{Weight: 100})
		}
		out = append(out, Step{Weight: math.Round(1e4*float64(done)/float64(instances)) / 100, Pause: r.Pause.Duration()})
	}
}

// Steps returns the traffic steps of the app's strategy, rolling included (for rolling they
// depend on run.instances).
func (a *App) Steps() []Step {
	if a.Strategy.Kind() == KindRolling {
		return a.Strategy.Rolling.Steps(a.Run.Instances)
	}
	return a.Strategy.Steps()
}
