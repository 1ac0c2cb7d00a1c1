// Package analysis turns metric checks into verdicts: pass, fail or inconclusive, each with
// the number it measured and a sentence of evidence that `cutover why` shows to the user.
//
// It owns the meaning of the numbers, not their collection: the router records traffic per
// version in package signals, the deployment engine windows it (green and blue over the same
// period) and hands the two snapshots to Evaluate. The package must not know specs,
// deployments, the router or the store; the engine maps the spec's analysis onto Check.
//
// Everything here is a pure function of its arguments except Fetcher, the one effect: an
// HTTP GET for External checks, whose response is then judged by pure code as well.
//
// # Rules every check follows
//
//   - Never pass on no data. Below Input.MinRequests requests on green (at least one, even
//     when MinRequests is 0) a router-signal check never passes: ErrorRate and Latency are
//     inconclusive, and RequestRate is too unless its window shows green short of an explicit
//     minimum rate. A comparison with blue also needs MinRequests on blue; with fewer, the
//     check falls back to its absolute limit and says so in the evidence, or is inconclusive
//     when it has none.
//   - A value at its limit passes: a check fails only when the value is beyond the limit by
//     more than a relative 1e-9, so that float rounding never turns "1 of 100 ≤ 1%" into a
//     failure.
//   - Errors (a misconfigured check, an unreachable metrics server, a missing JSON field) are
//     inconclusive, never pass: the engine keeps waiting until its step deadline.
//   - Result.Value is always finite, so a Result encodes as JSON.
//
// The individual rules are documented on ErrorRate, Latency, RequestRate and External; the
// bookkeeping across repeated evaluations (failure limit, consecutive successes) is Tracker.
package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cutover/cutover/internal/signals"
)

// Check is one named metric check. Exactly one of ErrorRate, Latency, RequestRate,
// External and Reported must be set; Validate reports a check that breaks this or any other rule.
type Check struct {
	// Name identifies the check in results and evidence, e.g. "error-rate".
	Name string

	// ErrorRate judges green's share of 5xx responses.
	ErrorRate *ErrorRate
	// Latency judges green's latency quantile, absolutely or against blue's.
	Latency *Latency
	// RequestRate judges whether green receives enough traffic.
	RequestRate *RequestRate
	// External judges a number fetched from another metrics system; only Fetcher can.
	External *External
	// Reported judges green's totals as another metrics system reports them (a load
	// balancer's CloudWatch metrics); only EvaluateReported can.
	Reported *Reported
}

// Input is what the router-signal checks judge: green's and blue's traffic over the same
// window (from signals.Recorder.Window, summed over each version's instances with Add).
type Input struct {
	Green, Blue signals.Snapshot
	// MinRequests is the number of requests a version must have served in the window before
	// its numbers are trusted. 0 is treated as 1: there is never a verdict on no data.
	MinRequests uint64
}

// Result is the outcome of one check.
type Result struct {
	// Check is the check's Name.
	Check string
	// Verdict is pass, fail or inconclusive.
	Verdict Verdict
	// Value is the number measured on green, in the check's unit: error rate in percent,
	// latency quantile in seconds, request rate in requests per second, or the external
	// query's value. It is 0 when nothing could be measured and is never NaN or infinite.
	Value float64
	// Evidence is one sentence for a user, e.g. "green error rate 12.5% (25 of 200) > 1% limit".
	Evidence string
}

