// Package providerfake is an in-memory implementation of every port of package provider,
// for the contract suites and for tests of the engine's decisions. Unlike moto it models
// what real providers do: a write converges after a lag and settles after that, calls are
// throttled, someone else changes the weights (drift), and a write can land while its call
// reports a timeout (unknown outcome). Time comes from an injected clock.
//
// It is meant for tests only; nothing in the cutover binary imports it.
package providerfake

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Traffic is a provider.TrafficProvider in memory.
type Traffic struct {
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Lag is how long after a write Observe keeps reporting not converged.
	Lag time.Duration
	// Settle is added to convergence for EffectiveAt.
	Settle time.Duration
	// Steps quantises weights: green gets round(bp*Steps/MaxBP) of Steps. Zero is 100.
	Steps int

	mu        sync.Mutex
	prepared  bool
	foreign   bool
	throttle  int
	unknown   bool
	held      int // what the provider holds
	wrote     int // what cutover last wrote
	wroteAt   time.Time
	tampered  bool
	testRoute provider.Slot
	backends  map[provider.Slot]provider.Backend
	writes    int
}

var (
	_ provider.TrafficProvider = (*Traffic)(nil)
	_ provider.TestRouter      = (*Traffic)(nil)
)

func (f *Traffic) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Traffic) steps() int {
	if f.Steps <= 0 {
		return 100
	}
	return f.Steps
}

// Throttle makes the next n calls fail with provider.ErrThrottled, changing nothing.
func (f *Traffic) Throttle(n int) { f.mu.Lock(); f.throttle = n; f.mu.Unlock() }

// UnknownNext makes the next SetWeight land but report provider.ErrUnknownOutcome.
func (f *Traffic) UnknownNext() { f.mu.Lock(); f.unknown = true; f.mu.Unlock() }

// Tamper sets the held weight behind cutover's back, as another tool would.
func (f *Traffic) Tamper(bp int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held, f.tampered = bp, true
}

// Foreign makes the objects Prepare would adopt belong to someone else.
func (f *Traffic) Foreign() { f.mu.Lock(); f.foreign = true; f.mu.Unlock() }

// Writes counts the SetWeight calls that landed.
func (f *Traffic) Writes() int { f.mu.Lock(); defer f.mu.Unlock(); return f.writes }

// TestRoute reports whether the test route is on.

// Backend returns what slot is bound to.
func (f *Traffic) Backend(slot provider.Slot) provider.Backend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.backends[slot]
}

// throttled consumes one throttled call; f.mu is held.
func (f *Traffic) throttled(op string) error {
	if f.throttle > 0 {
		f.throttle--
		return fmt.Errorf("fake %s: %w (rate exceeded, retry with backoff)", op, provider.ErrThrottled)
	}
	return nil
}

func (f *Traffic) Prepare(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.throttled("prepare"); err != nil {
		return err
	}
	if f.foreign {
		return fmt.Errorf("fake listener: %w: its owner tag names another owner; remove it or pick another listener", provider.ErrNotOwned)
	}
	if !f.prepared {
		f.prepared, f.backends = true, map[provider.Slot]provider.Backend{}
	}
	return nil
}

func (f *Traffic) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.throttled("bind"); err != nil {
		return err
	}
	if !slot.Valid() {
		return fmt.Errorf("fake bind slot %q: %w", slot, provider.ErrInvalid)
	}
	if !f.prepared {
		return fmt.Errorf("fake bind %s: %w: call Prepare first", slot, provider.ErrNotFound)
	}
	f.backends[slot] = b
	return nil
}

func (f *Traffic) SetWeight(_ context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.throttled("set weight"); err != nil {
		return provider.Written{}, err
	}
	if !f.prepared {
		return provider.Written{}, fmt.Errorf("fake set weight: %w: call Prepare first", provider.ErrNotFound)
	}
	s := f.steps()
	g := int(math.Round(float64(bp) * float64(s) / provider.MaxBP))
	q := int(math.Round(float64(g) * provider.MaxBP / float64(s)))
	at := f.now()
	if q != f.wrote || f.tampered || f.wroteAt.IsZero() {
		f.wroteAt = at // an identical rewrite does not restart convergence
	}
	f.held, f.wrote, f.tampered = q, q, false
	f.writes++
	w := provider.Written{GreenBP: q, Raw: fmt.Sprintf("blue=%d green=%d", s-g, g), At: at}
	if f.unknown {
		f.unknown = false
		return provider.Written{}, fmt.Errorf("fake set weight: %w: request timed out", provider.ErrUnknownOutcome)
	}
	return w, nil
}

func (f *Traffic) Observe(context.Context) (provider.Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.throttled("observe"); err != nil {
		return provider.Observed{}, err
	}
	if !f.prepared {
		return provider.Observed{}, fmt.Errorf("fake observe: %w: call Prepare first", provider.ErrNotFound)
	}
	now := f.now()
	o := provider.Observed{GreenBP: f.held}
	if f.tampered {
		o.Drift = fmt.Sprintf("green held at %d bp, cutover wrote %d bp", f.held, f.wrote)
	}
	conv := f.wroteAt.Add(f.Lag)
	if now.Before(conv) {
		o.Reason = fmt.Sprintf("write of %s still propagating", f.wroteAt.UTC().Format("15:04:05.000"))
	} else {
		o.Converged, o.EffectiveAt = true, conv.Add(f.Settle)
	}
	o.Evidence = fmt.Sprintf("fake weights %d/%d read back at %s", provider.MaxBP-f.held, f.held, now.UTC().Format("15:04:05"))
	return o, nil
}

func (f *Traffic) SetTestRoute(_ context.Context, slot provider.Slot) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slot.Valid() {
		return fmt.Errorf("fake test route to %q: %w", slot, provider.ErrInvalid)
	}
	if err := f.throttled("test route"); err != nil {
		return err
	}
	f.testRoute = slot
	return nil
}

func (f *Traffic) TestRoute(context.Context) (provider.Slot, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.testRoute, "http://fake-test-route.invalid", nil
}

func (f *Traffic) Release(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.throttled("release"); err != nil {
		return err
	}
	f.prepared, f.backends, f.testRoute = false, nil, ""
	f.held, f.wrote, f.wroteAt, f.tampered = 0, 0, time.Time{}, false
	return nil
}
