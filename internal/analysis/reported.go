package analysis

import (
	"fmt"
	"time"
)

// Reported checks green by what a metrics system outside the router reports for it (a
// load balancer's target group in CloudWatch): its error rate, or its mean latency. Exactly
// one of MaxErrorRate and MaxLatency is set.
//
// The caller reads the Totals (the engine, from a provider.SignalSource); this judges them.
// Below MinRequests (at least one) requests the check is inconclusive, like the router's
// checks: no data is never a pass.
type Reported struct {
	// Source names the metrics system in evidence, e.g. "CloudWatch".
	Source string
	// MaxErrorRate, when set, is the highest acceptable error rate in percent.
	MaxErrorRate *float64
	// MaxLatency, when set, is the highest acceptable mean latency.
	MaxLatency time.Duration
	// Lag is how late the source's data arrives: the caller's window ends this long ago.
	Lag time.Duration
}

// Totals is one version's traffic over a window as another metrics system reports it.
type Totals struct {
	Requests, Errors uint64
	MeanLatency      time.Duration // zero when the source reported no latency
	Window           string        // the window read, for evidence ("12:01-12:02 UTC")
}

// EvaluateReported judges green's Totals against a Reported check. It is pure.
func EvaluateReported(c Check, green Totals, minRequests uint64) Result {
	if err := c.Validate(); err != nil {
		return inconclusive(c, "invalid check: %s", err)
	}
	r := c.Reported
	if r == nil {
		return inconclusive(c, "check %q is not a reported-metrics check", c.Name)
	}
	need := max(minRequests, 1)
	if green.Requests < need {
		return inconclusive(c, "%s reports %d requests on green over %s, fewer than the %d needed", r.Source, green.Requests, green.Window, need)
	}
	errs := min(green.Errors, green.Requests)
	if r.MaxErrorRate != nil {
		rate := float64(errs) / float64(green.Requests) * 100
		subject := fmt.Sprintf("green target 5xx rate %s%% (%d of %d, %s %s)", fmtNum(rate), errs, green.Requests, r.Source, green.Window)
		clause := fmt.Sprintf("%s%% limit", fmtNum(*r.MaxErrorRate))
		if exceeds(rate, *r.MaxErrorRate) {
			return verdict(c, rate, subject, []string{"> " + clause}, nil, "")
		}
		return verdict(c, rate, subject, nil, []string{"<= " + clause}, "")
	}
	if green.MeanLatency <= 0 {
		return inconclusive(c, "%s reports no response time for green over %s", r.Source, green.Window)
	}
	subject := fmt.Sprintf("green mean response time %s (%d requests, %s %s)", fmtDur(green.MeanLatency), green.Requests, r.Source, green.Window)
	clause := fmtDur(r.MaxLatency) + " limit"
	if green.MeanLatency > r.MaxLatency {
		return verdict(c, green.MeanLatency.Seconds(), subject, []string{"> " + clause}, nil, "")
	}
	return verdict(c, green.MeanLatency.Seconds(), subject, nil, []string{"<= " + clause}, "")
}

func (r *Reported) validate() []error {
	var errs []error
	switch {
	case r.MaxErrorRate == nil && r.MaxLatency <= 0:
		errs = append(errs, fmt.Errorf("reported: set max_error_rate or max_latency"))
	case r.MaxErrorRate != nil && r.MaxLatency != 0:
		errs = append(errs, fmt.Errorf("reported: set one of max_error_rate and max_latency"))
	case r.MaxErrorRate != nil && !(*r.MaxErrorRate >= 0 && *r.MaxErrorRate <= 100):
		errs = append(errs, fmt.Errorf("reported.max_error_rate: must be between 0 and 100 (percent), got %v", *r.MaxErrorRate))
	}
	if r.Lag < 0 {
		errs = append(errs, fmt.Errorf("reported.lag: must not be negative, got %s", r.Lag))
	}
	return errs
}
