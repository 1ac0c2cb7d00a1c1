package analysis

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// traffic returns a snapshot of total requests over a 60s window, errors of them 5xx and the
// rest 2xx, all with latency d.
func traffic(total, errors uint64, d time.Duration) signals.Snapshot {
	var s signals.Snapshot
	s.Requests[2] = total - errors
	s.Requests[5] = errors
	s.Latency[bucketOf(d)] = total
	s.Span = time.Minute
	return s
}

// bucketOf returns the latency bucket that holds d.
func bucketOf(d time.Duration) int {
	i := 0
	for d > signals.BucketUpperBound(i) {
		i++
	}
	return i
}

func ptr[T any](v T) *T { return &v }

// wantResult checks a result's verdict and that its evidence contains every fragment.
func wantResult(t *testing.T, got Result, verdict Verdict, fragments ...string) {
	t.Helper()
	if got.Verdict != verdict {
		t.Errorf("verdict = %v, want %v (evidence %q)", got.Verdict, verdict, got.Evidence)
	}
	for _, f := range fragments {
		if !strings.Contains(got.Evidence, f) {
			t.Errorf("evidence %q does not contain %q", got.Evidence, f)
		}
	}
}

func TestErrorRate(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		desc        string
		check       ErrorRate
		green, blue signals.Snapshot
		min         uint64
		want        Verdict
		value       float64
		evidence    []string
	}{
		{desc: "above the limit fails with the numbers",
			check: ErrorRate{Max: 1}, green: traffic(200, 25, ms), min: 50,
			want: Fail, value: 12.5, evidence: []string{"green error rate 12.5% (25 of 200) > 1% limit"}},
		{desc: "exactly at the limit passes",
			check: ErrorRate{Max: 1}, green: traffic(100, 1, ms), min: 50,
			want: Pass, value: 1, evidence: []string{"green error rate 1% (1 of 100) <= 1% limit"}},
		{desc: "at a limit that is not exact in binary passes",
			check: ErrorRate{Max: 0.3}, green: traffic(1000, 3, ms), min: 50,
			want: Pass, value: 0.3, evidence: []string{"0.3% (3 of 1000) <= 0.3% limit"}},
		{desc: "one error over the limit fails",
			check: ErrorRate{Max: 1}, green: traffic(100, 2, ms), min: 50,
			want: Fail, value: 2},
		{desc: "too few green requests is inconclusive",
			check: ErrorRate{Max: 1}, green: traffic(12, 12, ms), min: 50,
			want: Inconclusive, evidence: []string{"inconclusive: green served 12 requests, fewer than the 50 needed"}},
		{desc: "no requests with MinRequests 0 is inconclusive",
			check: ErrorRate{Max: 1}, green: signals.Snapshot{}, min: 0,
			want: Inconclusive, evidence: []string{"fewer than the 1 needed"}},
		{desc: "within blue plus margin passes",
			check: ErrorRate{VsBlueMargin: ptr(0.5)}, green: traffic(500, 2, ms), blue: traffic(500, 1, ms), min: 50,
			want: Pass, value: 0.4, evidence: []string{"green error rate 0.4% (2 of 500) <= blue 0.2% + 0.5 points"}},
		{desc: "exactly blue plus margin passes",
			check: ErrorRate{VsBlueMargin: ptr(0.2)}, green: traffic(500, 2, ms), blue: traffic(500, 1, ms), min: 50,
			want: Pass, value: 0.4},
		{desc: "above blue plus margin fails",
			check: ErrorRate{VsBlueMargin: ptr(0.5)}, green: traffic(500, 5, ms), blue: traffic(500, 1, ms), min: 50,
			want: Fail, value: 1, evidence: []string{"green error rate 1% (5 of 500) > blue 0.2% + 0.5 points"}},
		{desc: "both limits: absolute fails although blue is as bad",
			check: ErrorRate{Max: 1, VsBlueMargin: ptr(0.0)}, green: traffic(100, 5, ms), blue: traffic(100, 5, ms), min: 50,
			want: Fail, value: 5, evidence: []string{"> 1% limit"}},
		{desc: "both limits pass: both are named",
			check: ErrorRate{Max: 1, VsBlueMargin: ptr(0.0)}, green: traffic(100, 0, ms), blue: traffic(100, 0, ms), min: 50,
			want: Pass, evidence: []string{"<= 1% limit and <= blue 0% + 0 points"}},
		{desc: "low blue traffic falls back to the absolute limit and says so",
			check: ErrorRate{Max: 1, VsBlueMargin: ptr(0.5)}, green: traffic(500, 2, ms), blue: traffic(10, 0, ms), min: 50,
			want: Pass, value: 0.4, evidence: []string{"<= 1% limit", "not compared with blue: blue served 10 requests, fewer than the 50 needed"}},
		{desc: "low blue traffic still fails on the absolute limit",
			check: ErrorRate{Max: 1, VsBlueMargin: ptr(0.5)}, green: traffic(500, 50, ms), blue: traffic(10, 0, ms), min: 50,
			want: Fail, value: 10, evidence: []string{"> 1% limit", "not compared with blue"}},
		{desc: "low blue traffic without an absolute limit is inconclusive",
			check: ErrorRate{VsBlueMargin: ptr(0.5)}, green: traffic(500, 50, ms), blue: traffic(10, 0, ms), min: 50,
			want: Inconclusive, value: 10, evidence: []string{"blue served 10 requests", "no absolute limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := Check{Name: "errors", ErrorRate: &tt.check}
			got := Evaluate(c, Input{Green: tt.green, Blue: tt.blue, MinRequests: tt.min})
			wantResult(t, got, tt.want, tt.evidence...)
			if got.Check != "errors" {
				t.Errorf("Check = %q, want %q", got.Check, "errors")
			}
			if got.Value != tt.value {
				t.Errorf("Value = %v, want %v", got.Value, tt.value)
			}
		})
	}
}

