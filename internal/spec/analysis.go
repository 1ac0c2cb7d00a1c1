package spec

import (
	"time"
)

// Analysis judges green by measurements while it takes traffic. Every interval, each check is
// evaluated over the last window of traffic and gives pass, fail or inconclusive (too little
// data: fewer than min_requests requests on green). An evaluation passes when every check
// passes and fails when any check fails; otherwise it is inconclusive, which neither passes
// nor fails, so a step never completes on no data.
//
// A traffic step completes once consecutive_successes evaluations in a row have passed (and
// its pause or approval, if any, is over). The deployment rolls back when failure_limit
// evaluations have failed in it, counted over the whole deployment.
type Analysis struct {
	// The time between two evaluations.
	//
	// Default: 10s.
	// Example: 30s
	Interval Duration `yaml:"interval,omitempty" spec:"nonzero"`

	// How much recent traffic each evaluation looks at; at least interval.
	//
	// Default: 30s, or interval if that is longer.
	// Example: 2m
	Window Duration `yaml:"window,omitempty" spec:"nonzero"`

	// Requests green must have served in the window for a check to pass or fail; below it the
	// check is inconclusive. At least 1.
	//
	// Default: 50.
	// Example: 200
	MinRequests int `yaml:"min_requests,omitempty" spec:"nonzero"`

	// The number of failed evaluations that rolls the deployment back: 1 rolls back at the
	// first failure, 3 tolerates two. At least 1.
	//
	// Default: 1.
	// Example: 2
	FailureLimit int `yaml:"failure_limit,omitempty" spec:"nonzero"`

	// Passing evaluations in a row that a step needs before it completes. At least 1.
	//
	// Default: 1.
	// Example: 3
	ConsecutiveSuccesses int `yaml:"consecutive_successes,omitempty" spec:"nonzero"`

	// What is measured. Names must be unique.
	//
	// Behind traffic.alb the router does not see the traffic: cloudwatch and external
	// checks work there, beside alarms; cloudwatch checks work only there.
	//
	// Default: [{name: errors, error_rate: {max: 1}}] (none behind traffic.alb).
	// Example: [{name: errors, error_rate: {max: 0.5}}, {name: p99, latency: {max: 300ms}}]
	Checks []Check `yaml:"checks,omitempty"`

	// CloudWatch alarms whose firing rolls the deployment back at once, with the alarm's
	// name and reason (CodeDeploy's alarm rollback).
	//
	// Default: none.
	// Example: {names: [web-5xx], region: eu-west-1}
	Alarms *Alarms `yaml:"alarms,omitempty"`
}

var checkKinds = []string{"error_rate", "latency", "request_rate", "external", "cloudwatch"}

// defaults fills the fields; router says whether the built-in router is in the app's path
// (its checks are the default only then).
func (an *Analysis) defaults(router bool) {
	fill(&an.Interval, Duration(10*time.Second))
	fill(&an.Window, max(Duration(30*time.Second), an.Interval))
	fill(&an.MinRequests, 50)
	fill(&an.FailureLimit, 1)
	fill(&an.ConsecutiveSuccesses, 1)
	if len(an.Checks) == 0 && router {
		one := 1.0
		an.Checks = []Check{{Name: "errors", ErrorRate: &ErrorRateCheck{Max: &one}}}
	}
	for i := range an.Checks {
		ch := &an.Checks[i]
		if e := ch.ErrorRate; e != nil && e.Max == nil && e.VsBlueMargin == nil {
			one := 1.0
			e.Max = &one
		}
		if l := ch.Latency; l != nil {
			fill(&l.Quantile, 0.99)
			switch l.VsBlue {
			case VsBlueRatio:
				fill(&l.Ratio, 1.5)
			case VsBlueMannWhitney:
				fill(&l.Alpha, 0.05)
			}
		}
		if w := ch.CloudWatch; w != nil {
			fill(&w.Lag, DefaultCloudWatchLag)
		}
		if x := ch.External; x != nil {
			if an.Interval > 0 {
				fill(&x.Timeout, min(Duration(5*time.Second), an.Interval))
			}
			fill(&x.Timeout, Duration(5*time.Second))
		}
	}
}

func (an *Analysis) validate(c *checker, path string) {
	if an.Alarms != nil {
		an.Alarms.validate(c, path+".alarms")
	}
	c.positive(path+".interval", an.Interval)
	if an.Window < an.Interval {
		c.add(path+".window", "%s is shorter than analysis.interval (%s)", an.Window, an.Interval)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"min_requests", an.MinRequests}, {"failure_limit", an.FailureLimit}, {"consecutive_successes", an.ConsecutiveSuccesses}} {
		if f.v < 1 {
			c.add(path+"."+f.name, "must be at least 1, got %d", f.v)
		}
	}
	names := map[string]int{}
	for i := range an.Checks {
		p := index(path+".checks", i)
		ch := &an.Checks[i]
		if first, dup := names[ch.Name]; dup && ch.Name != "" {
			c.add(p+".name", "%q is already the name of checks[%d]; check names must be unique", clip(ch.Name), first)
		} else {
			names[ch.Name] = i
		}
		ch.validate(c, p, an.Interval)
	}
}
