package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUnknownFields(t *testing.T) {
	src := `app: web
routes:
  - listen: 127.0.0.1:8080
    prefix: /api
run:
  process:
    command: [./web]
    cmd: [./web]
  replicas: 3
strategy:
  canery:
    steps: [{weight: 10}]
hooks:
  - name: smoke
    at: after_step
    http: {path: /, expect: 200}
analysis:
  checks:
    - name: e
      error_rate: {max: 1, min: 0}
colour: blue
`
	problems := problemsOf(t, src)
	checkProblems(t, problems, []string{
		"routes[0].prefix~unknown field \"prefix\"@4",
		"run.process.cmd@8",
		"run.replicas~the fields here are process, docker, ecs, asg, external, kubernetes, instances, stop_grace, endpoints@9",
		"strategy.canery~bluegreen, canary, linear, rolling, preset@11",
		"hooks[0].http.expect@16",
		"analysis.checks[0].error_rate.min@20",
		"colour@21",
	})
	// Problems come in the order of the file.
	for i := 1; i < len(problems); i++ {
		if problems[i].Line < problems[i-1].Line {
			t.Errorf("problems out of line order: %v before %v", problems[i-1], problems[i])
		}
	}
}

// TestLinesOfValidationProblems: problems found after decoding point at the line of their
// field, or of the nearest enclosing field the file has.
func TestLinesOfValidationProblems(t *testing.T) {
	src := `app: web
routes:
  - listen: 127.0.0.1:8080
run:
  process:
    env:
      bad-name: x
strategy:
  canary:
    steps:
      - weight: 30
      - weight: 20
`
	checkProblems(t, problemsOf(t, src), []string{
		"run.process.command~required@5",
		"run.process.env.bad-name@7",
		"strategy.canary.steps[1].weight@12",
	})
}

func TestMergeKeys(t *testing.T) {
	src := `app: web
routes: [{listen: 127.0.0.1:8080}]
run:
  process:
    command: [./web]
    env:
      <<: [&a {A: a1, B: b1}, {A: a2, C: c2}]
      B: own
health:
  <<: {path: /merged, interval: 5s}
  path: /own
`
	a, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	env := a.Run.Process.Env
	if env["A"] != "a1" || env["B"] != "own" || env["C"] != "c2" || len(env) != 3 {
		t.Errorf("env = %v, want A from the first merged mapping, B written, C merged", env)
	}
	if a.Health.Path != "/own" || a.Health.Interval.Duration() != 5*time.Second {
		t.Errorf("health = %+v, want the written path and the merged interval", a.Health)
	}
}

func TestEmptyKeySelectsOption(t *testing.T) {
	a, err := Parse(strings.NewReader(valid + "strategy:\n  bluegreen:\nanalysis:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Strategy.Kind() != KindBlueGreen || a.Analysis == nil || len(a.Analysis.Checks) != 1 {
		t.Errorf("strategy %q, analysis %+v: want bluegreen and analysis on", a.Strategy.Kind(), a.Analysis)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadError(t *testing.T) {
	_, err := Parse(failingReader{})
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Parse(failing reader) = %v, want the read error, not an *Error", err)
	}
}

func TestTooLarge(t *testing.T) {
	src := valid + "# " + strings.Repeat("x", MaxSize) + "\n"
	checkProblems(t, problemsOf(t, src), []string{"~larger than"})
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Hour + 10*time.Second: "1h0m10s",
		10 * time.Minute: "10m", 500 * time.Millisecond: "500ms", -time.Minute: "-1m", 61 * time.Second: "1m1s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(Duration(d).String()); err != nil || back != d {
			t.Errorf("%q parses back to %v, %v", Duration(d), back, err)
		}
	}
}

func TestCondition(t *testing.T) {
	tests := []struct {
		in    string
		want  Condition
		holds []float64
		fails []float64
	}{
		{"< 0.05", Condition{"<", 0.05}, []float64{0, 0.04}, []float64{0.05, 1}},
		{"<=1", Condition{"<=", 1}, []float64{1}, []float64{1.5}},
		{" > -3 ", Condition{">", -3}, []float64{0}, []float64{-3}},
		{">= 1e3", Condition{">=", 1000}, []float64{1000}, []float64{999}},
		{"== 1", Condition{"==", 1}, []float64{1}, []float64{0}},
		{"!= 0", Condition{"!=", 0}, []float64{1}, []float64{0}},
	}
	for _, tc := range tests {
		c, err := ParseCondition(tc.in)
		if err != nil || c != tc.want {
			t.Errorf("ParseCondition(%q) = %v, %v; want %v", tc.in, c, err, tc.want)
			continue
		}
		for _, v := range tc.holds {
			if !c.Holds(v) {
				t.Errorf("%q should hold for %v", tc.in, v)
			}
		}
		for _, v := range append(tc.fails, nanValue()) {
			if c.Holds(v) {
				t.Errorf("%q should not hold for %v", tc.in, v)
			}
		}
		if back, err := ParseCondition(c.String()); err != nil || back != c {
			t.Errorf("%q does not round-trip: %v, %v", c, back, err)
		}
	}
	for _, bad := range []string{"", "0.05", "< ", "< NaN", "< inf", "=< 1", "~ 3", "<< 1"} {
		if c, err := ParseCondition(bad); err == nil {
			t.Errorf("ParseCondition(%q) = %v, want an error", bad, c)
		}
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func reflectValue(v any) reflect.Value { return reflect.ValueOf(v).Elem() }