func TestRequestRate(t *testing.T) {
	over := func(total uint64, span time.Duration) signals.Snapshot {
		s := traffic(total, 0, time.Millisecond)
		s.Span = span
		return s
	}
	tests := []struct {
		desc     string
		min      float64
		green    signals.Snapshot
		minReq   uint64
		want     Verdict
		evidence []string
	}{
		{desc: "above the minimum passes", min: 1, green: over(120, time.Minute), minReq: 50,
			want: Pass, evidence: []string{"green served 120 requests in 60s (2 req/s) >= 1 req/s minimum"}},
		{desc: "exactly at the minimum passes", min: 2, green: over(120, time.Minute), minReq: 50, want: Pass},
		{desc: "below the minimum over a long enough window fails", min: 5, green: over(120, time.Minute), minReq: 50,
			want: Fail, evidence: []string{"(2 req/s) < 5 req/s minimum"}},
		{desc: "no traffic at all over a long window fails", min: 1, green: over(0, time.Minute), minReq: 50,
			want: Fail, evidence: []string{"green served 0 requests in 60s"}},
		{desc: "below the minimum over a too short window is inconclusive", min: 5, green: over(0, time.Second), minReq: 50,
			want: Inconclusive, evidence: []string{"a 1s window is too short to tell: at 5 req/s the 50 requests needed take 10s"}},
		{desc: "fast but too few requests is inconclusive", min: 1, green: over(20, 2*time.Second), minReq: 50,
			want: Inconclusive, evidence: []string{"green served 20 requests, fewer than the 50 needed"}},
		{desc: "no window is inconclusive", min: 1, green: over(500, 0), minReq: 50,
			want: Inconclusive, evidence: []string{"no time window"}},
		{desc: "Min 0 is a sample gate: enough requests pass", min: 0, green: over(50, time.Minute), minReq: 50,
			want: Pass, evidence: []string{"at least the 50 needed"}},
		{desc: "Min 0 is a sample gate: too few is inconclusive, never fail", min: 0, green: over(0, time.Hour), minReq: 50,
			want: Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := Check{Name: "traffic", RequestRate: &RequestRate{Min: tt.min}}
			got := Evaluate(c, Input{Green: tt.green, MinRequests: tt.minReq})
			wantResult(t, got, tt.want, tt.evidence...)
			if tt.green.Span > 0 && got.Value != tt.green.Rate() {
				t.Errorf("Value = %v, want the rate %v", got.Value, tt.green.Rate())
			}
		})
	}
}

func TestEvaluateRejectsWhatItCannotJudge(t *testing.T) {
	in := Input{Green: traffic(1000, 0, time.Millisecond), Blue: traffic(1000, 0, time.Millisecond), MinRequests: 1}
	tests := []struct {
		desc     string
		check    Check
		evidence []string
	}{
		{desc: "external needs the Fetcher",
			check:    Check{Name: "prom", External: &External{URL: "http://127.0.0.1:9090/api", Op: "<", Value: 1}},
			evidence: []string{"Fetcher"}},
		{desc: "no kind", check: Check{Name: "empty"}, evidence: []string{"invalid check", "exactly one", "got 0"}},
		{desc: "two kinds", check: Check{ErrorRate: &ErrorRate{Max: 1}, RequestRate: &RequestRate{Min: 1}},
			evidence: []string{"got 2"}},
		{desc: "error rate without limits", check: Check{ErrorRate: &ErrorRate{}}, evidence: []string{"error_rate: set max"}},
		{desc: "negative margin", check: Check{ErrorRate: &ErrorRate{VsBlueMargin: ptr(-1.0)}}, evidence: []string{"vs_blue_margin"}},
		{desc: "every latency problem at once",
			check:    Check{Latency: &Latency{Quantile: 1.5, VsBlue: "median", Alpha: 2}},
			evidence: []string{"latency.quantile", "latency.vs_blue", "latency.alpha"}},
		{desc: "latency without limits", check: Check{Latency: &Latency{}}, evidence: []string{"latency: set max, vs_blue or both"}},
		{desc: "bad rate", check: Check{RequestRate: &RequestRate{Min: -1}}, evidence: []string{"request_rate.min"}},
		{desc: "NaN limits", check: Check{ErrorRate: &ErrorRate{Max: math.NaN(), VsBlueMargin: ptr(math.NaN())}},
			evidence: []string{"error_rate.max", "error_rate.vs_blue_margin"}},
		{desc: "infinite ratio", check: Check{Latency: &Latency{VsBlue: VsBlueRatio, Ratio: math.Inf(1)}},
			evidence: []string{"latency.ratio"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Evaluate(tt.check, in)
			wantResult(t, got, Inconclusive, tt.evidence...)
			if strings.Contains(got.Evidence, "\n") {
				t.Errorf("evidence %q spans lines", got.Evidence)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[float64]string{12.5: "12.5", 0.4: "0.4", 840: "840", 0.0123: "0.0123", 1: "1", 0: "0", 99.9: "99.9"} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{840 * time.Millisecond: "840ms", 850 * time.Microsecond: "850µs",
		12300 * time.Microsecond: "12.3ms", 1250 * time.Millisecond: "1.25s", time.Minute: "60s"} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}
