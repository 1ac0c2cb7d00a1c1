package sampleapp

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		desc string
		env  map[string]string
		want Config
	}{
		{desc: "only the port", env: map[string]string{"PORT": "8080"},
			want: Config{Port: 8080, Version: DefaultVersion}},
		{desc: "version from cutover", env: map[string]string{"PORT": "8080", "CUTOVER_VERSION": "v2"},
			want: Config{Port: 8080, Version: "v2"}},
		{desc: "SAMPLE_VERSION overrides", env: map[string]string{"PORT": "8080", "CUTOVER_VERSION": "v2", "SAMPLE_VERSION": "v2-broken"},
			want: Config{Port: 8080, Version: "v2-broken"}},
		{desc: "everything", env: map[string]string{
			"PORT": "9001", "CUTOVER_VERSION": "v3", "SAMPLE_ERROR_RATE": "0.25", "SAMPLE_LATENCY": "50ms",
			"SAMPLE_START_DELAY": "2s", "SAMPLE_CRASH_AFTER": "1m", "SAMPLE_UNHEALTHY": "true", "SAMPLE_HANG": "1"},
			want: Config{Port: 9001, Version: "v3", ErrorRate: 0.25, Latency: 50 * time.Millisecond,
				StartDelay: 2 * time.Second, CrashAfter: time.Minute, Unhealthy: true, Hang: true}},
		{desc: "explicit false", env: map[string]string{"PORT": "1", "SAMPLE_UNHEALTHY": "false", "SAMPLE_HANG": "0"},
			want: Config{Port: 1, Version: DefaultVersion}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ConfigFromEnv(env(tt.env))
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if got.exit != nil {
				t.Errorf("ConfigFromEnv set an exit function; production must use os.Exit")
			}
			if !reflect.DeepEqual(got, tt.want) { // Config holds a func, so == does not compile
				t.Errorf("ConfigFromEnv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	tests := []struct {
		desc string
		env  map[string]string
		want []string // every one must appear in the error
	}{
		{desc: "no port", env: map[string]string{}, want: []string{"PORT: required"}},
		{desc: "port not a number", env: map[string]string{"PORT": "http"}, want: []string{`PORT: invalid port "http"`}},
		{desc: "port out of range", env: map[string]string{"PORT": "70000"}, want: []string{"PORT: 70000 is not a port"}},
		{desc: "every bad variable at once", env: map[string]string{
			"PORT": "x", "SAMPLE_ERROR_RATE": "ten percent", "SAMPLE_LATENCY": "50", "SAMPLE_START_DELAY": "soon",
			"SAMPLE_CRASH_AFTER": "later", "SAMPLE_UNHEALTHY": "yes please", "SAMPLE_HANG": "maybe"},
			want: []string{"PORT: invalid port", `SAMPLE_ERROR_RATE: invalid number "ten percent"`,
				`SAMPLE_LATENCY: invalid duration "50"`, `SAMPLE_START_DELAY: invalid duration "soon"`,
				`SAMPLE_CRASH_AFTER: invalid duration "later"`, `SAMPLE_UNHEALTHY: invalid boolean "yes please"`,
				`SAMPLE_HANG: invalid boolean "maybe"`}},
		{desc: "values out of range", env: map[string]string{
			"PORT": "0", "SAMPLE_ERROR_RATE": "1.5", "SAMPLE_LATENCY": "-1s", "SAMPLE_CRASH_AFTER": "-5s"},
			want: []string{"PORT: 0 is not a port", "SAMPLE_ERROR_RATE: 1.5 is out of range", "SAMPLE_LATENCY: -1s is negative",
				"SAMPLE_CRASH_AFTER: -5s is negative"}},
		{desc: "not a number rate", env: map[string]string{"PORT": "80", "SAMPLE_ERROR_RATE": "NaN"},
			want: []string{"SAMPLE_ERROR_RATE: NaN is out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ConfigFromEnv(env(tt.env))
			if err == nil {
				t.Fatalf("ConfigFromEnv succeeded, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("error has %d lines, want %d: %q", n, len(tt.want), err)
			}
		})
	}
}

func TestFailingIsExact(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		n    int
		want int
	}{{0, 1000, 0}, {0.1, 100, 10}, {0.25, 100, 25}, {1.0 / 3, 100, 33}, {0.5, 7, 3}, {1, 50, 50}, {0.001, 999, 0}} {
		got := 0
		for i := int64(1); i <= int64(tt.n); i++ {
			if failing(i, tt.rate) {
				got++
			}
		}
		if got != tt.want {
			t.Errorf("rate %v over %d requests: %d failures, want %d", tt.rate, tt.n, got, tt.want)
		}
	}
}
