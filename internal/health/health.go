// Package health owns active HTTP health probes of instances: how a probe is made, how its
// outcome is classified, and how consecutive outcomes turn into a healthy/unhealthy verdict.
//
// It knows targets only as an ID and a host:port. It must not know apps, pools, deployments,
// the router's table or any runtime driver: the owner (the router) hands it targets with Set
// and learns about verdicts through the Observer port or by asking Healthy.
//
// # Decision rules
//
// The verdict is computed by Next, a pure function of (State, Result, Check):
//
//   - A target starts as State{Healthy: true}, so a router restarting from a saved table serves
//     at once instead of waiting for probes.
//   - A failed probe while the target has never had a successful probe (Probed == false) makes
//     it unhealthy at once: nothing has shown that it serves.
//   - A hard failure (connection refused or reset, any dial failure other than a timeout)
//     makes it unhealthy at once: the instance is certainly not serving.
//   - Other failures (a timeout, an unexpected status) are soft: UnhealthyThreshold
//     consecutive soft failures make it unhealthy. A success resets the count.
//   - When unhealthy, HealthyThreshold consecutive successes make it healthy again. A failure
//     resets the count.
//
// The Observer is told only about changes (healthy→unhealthy and unhealthy→healthy), with the
// deciding probe's reason, e.g. "GET /healthz: status 500, want 200-399 (2 consecutive
// failures)" or "GET /healthz: 200 after 2 consecutive successes".
//
// # Probes
//
// Each target has one goroutine. Its first probe runs as soon as Set starts it, then one runs
// every Interval. A probe is GET http://ADDR/PATH with the Timeout, User-Agent
// cutover-health/1, keep-alives disabled (so every probe shows the instance still accepts
// connections) and redirects not followed (a 3xx is judged by the status range). At most
// 64 KiB of the body is read and discarded. Consequence: an instance whose listener closes is
// reported unhealthy within one Interval plus Timeout.
package health

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults applied by Check.WithDefaults to zero (or negative) fields.
const (
	DefaultInterval           = time.Second
	DefaultTimeout            = time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 2
	DefaultStatusMin          = 200
	DefaultStatusMax          = 399
)

// Check configures probes of one target.
type Check struct {
	// Path is the request path probed, e.g. "/healthz"; it must start with "/".
	Path string
	// Interval is the time between the starts of two probes; default 1s.
	Interval time.Duration
	// Timeout bounds one probe, from dial to the end of the body; default 1s. It may exceed
	// Interval: probes never overlap, a slow probe delays the next one.
	Timeout time.Duration
	// HealthyThreshold is the number of consecutive successes that make an unhealthy target
	// healthy again; default 2.
	HealthyThreshold int
	// UnhealthyThreshold is the number of consecutive soft failures (timeouts, unexpected
	// statuses) that make a healthy target unhealthy; default 2.
	UnhealthyThreshold int
	// StatusMin and StatusMax bound the expected status, inclusive; defaults 200 and 399.
	StatusMin, StatusMax int
}

// WithDefaults returns c with every zero (or negative) field replaced by its default. Path is
// left as given: Validate reports a missing one.
func (c Check) WithDefaults() Check {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HealthyThreshold <= 0 {
		c.HealthyThreshold = DefaultHealthyThreshold
	}
	if c.UnhealthyThreshold <= 0 {
		c.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if c.StatusMin <= 0 {
		c.StatusMin = DefaultStatusMin
	}
	if c.StatusMax <= 0 {
		c.StatusMax = DefaultStatusMax
	}
	return c
}

// Validate reports every problem with c (after defaults), joined, or nil.
func (c Check) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q: must start with \"/\"", c.Path))
	}
	if c.StatusMin > c.StatusMax {
		errs = append(errs, fmt.Errorf("status range %d-%d: min must not exceed max", c.StatusMin, c.StatusMax))
	}
	return errors.Join(errs...)
}

// Target is one instance to probe.
type Target struct {
	// ID identifies the target; unique within one Set call.
	ID string
	// Addr is host:port.
	Addr string
	// Check configures the probes.
	Check Check
	// Pending targets start unhealthy and become healthy at their first passing probe (a
	// new instance joining a running router). Others start healthy, so a router restarting
	// from a saved table serves at once.
	Pending bool
}

// Observer receives health transitions. HealthChanged is called from probe goroutines, one
// call at a time, and must not block long. It may call Checker.Healthy but must not call
// Checker.Set or Checker.Close.
type Observer interface {
	HealthChanged(id string, healthy bool, reason string)
}

// Result is the outcome of one probe.
type Result struct {
	OK bool
	// Hard marks failures that prove the instance is not serving: connection refused or
	// reset, no route, any dial failure that is not a timeout.
	Hard bool
	// Reason says what happened, e.g. "GET /healthz: status 500, want 200-399" or
	// "GET /healthz: dial tcp 127.0.0.1:9: connect: connection refused".
	Reason string
}

// State is the per-target health state machine state.
type State struct {
	Healthy   bool
	Probed    bool // at least one probe ever succeeded
	Successes int  // consecutive, capped at HealthyThreshold
	Failures  int  // consecutive, capped at UnhealthyThreshold
}

// Next is the pure decision: given the state, a probe result and the check, it returns the
// next state and whether Healthy changed. Thresholds below 1 take their defaults.
func Next(s State, r Result, c Check) (State, bool) {
	c = c.WithDefaults()
	if r.OK {
		first := !s.Probed
		s.Probed = true
		s.Failures = 0
		s.Successes = bump(s.Successes, c.HealthyThreshold)
		// A target that never passed a probe needs only its first success: nothing it did
		// before counts against it, it simply was not serving yet.
		if !s.Healthy && (first || s.Successes >= c.HealthyThreshold) {
			s.Healthy = true
			return s, true
		}
		return s, false
	}
	s.Successes = 0
	s.Failures = bump(s.Failures, c.UnhealthyThreshold)
	if s.Healthy && (r.Hard || !s.Probed || s.Failures >= c.UnhealthyThreshold) {
		s.Healthy = false
		return s, true
	}
	return s, false
}

// bump increments a consecutive counter but stops at limit: beyond the threshold the exact
// count decides nothing, and a target healthy for years must not overflow.
func bump(n, limit int) int {
	if n < limit {
		return n + 1
	}
	return limit
}

// describe is the reason given to the Observer for a transition into s caused by r.
func describe(s State, r Result) string {
	switch {
	case s.Healthy && s.Successes == 1:
		return r.Reason + " after 1 success"
	case s.Healthy:
		return fmt.Sprintf("%s after %d consecutive successes", r.Reason, s.Successes)
	case s.Failures > 1:
		return fmt.Sprintf("%s (%d consecutive failures)", r.Reason, s.Failures)
	default:
		return r.Reason
	}
}
