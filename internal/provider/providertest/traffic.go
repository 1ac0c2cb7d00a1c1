// Package providertest holds the contract suites of the ports in package provider. Every
// implementation's tests call the suite of the ports it implements with a harness; the
// suites check behaviour only through the port, so the same guarantees hold for the
// built-in router, AWS and the in-memory fake. Imported by tests only.
//
// The suites never sleep to synchronise: they poll for an outcome with a bounded deadline,
// advancing a fake clock through the harness's Tick when there is one.
package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Deadlines of the suites; passing implementations finish far sooner.
const (
	deadline  = 10 * time.Second
	pollEvery = 10 * time.Millisecond
)

// TrafficHarness adapts a TrafficProvider to the suite.
type TrafficHarness struct {
	// New returns a fresh provider, not yet prepared, over fresh state.
	New func(t *testing.T) provider.TrafficProvider
	// Backend returns a backend the provider can bind to slot.
	Backend func(t *testing.T, slot provider.Slot) provider.Backend
	// Quantum is how far a written weight may be from the requested one, in basis points.
	Quantum int
	// Now is the provider's clock; nil is time.Now.
	Now func() time.Time
	// Tick advances a fake clock while the suite polls; nil for real time.
	Tick func(d time.Duration)
	// Tamper changes the provider's weight to bp behind its back, as another tool would.
	// Nil when nobody but cutover can write it (the built-in router).
	Tamper func(t *testing.T, p provider.TrafficProvider, bp int)
	// Foreign returns a provider whose objects already belong to someone else. Nil when
	// the provider owns everything it routes by construction.
	Foreign func(t *testing.T) provider.TrafficProvider
}

// RunTraffic runs the TrafficProvider contract suite.
func RunTraffic(t *testing.T, h TrafficHarness) {
	t.Helper()
	t.Run("PrepareIsIdempotent", func(t *testing.T) { testPrepare(t, h) })
	t.Run("WeightsReadBackAfterEachWrite", func(t *testing.T) { testReadBack(t, h) })
	t.Run("RewriteIsIdempotent", func(t *testing.T) { testRewrite(t, h) })
	t.Run("OutOfRangeChangesNothing", func(t *testing.T) { testRange(t, h) })
	t.Run("ReleaseIsIdempotent", func(t *testing.T) { testRelease(t, h) })
	t.Run("TestRoute", func(t *testing.T) { testTestRoute(t, h) })
	if h.Tamper != nil {
		t.Run("DriftIsReportedNotOverwritten", func(t *testing.T) { testDrift(t, h) })
	}
	if h.Foreign != nil {
		t.Run("RefusesWhatItDoesNotOwn", func(t *testing.T) { testForeign(t, h) })
	}
}

func (h TrafficHarness) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// prepared returns a new provider, prepared, with both slots bound.
func prepared(t *testing.T, h TrafficHarness) provider.TrafficProvider {
	t.Helper()
	p := h.New(t)
	ctx := context.Background()
	if err := p.Prepare(ctx); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(ctx, s, h.Backend(t, s)); err != nil {
			t.Fatalf("Bind %s: %v", s, err)
		}
	}
	return p
}

// verified polls Observe until Verify accepts w, and returns the last observation.
func verified(t *testing.T, h TrafficHarness, p provider.TrafficProvider, w provider.Written) provider.Observed {
	t.Helper()
	end := time.Now().Add(deadline)
	var reason string
	for time.Now().Before(end) {
		o, err := p.Observe(context.Background())
		if err != nil {
			reason = err.Error()
		} else if ok, why := provider.Verify(o, w, h.now()); ok {
			if o.Evidence == "" {
				t.Error("Observe gave no evidence line")
			}
			return o
		} else {
			reason = why
		}
		if h.Tick != nil {
			h.Tick(100 * time.Millisecond)
		}
		time.Sleep(pollEvery)
	}
	t.Fatalf("the write of %d bp (%s) never verified: %s", w.GreenBP, w.Raw, reason)
	return provider.Observed{}
}

func write(t *testing.T, h TrafficHarness, p provider.TrafficProvider, bp int) provider.Written {
	t.Helper()
	w, err := p.SetWeight(context.Background(), bp)
	if err != nil {
		t.Fatalf("SetWeight(%d): %v", bp, err)
	}
	if d := w.GreenBP - bp; d > h.Quantum || -d > h.Quantum {
		t.Fatalf("SetWeight(%d) wrote %d bp, more than the quantum %d away", bp, w.GreenBP, h.Quantum)
	}
	return w
}

