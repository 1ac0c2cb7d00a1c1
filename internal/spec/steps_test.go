package spec

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSteps(t *testing.T) {
	const m = time.Minute
	linear10 := func(pause time.Duration) []Step {
		var s []Step
		for w := 10; w < 100; w += 10 {
			s = append(s, Step{Weight: float64(w), Pause: pause})
		}
		return append(s, Step{Weight: 100})
	}
	tests := []struct {
		desc     string
		strategy string // YAML under strategy:, "" for none
		kind     string
		want     []Step
	}{
		{desc: "default", kind: KindCanary, want: []Step{{10, m, false}, {50, m, false}, {100, 0, false}}},
		{desc: "bluegreen at once", strategy: "{bluegreen: {}}", kind: KindBlueGreen, want: []Step{{Weight: 100}}},
		{desc: "bluegreen bake", strategy: "{bluegreen: {auto_promote_after: 30m}}", kind: KindBlueGreen, want: []Step{{100, 30 * m, false}}},
		{desc: "bluegreen approval", strategy: "{bluegreen: {approval: true}}", kind: KindBlueGreen, want: []Step{{100, 0, true}}},
		{desc: "canary below 100 gets a final step", strategy: "{canary: {steps: [{weight: 0.5, pause: 1m}, {weight: 50, approval: true}, {weight: 75}]}}",
			kind: KindCanary, want: []Step{{0.5, m, false}, {50, 0, true}, {75, 0, false}, {100, 0, false}}},
		{desc: "canary ending at 100 keeps its bake", strategy: "{canary: {steps: [{weight: 20}, {weight: 100, pause: 10m}]}}",
			kind: KindCanary, want: []Step{{20, 0, false}, {100, 10 * m, false}}},
		{desc: "empty canary is the default", strategy: "{canary: {}}", kind: KindCanary, want: []Step{{10, m, false}, {50, m, false}, {100, 0, false}}},
		{desc: "linear", strategy: "{linear: {step: 30, interval: 2m}}", kind: KindLinear,
			want: []Step{{30, 2 * m, false}, {60, 2 * m, false}, {90, 2 * m, false}, {100, 0, false}}},
		{desc: "linear that divides 100", strategy: "{linear: {step: 25, interval: 1m}}", kind: KindLinear,
			want: []Step{{25, m, false}, {50, m, false}, {75, m, false}, {100, 0, false}}},
		{desc: "linear defaults", strategy: "{linear: {}}", kind: KindLinear, want: linear10(m)},
		{desc: "linear of 100", strategy: "{linear: {step: 100}}", kind: KindLinear, want: []Step{{Weight: 100}}},
		{desc: "rolling has no weight steps", strategy: "{rolling: {}}", kind: KindRolling, want: nil},
		{desc: "AllAtOnce", strategy: "{preset: AllAtOnce}", kind: KindBlueGreen, want: []Step{{Weight: 100}}},
		{desc: "Canary10Percent5Minutes", strategy: "{preset: Canary10Percent5Minutes}", kind: KindCanary, want: []Step{{10, 5 * m, false}, {Weight: 100}}},
		{desc: "Canary10Percent15Minutes", strategy: "{preset: Canary10Percent15Minutes}", kind: KindCanary, want: []Step{{10, 15 * m, false}, {Weight: 100}}},
		{desc: "Linear10PercentEvery1Minute", strategy: "{preset: Linear10PercentEvery1Minute}", kind: KindLinear, want: linear10(m)},
		{desc: "Linear10PercentEvery3Minutes", strategy: "{preset: Linear10PercentEvery3Minutes}", kind: KindLinear, want: linear10(3 * m)},
	}
	seenPresets := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			src := valid
			if tc.strategy != "" {
				src += "strategy: " + tc.strategy + "\n"
			}
			a, err := Parse(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			seenPresets[a.Strategy.Preset] = true
			if got := a.Strategy.Kind(); got != tc.kind {
				t.Errorf("Kind() = %q, want %q", got, tc.kind)
			}
			if got := a.Strategy.Steps(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Steps() = %v\nwant      %v", got, tc.want)
			}
			// The same steps come from the strategy before Default.
			var raw Strategy
			if tc.strategy != "" {
				if err := decodeInto(tc.strategy, &raw); err != nil {
					t.Fatal(err)
				}
			}
			if got := raw.Steps(); !reflect.DeepEqual(got, tc.want) && tc.kind != KindRolling {
				t.Errorf("Steps() before Default = %v, want %v", got, tc.want)
			}
		})
	}
	for _, p := range Presets() {
		if !seenPresets[p] {
			t.Errorf("preset %s has no case", p)
		}
	}
}

func TestRollingSteps(t *testing.T) {
	tests := []struct {
		desc             string
		batch, instances int
		want             []Step
	}{
		{"one instance", 1, 1, []Step{{Weight: 100}}},
		{"one by one", 1, 4, []Step{{25, time.Second, false}, {50, time.Second, false}, {75, time.Second, false}, {Weight: 100}}},
		{"uneven batches", 2, 5, []Step{{40, time.Second, false}, {80, time.Second, false}, {Weight: 100}}},
		{"thirds round to hundredths", 1, 3, []Step{{33.33, time.Second, false}, {66.67, time.Second, false}, {Weight: 100}}},
		{"batch of all", 3, 3, []Step{{Weight: 100}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := Rolling{Batch: tc.batch, Pause: Duration(time.Second)}
			if got := r.Steps(tc.instances); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Steps(%d) = %v, want %v", tc.instances, got, tc.want)
			}
			a := &App{Run: Run{Instances: tc.instances}, Strategy: Strategy{Rolling: &r}}
			if got := a.Steps(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("App.Steps() = %v, want %v", got, tc.want)
			}
		})
	}
}

// decodeInto decodes YAML into v with the package's decoder, without defaults.
func decodeInto(src string, v any) error {
	root, p := parseYAML([]byte(src))
	if p != nil {
		return &Error{Problems: []Problem{*p}}
	}
	d := newDecoder()
	d.decode("", root, reflectValue(v))
	if len(d.problems) > 0 {
		return &Error{Problems: d.problems}
	}
	return nil
}
