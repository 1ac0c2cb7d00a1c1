package health

import (
	"strings"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	check := Check{Path: "/healthz", HealthyThreshold: 3, UnhealthyThreshold: 2}
	ok := Result{OK: true, Reason: "GET /healthz: 200"}
	soft := Result{Reason: "GET /healthz: status 500, want 200-399"}
	hard := Result{Hard: true, Reason: "GET /healthz: dial tcp 127.0.0.1:9: connect: connection refused"}

	tests := []struct {
		desc    string
		state   State
		result  Result
		check   Check
		want    State
		changed bool
	}{
		{
			desc:   "new target is healthy; first success marks it probed",
			state:  State{Healthy: true},
			result: ok,
			check:  check,
			want:   State{Healthy: true, Probed: true, Successes: 1},
		},
		{
			desc:    "soft failure before any success: unhealthy at once",
			state:   State{Healthy: true},
			result:  soft,
			check:   check,
			want:    State{Failures: 1},
			changed: true,
		},
		{
			desc:    "hard failure before any success: unhealthy at once",
			state:   State{Healthy: true},
			result:  hard,
			check:   check,
			want:    State{Failures: 1},
			changed: true,
		},
		{
			desc:    "hard failure after successes: unhealthy at once",
			state:   State{Healthy: true, Probed: true, Successes: 3},
			result:  hard,
			check:   check,
			want:    State{Probed: true, Failures: 1},
			changed: true,
		},
		{
			desc:   "soft failure below UnhealthyThreshold: counted, still healthy",
			state:  State{Healthy: true, Probed: true, Successes: 3},
			result: soft,
			check:  check,
			want:   State{Healthy: true, Probed: true, Failures: 1},
		},
		{
			desc:    "soft failure reaching UnhealthyThreshold: unhealthy",
			state:   State{Healthy: true, Probed: true, Failures: 1},
			result:  soft,
			check:   check,
			want:    State{Probed: true, Failures: 2},
			changed: true,
		},
		{
			desc:   "success resets the failure count",
			state:  State{Healthy: true, Probed: true, Failures: 1},
			result: ok,
			check:  check,
			want:   State{Healthy: true, Probed: true, Successes: 1},
		},
		{
			desc:   "unhealthy: success below HealthyThreshold is counted",
			state:  State{Probed: true, Successes: 1},
			result: ok,
			check:  check,
			want:   State{Probed: true, Successes: 2},
		},
		{
			desc:    "unhealthy: success reaching HealthyThreshold makes it healthy",
			state:   State{Probed: true, Successes: 2},
			result:  ok,
			check:   check,
			want:    State{Healthy: true, Probed: true, Successes: 3},
			changed: true,
		},
		{
			desc:    "unhealthy and never probed: the first success recovers at once",
			state:   State{Failures: 4},
			result:  ok,
			check:   check,
			want:    State{Healthy: true, Probed: true, Successes: 1},
			changed: true,
		},
		{
			desc:   "unhealthy: failure resets the success count, no change",
			state:  State{Probed: true, Successes: 2},
			result: soft,
			check:  check,
			want:   State{Probed: true, Failures: 1},
		},
		{
			desc:   "unhealthy: hard failure is no change",
			state:  State{Probed: true, Failures: 1},
			result: hard,
			check:  check,
			want:   State{Probed: true, Failures: 2},
		},
		{
			desc:   "zero thresholds take the defaults: one soft failure is not enough",
			state:  State{Healthy: true, Probed: true},
			result: soft,
			check:  Check{},
			want:   State{Healthy: true, Probed: true, Failures: 1},
		},
		{
			desc:    "UnhealthyThreshold 1: one soft failure is enough",
			state:   State{Healthy: true, Probed: true, Successes: 9},
			result:  soft,
			check:   Check{UnhealthyThreshold: 1},
			want:    State{Probed: true, Failures: 1},
			changed: true,
		},
		{
			desc:    "HealthyThreshold 1: one success is enough",
			state:   State{Probed: true, Failures: 9},
			result:  ok,
			check:   Check{HealthyThreshold: 1},
			want:    State{Healthy: true, Probed: true, Successes: 1},
			changed: true,
		},
		{
			desc:   "success count is capped at HealthyThreshold",
			state:  State{Healthy: true, Probed: true, Successes: 3},
			result: ok,
			check:  check,
			want:   State{Healthy: true, Probed: true, Successes: 3},
		},
		{
			desc:   "failure count is capped at UnhealthyThreshold",
			state:  State{Probed: true, Failures: 2},
			result: soft,
			check:  check,
			want:   State{Probed: true, Failures: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, changed := Next(tt.state, tt.result, tt.check)
			if got != tt.want || changed != tt.changed {
				t.Errorf("Next(%+v, %+v) = %+v, %v; want %+v, %v",
					tt.state, tt.result, got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		desc  string
		state State
		r     Result
		want  string
	}{
		{
			desc:  "recovery names the consecutive successes",
			state: State{Healthy: true, Probed: true, Successes: 2},
			r:     Result{OK: true, Reason: "GET /healthz: 200"},
			want:  "GET /healthz: 200 after 2 consecutive successes",
		},
		{
			desc:  "recovery after one success",
			state: State{Healthy: true, Probed: true, Successes: 1},
			r:     Result{OK: true, Reason: "GET /healthz: 200"},
			want:  "GET /healthz: 200 after 1 success",
		},
		{
			desc:  "failure after several soft failures names the count",
			state: State{Probed: true, Failures: 3},
			r:     Result{Reason: "GET /healthz: status 500, want 200-399"},
			want:  "GET /healthz: status 500, want 200-399 (3 consecutive failures)",
		},
		{
			desc:  "immediate failure is the probe's reason alone",
			state: State{Failures: 1},
			r:     Result{Hard: true, Reason: "GET /healthz: connection refused"},
			want:  "GET /healthz: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := describe(tt.state, tt.r); got != tt.want {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckWithDefaults(t *testing.T) {
	tests := []struct {
		desc string
		in   Check
		want Check
	}{
		{
			desc: "zero check takes every default",
			in:   Check{Path: "/healthz"},
			want: Check{Path: "/healthz", Interval: time.Second, Timeout: time.Second,
				HealthyThreshold: 2, UnhealthyThreshold: 2, StatusMin: 200, StatusMax: 399},
		},
		{
			desc: "set fields are kept",
			in: Check{Path: "/up", Interval: 5 * time.Second, Timeout: 10 * time.Second,
				HealthyThreshold: 1, UnhealthyThreshold: 4, StatusMin: 204, StatusMax: 204},
			want: Check{Path: "/up", Interval: 5 * time.Second, Timeout: 10 * time.Second,
				HealthyThreshold: 1, UnhealthyThreshold: 4, StatusMin: 204, StatusMax: 204},
		},
		{
			desc: "negative values take the defaults",
			in:   Check{Path: "/", Interval: -1, Timeout: -1, HealthyThreshold: -1, UnhealthyThreshold: -1},
			want: Check{Path: "/", Interval: time.Second, Timeout: time.Second,
				HealthyThreshold: 2, UnhealthyThreshold: 2, StatusMin: 200, StatusMax: 399},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Errorf("WithDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckValidate(t *testing.T) {
	tests := []struct {
		desc string
		in   Check
		want []string // substrings of the error; none means valid
	}{
		{desc: "defaults with a path are valid", in: Check{Path: "/healthz"}},
		{desc: "empty path", in: Check{}, want: []string{`path "": must start with "/"`}},
		{
			desc: "every problem is reported",
			in:   Check{Path: "healthz", StatusMin: 300, StatusMax: 200},
			want: []string{`path "healthz"`, "status range 300-200"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.in.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