func testPrepare(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	if err := p.Prepare(context.Background()); err != nil {
		t.Fatalf("second Prepare: %v", err)
	}
	o, err := p.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.GreenBP != 0 {
		t.Fatalf("a prepared provider routes %d bp to green before any write", o.GreenBP)
	}
}

func testReadBack(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	for _, bp := range []int{1000, 5000, 10000, 0} {
		o := verified(t, h, p, write(t, h, p, bp))
		if o.Drift != "" {
			t.Fatalf("drift after our own write of %d: %s", bp, o.Drift)
		}
	}
}

func testRewrite(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	a := write(t, h, p, 2500)
	verified(t, h, p, a)
	b := write(t, h, p, 2500)
	if a.GreenBP != b.GreenBP || a.Raw != b.Raw {
		t.Fatalf("the same weight wrote %v then %v", a, b)
	}
	verified(t, h, p, b)
}

func testRange(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	w := write(t, h, p, 3000)
	verified(t, h, p, w)
	for _, bp := range []int{-1, provider.MaxBP + 1} {
		if _, err := p.SetWeight(context.Background(), bp); !errors.Is(err, provider.ErrInvalid) {
			t.Fatalf("SetWeight(%d) = %v, want ErrInvalid", bp, err)
		}
	}
	if o := verified(t, h, p, w); o.GreenBP != w.GreenBP {
		t.Fatalf("a refused write changed the weight to %d", o.GreenBP)
	}
}

func testRelease(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	verified(t, h, p, write(t, h, p, 5000))
	ctx := context.Background()
	for i := range 2 {
		if err := p.Release(ctx); err != nil {
			t.Fatalf("Release #%d: %v", i+1, err)
		}
	}
	if err := p.Prepare(ctx); err != nil {
		t.Fatalf("Prepare after Release: %v", err)
	}
	o, err := p.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.GreenBP != 0 {
		t.Fatalf("after Release and Prepare green has %d bp, want 0", o.GreenBP)
	}
}

func testTestRoute(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	tr, ok := p.(provider.TestRouter)
	if !ok {
		return // the provider has no test route; nothing to hold it to
	}
	ctx := context.Background()
	for _, slot := range []provider.Slot{provider.Green, provider.Green, provider.Blue, provider.Green, provider.Blue} {
		if err := tr.SetTestRoute(ctx, slot); err != nil {
			t.Fatalf("SetTestRoute(%s): %v", slot, err)
		}
		got, _, err := tr.TestRoute(ctx)
		if err != nil {
			t.Fatalf("TestRoute after SetTestRoute(%s): %v", slot, err)
		}
		if got != slot {
			t.Fatalf("the test route sends to %q after SetTestRoute(%s)", got, slot)
		}
	}
	if err := tr.SetTestRoute(ctx, "purple"); err == nil {
		t.Fatal("SetTestRoute(purple) was accepted")
	}
	if got, _, _ := tr.TestRoute(ctx); got != provider.Blue {
		t.Fatalf("a refused SetTestRoute changed the test route to %q", got)
	}
}

func testDrift(t *testing.T, h TrafficHarness) {
	p := prepared(t, h)
	w := write(t, h, p, 1000)
	verified(t, h, p, w)
	h.Tamper(t, p, 5000)
	o, err := p.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.Drift == "" {
		t.Fatalf("weights changed behind our back, Observe reports no drift: %+v", o)
	}
	if ok, _ := provider.Verify(o, w, h.now()); ok {
		t.Fatal("Verify accepts a drifted provider")
	}
	o2, err := p.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o2.GreenBP == w.GreenBP {
		t.Fatal("Observe silently rewrote the drifted weight")
	}
	verified(t, h, p, write(t, h, p, 1000)) // an explicit write takes it back
}

func testForeign(t *testing.T, h TrafficHarness) {
	p := h.Foreign(t)
	err := p.Prepare(context.Background())
	if !errors.Is(err, provider.ErrNotOwned) {
		t.Fatalf("Prepare over objects someone else owns = %v, want ErrNotOwned", err)
	}
}
