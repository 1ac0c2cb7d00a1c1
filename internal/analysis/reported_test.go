package analysis

import (
	"strings"
	"testing"
	"time"
)

func reportedCheck(maxRate *float64, maxLatency time.Duration) Check {
	return Check{Name: "alb", Reported: &Reported{Source: "CloudWatch", MaxErrorRate: maxRate, MaxLatency: maxLatency}}
}

// TestEvaluateReported: a reported error rate or mean latency passes at its limit, fails
// beyond it, and is inconclusive with too few requests or no latency data.
func TestEvaluateReported(t *testing.T) {
	one := 1.0
	for _, tc := range []struct {
		name  string
		c     Check
		green Totals
		want  Verdict
		ev    string
	}{
		{"at the limit", reportedCheck(&one, 0), Totals{Requests: 200, Errors: 2, Window: "w"}, Pass, "green target 5xx rate 1% (2 of 200, CloudWatch w) <= 1% limit"},
		{"beyond it", reportedCheck(&one, 0), Totals{Requests: 200, Errors: 25, Window: "w"}, Fail, "green target 5xx rate 12.5% (25 of 200, CloudWatch w) > 1% limit"},
		{"too few", reportedCheck(&one, 0), Totals{Requests: 49, Errors: 49, Window: "w"}, Inconclusive, "CloudWatch reports 49 requests on green over w, fewer than the 50 needed"},
		{"more errors than requests", reportedCheck(&one, 0), Totals{Requests: 100, Errors: 400}, Fail, "(100 of 100"},
		{"latency ok", reportedCheck(nil, 300*time.Millisecond), Totals{Requests: 100, MeanLatency: 120 * time.Millisecond}, Pass, "green mean response time 120ms"},
		{"latency slow", reportedCheck(nil, 300*time.Millisecond), Totals{Requests: 100, MeanLatency: 1200 * time.Millisecond}, Fail, "1.2s (100 requests, CloudWatch ) > 300ms limit"},
		{"no latency data", reportedCheck(nil, 300*time.Millisecond), Totals{Requests: 100}, Inconclusive, "reports no response time"},
		{"no limit", reportedCheck(nil, 0), Totals{Requests: 100}, Inconclusive, "invalid check"},
	} {
		r := EvaluateReported(tc.c, tc.green, 50)
		if r.Verdict != tc.want || !strings.Contains(r.Evidence, tc.ev) {
			t.Errorf("%s: %v %q, want %v with %q", tc.name, r.Verdict, r.Evidence, tc.want, tc.ev)
		}
	}
	// The router's Evaluate does not judge reported totals: it never passes one.
	if r := Evaluate(reportedCheck(&one, 0), Input{}); r.Verdict != Inconclusive {
		t.Errorf("Evaluate on a reported check: %v", r.Verdict)
	}
}
