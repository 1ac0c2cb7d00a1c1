package spec

import (
	"strings"
	"time"
)

// Strategy is how traffic moves from blue to green. Set exactly one of bluegreen, canary,
// linear, rolling or preset; leave the whole strategy out for the default, a canary of 10%
// for 1m, then 50% for 1m, then 100%.
//
// Every strategy becomes a list of traffic steps (for rolling, one per batch of instances
// replaced). At each step the router sends the step's weight of new requests to green, then
// cutover waits: for the step's pause, for an approval, and, when analysis is on, for enough
// passing evaluations. After the last step (always 100%) green is promoted and blue drains.
type Strategy struct {
	// Swap all traffic to green at once; blue stays warm for an instant rollback.
	//
	// Default: unset.
	// Example: {auto_promote_after: 30m}
	BlueGreen *BlueGreen `yaml:"bluegreen,omitempty"`

	// Move traffic in explicit steps of weight and pause.
	//
	// Default: unset (but used, with 10% for 1m and 50% for 1m, when no strategy is set).
	// Example: {steps: [{weight: 10, pause: 5m}, {weight: 50, approval: true}]}
	Canary *Canary `yaml:"canary,omitempty"`

	// Move traffic by equal steps at a fixed interval.
	//
	// Default: unset.
	// Example: {step: 20, interval: 2m}
	Linear *Linear `yaml:"linear,omitempty"`

	// Replace blue's instances with green's in place, a batch at a time, in one pool (a mixed
	// fleet, like an ECS service update); traffic follows the instance count.
	//
	// Default: unset.
	// Example: {batch: 2, pause: 30s}
	Rolling *Rolling `yaml:"rolling,omitempty"`

	// A CodeDeploy deployment configuration by name (case-sensitive): AllAtOnce,
	// Canary10Percent5Minutes, Canary10Percent15Minutes, Linear10PercentEvery1Minute or
	// Linear10PercentEvery3Minutes.
	//
	// Default: unset.
	// Example: Canary10Percent5Minutes
	Preset string `yaml:"preset,omitempty"`
}

// BlueGreen swaps all traffic to green in one step, then promotes green (at once, after a
// bake, or on approval). Until promotion a rollback is a switch back to blue.
type BlueGreen struct {
	// Promote green after it has served all traffic this long without a rollback.
	//
	// Default: promote at once (after analysis passes, when analysis is on).
	// Example: 30m
	AutoPromoteAfter Duration `yaml:"auto_promote_after,omitempty"`

	// Wait for `cutover approve` before promoting, up to deadlines.approval. Not together
	// with auto_promote_after.
	//
	// Default: false.
	// Example: true
	Approval bool `yaml:"approval,omitempty"`
}

// Canary moves traffic through explicit steps.
type Canary struct {
	// The steps, with weights strictly increasing. When the last weight is below 100, a
	// final step to 100% follows it.
	//
	// Default: [{weight: 10, pause: 1m}, {weight: 50, pause: 1m}].
	// Example: [{weight: 5, pause: 10m}, {weight: 25, pause: 10m}, {weight: 50, approval: true}]
	Steps []CanaryStep `yaml:"steps,omitempty"`
}

// CanaryStep sends weight percent of new requests to green, then waits. A step with neither
// pause nor approval proceeds once analysis passes, or at once without analysis.
type CanaryStep struct {
	// Green's share of new requests, in percent: more than 0, at most 100, decimals allowed.
	//
	// Required.
	// Example: 12.5
	Weight float64 `yaml:"weight"`

	// How long to hold this weight before the next step.
	//
	// Default: 0 (no pause).
	// Example: 5m
	Pause Duration `yaml:"pause,omitempty"`

	// Hold this weight until `cutover approve`, up to deadlines.approval. Not together with
	// pause.
	//
	// Default: false.
	// Example: true
	Approval bool `yaml:"approval,omitempty"`
}

