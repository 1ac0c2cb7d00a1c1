// Package provider declares the ports cutover composes to run a deployment beyond the
// built-in router and local drivers: a TrafficProvider moves production weights between a
// blue and a green backend, a GroupDriver runs a release as a group (an ECS task set, an
// ASG), a SignalSource gives per-version request counts and an AlarmSource names alarms
// whose firing rolls a deployment back.
//
// It owns the contracts and the pure decisions over them (Verify, Classify); it must not
// know any implementation, AWS, the router, the store or deployments. Implementations live
// in their own packages (the built-in router and local fleet in internal/engine, AWS in
// internal/provider/aws/...), every one passes the contract suites in
// internal/provider/providertest, and internal/provider/providerfake is an in-memory
// implementation that injects lag, throttling, drift and unknown outcomes for tests.
//
// # Consistency
//
// Providers are eventually consistent: a write is accepted before it is effective. The
// engine verifies after every write (Verify over Observe) and never starts a step's pause,
// judges analysis at a new weight or retires blue before the written weight is observed,
// converged and settled. Rollback writes first and verifies after.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxBP is the whole of production traffic in basis points.
const MaxBP = 10000

// Slot is one of the two places a release serves from.
type Slot string

// Slots.
const (
	Blue  Slot = "blue"
	Green Slot = "green"
)

// Valid reports whether s is Blue or Green.
func (s Slot) Valid() bool { return s == Blue || s == Green }

// Endpoint is one address the built-in router sends requests to.
type Endpoint struct {
	ID, Addr, Version string
}

// Backend is what a traffic provider routes one slot to: endpoints for the built-in
// router, a target group ARN for an ALB.
type Backend struct {
	Kind      string     // "router", "alb-target-group", ...
	Ref       string     // the provider's name for it (a target group ARN); empty for endpoints
	Version   string     // the release it serves
	Endpoints []Endpoint // for Kind "router"
}

// Written is what a SetWeight wrote, after quantisation to the provider.
type Written struct {
	GreenBP int       // the green share actually written, 0..MaxBP
	Raw     string    // in the provider's own terms, e.g. "blue=9 green=1"
	At      time.Time // when the write was accepted
}

// Observed is what a provider holds now, read from its API.
type Observed struct {
	GreenBP   int  // the green share the provider holds
	Converged bool // the provider accepted the last write and reports it everywhere it can see
	// EffectiveAt is when clients can be assumed to see the held weight: convergence plus
	// the provider's settle time. Zero while not converged.
	EffectiveAt time.Time
	// Drift is non-empty when what the provider holds is not what cutover last wrote:
	// someone else changed objects cutover owns. It is reported, never silently overwritten.
	Drift string
	// Reason says why the state is not converged, when it is not.
	Reason string
	// Settle names the wait from convergence to EffectiveAt, for `why`: "TTL 60s after
	// INSYNC". Empty is "the provider's settle time".
	Settle string
	// Evidence is a line for events and `why`, e.g. "ALB listener weights 90/10 read back at 12:01:03".
	Evidence string
}

// TrafficProvider moves one app's production traffic between its blue and green slot.
// Every method is idempotent; writes are whole states, never deltas, so the engine may
// repeat any call after a crash or an unknown outcome.
type TrafficProvider interface {
	// Prepare creates or adopts the objects the provider needs (listener, rule, target
	// groups) and tags them as owned by cutover; it fails with ErrNotOwned, changing
	// nothing, when one of them belongs to someone else.
	Prepare(ctx context.Context) error
	// Bind points slot at b. Binding green never moves traffic.
	Bind(ctx context.Context, slot Slot, b Backend) error
	// SetWeight gives green bp basis points (0..MaxBP) and blue the rest, quantised to the
	// provider, and returns what it wrote. Out-of-range bp is an error that changes nothing.
	SetWeight(ctx context.Context, bp int) (Written, error)
	// Observe reads what the provider holds now.
	Observe(ctx context.Context) (Observed, error)
	// Release removes what Prepare and Bind made; releasing twice is not an error.
	Release(ctx context.Context) error
}

// TestRouter is implemented by providers with a test route: a second entrance (an ALB's
// test listener, CodeDeploy's "test traffic route") that sends all of its requests to one
// slot, so that tests reach green before production traffic does.
type TestRouter interface {
	// SetTestRoute sends the test route's requests to slot; repeating it is harmless.
	SetTestRoute(ctx context.Context, slot Slot) error
	// TestRoute reads back the slot the test route sends to ("" when it sends to neither)
	// and the base URL it answers on (empty when the provider cannot say).
	TestRoute(ctx context.Context) (slot Slot, url string, err error)
}

// CheckWeight returns an error when bp is outside 0..MaxBP.
func CheckWeight(bp int) error {
	if bp < 0 || bp > MaxBP {
		return fmt.Errorf("weight %d basis points, not 0 to %d: %w", bp, MaxBP, ErrInvalid)
	}
	return nil
}

// Errors providers wrap so the engine can classify them; test with errors.Is.
var (
	ErrInvalid        = errors.New("invalid request")
	ErrNotOwned       = errors.New("not owned by cutover")
	ErrNotFound       = errors.New("not found")
	ErrAccessDenied   = errors.New("access denied")
	ErrThrottled      = errors.New("throttled")
	ErrUnknownOutcome = errors.New("outcome unknown (the request may have landed)")
	ErrNoData         = errors.New("no data")
)

// Class is how the engine treats an error of a provider.
type Class int

// Classes.
const (
	Permanent Class = iota // fix the spec or the account; retrying does not help
	Retryable              // throttling, a 5xx: retry with backoff
	Unknown                // the write may have landed: Observe before retrying
)

// Classify returns the class of err: ErrThrottled is Retryable, ErrUnknownOutcome is
// Unknown, everything else Permanent.
func Classify(err error) Class {
	switch {
	case errors.Is(err, ErrUnknownOutcome):
		return Unknown
	case errors.Is(err, ErrThrottled):
		return Retryable
	default:
		return Permanent
	}
}