// Evaluate judges a router-signal check (ErrorRate, Latency or RequestRate) against in. It is
// pure. An External check needs the network and yields an inconclusive result telling the
// caller to use Fetcher; an invalid check yields an inconclusive result naming the problem.
func Evaluate(c Check, in Input) Result {
	if err := c.Validate(); err != nil {
		return inconclusive(c, "invalid check: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	switch {
	case c.ErrorRate != nil:
		return evalErrorRate(c, *c.ErrorRate, in)
	case c.Latency != nil:
		return evalLatency(c, *c.Latency, in)
	case c.RequestRate != nil:
		return evalRequestRate(c, *c.RequestRate, in)
	case c.Reported != nil:
		return inconclusive(c, "check %q judges another metrics system's totals: evaluate it with EvaluateReported", c.Name)
	default:
		return inconclusive(c, "external check %q queries a metrics server: evaluate it with Fetcher", c.Name)
	}
}

// Validate reports every problem with the check at once, each prefixed with the field it
// concerns, or nil when the check can be evaluated.
func (c Check) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	kinds := 0
	if e := c.ErrorRate; e != nil {
		kinds++
		if e.Max <= 0 && e.VsBlueMargin == nil {
			add("error_rate", "set max, vs_blue_margin or both")
		}
		if !(e.Max >= 0 && e.Max <= 100) {
			add("error_rate.max", "must be between 0 and 100 (percent), got %v", e.Max)
		}
		if m := e.VsBlueMargin; m != nil && !(*m >= 0 && *m <= 100) {
			add("error_rate.vs_blue_margin", "must be between 0 and 100 percent points, got %v", *m)
		}
	}
	if l := c.Latency; l != nil {
		kinds++
		if !(l.Quantile >= 0 && l.Quantile <= 1) {
			add("latency.quantile", "must be between 0 and 1 (0 means 0.99), got %v", l.Quantile)
		}
		if l.Max < 0 {
			add("latency.max", "must not be negative, got %v", l.Max)
		}
		switch l.VsBlue {
		case "":
			if l.Max == 0 {
				add("latency", "set max, vs_blue or both")
			}
		case VsBlueRatio, VsBlueMannWhitney:
		default:
			add("latency.vs_blue", "must be %q, %q or empty, got %q", VsBlueRatio, VsBlueMannWhitney, l.VsBlue)
		}
		if !(l.Ratio >= 0) || math.IsInf(l.Ratio, 0) {
			add("latency.ratio", "must be positive (0 means %v), got %v", defaultRatio, l.Ratio)
		}
		if !(l.Alpha >= 0 && l.Alpha < 1) {
			add("latency.alpha", "must be between 0 and 1 (0 means %v), got %v", defaultAlpha, l.Alpha)
		}
	}
	if r := c.RequestRate; r != nil {
		kinds++
		if !(r.Min >= 0) || math.IsInf(r.Min, 0) {
			add("request_rate.min", "must not be negative, got %v", r.Min)
		}
	}
	if x := c.External; x != nil {
		kinds++
		errs = append(errs, x.validate()...)
	}
	if r := c.Reported; r != nil {
		kinds++
		errs = append(errs, r.validate()...)
	}
	if kinds != 1 {
		add("check", "exactly one of error_rate, latency, request_rate, external and reported must be set, got %d", kinds)
	}
	return errors.Join(errs...)
}

// inconclusive returns an Inconclusive result whose evidence starts with "inconclusive: ".
func inconclusive(c Check, format string, args ...any) Result {
	return Result{Check: c.Name, Verdict: Inconclusive, Evidence: "inconclusive: " + fmt.Sprintf(format, args...)}
}

// minRequests is the sample a version needs before its numbers count: never below one.
func (in Input) minRequests() uint64 { return max(in.MinRequests, 1) }

// tooFew returns the evidence clause for a version that served fewer requests than needed.
func tooFew(version string, served, needed uint64) string {
	return fmt.Sprintf("%s served %d requests, fewer than the %d needed", version, served, needed)
}

// greenTooFew is the evidence clause for green short of its sample. Green with no request at
// all while blue served a full sample in the same window is a different problem from too
// little load: the traffic flows, the split sends green none of it (the engine's split check
// says why), and waiting longer will not help.
func (in Input) greenTooFew(needed uint64) string {
	if g, b := in.Green.Total(), in.Blue.Total(); g == 0 && b >= needed {
		return fmt.Sprintf("green served no requests while blue served %d in the same window: the split sends green no traffic, so there is nothing to judge", b)
	}
	return tooFew("green", in.Green.Total(), needed)
}