// Linear moves traffic by step percent every interval: step, 2×step, ... then 100%.
type Linear struct {
	// Percent of traffic added at each step, from 1 to 100, decimals allowed.
	//
	// Default: 10.
	// Example: 25
	Step float64 `yaml:"step,omitempty" spec:"nonzero"`

	// How long each step is held before the next.
	//
	// Default: 1m.
	// Example: 3m
	Interval Duration `yaml:"interval,omitempty" spec:"nonzero"`
}

// Rolling replaces instances in place: blue and green instances serve from one pool, and each
// batch starts green instances, waits until they are healthy, then drains as many blue ones.
type Rolling struct {
	// Instances replaced per batch, from 1 to run.instances. With run.asg the update is in
	// place (the mixed-fleet pattern): the app's one Auto Scaling group moves to the new
	// release's launch template, batch instances at a time, each batch given
	// health.startup_grace to be InService and healthy in its target group; a batch that is
	// not puts the old template back and replaces what it launched.
	//
	// Default: 1.
	// Example: 2
	Batch int `yaml:"batch,omitempty" spec:"nonzero"`

	// How long to wait after each batch before the next.
	//
	// Default: 0 (no pause).
	// Example: 10s
	Pause Duration `yaml:"pause,omitempty"`
}

func (s *Strategy) defaults() {
	if *s == (Strategy{}) {
		s.Canary = &Canary{}
	}
	if s.Canary != nil && len(s.Canary.Steps) == 0 {
		s.Canary.Steps = defaultCanarySteps()
	}
	if s.Linear != nil {
		fill(&s.Linear.Step, 10)
		fill(&s.Linear.Interval, Duration(time.Minute))
	}
	if s.Rolling != nil {
		fill(&s.Rolling.Batch, 1)
	}
}

var strategyKinds = []string{"bluegreen", "canary", "linear", "rolling", "preset"}

func (s *Strategy) validate(c *checker, path string, instances int) {
	c.exactlyOne(path, strategyKinds, []bool{s.BlueGreen != nil, s.Canary != nil, s.Linear != nil, s.Rolling != nil, s.Preset != ""})
	if s.Preset != "" {
		if _, ok := preset(s.Preset); !ok {
			c.add(path+".preset", "unknown preset %q; the presets are %s", clip(s.Preset), strings.Join(Presets(), ", "))
		}
	}
	if b := s.BlueGreen; b != nil {
		if b.AutoPromoteAfter < 0 {
			c.add(path+".bluegreen.auto_promote_after", "must not be negative, got %s", b.AutoPromoteAfter)
		}
		if b.Approval && b.AutoPromoteAfter != 0 {
			c.add(path+".bluegreen", "set approval or auto_promote_after, not both")
		}
	}
	if s.Canary != nil {
		s.Canary.validate(c, path+".canary")
	}
	if l := s.Linear; l != nil {
		c.between(path+".linear.step", l.Step, 1, 100)
		c.positive(path+".linear.interval", l.Interval)
	}
	if r := s.Rolling; r != nil {
		if !(r.Batch >= 1 && r.Batch <= max(instances, 1)) {
			c.add(path+".rolling.batch", "must be between 1 and run.instances (%d), got %d", instances, r.Batch)
		}
		if r.Pause < 0 {
			c.add(path+".rolling.pause", "must not be negative, got %s", r.Pause)
		}
	}
}

func (cn *Canary) validate(c *checker, path string) {
	if len(cn.Steps) == 0 {
		c.add(path+".steps", "required: at least one step, like {weight: 10, pause: 5m}")
	}
	prev := 0.0
	for i, st := range cn.Steps {
		p := index(path+".steps", i)
		switch {
		case !(st.Weight > 0 && st.Weight <= 100):
			c.add(p+".weight", "must be more than 0 and at most 100, got %g", st.Weight)
		case i > 0 && !(st.Weight > prev):
			c.add(p+".weight", "must be more than the previous step's weight (%g), got %g", prev, st.Weight)
		}
		if st.Weight > prev && st.Weight <= 100 {
			prev = st.Weight
		}
		if st.Pause < 0 {
			c.add(p+".pause", "must not be negative, got %s", st.Pause)
		}
		if st.Approval && st.Pause != 0 {
			c.add(p, "set pause or approval, not both")
		}
	}
}
