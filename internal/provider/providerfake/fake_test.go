package providerfake

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// clock is a fake clock the suites advance with Tick.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time       { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Tick(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func slotBackend(_ *testing.T, s provider.Slot) provider.Backend {
	return provider.Backend{Kind: "fake", Ref: "tg-" + string(s)}
}

// TestTrafficContract: the fake with lag and settle passes the suite it serves.
func TestTrafficContract(t *testing.T) {
	c := newClock()
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: func(*testing.T) provider.TrafficProvider {
			return &Traffic{Now: c.Now, Lag: 2 * time.Second, Settle: time.Second, Steps: 999}
		},
		Backend: slotBackend, Quantum: 6, Now: c.Now, Tick: c.Tick,
		Tamper: func(_ *testing.T, p provider.TrafficProvider, bp int) { p.(*Traffic).Tamper(bp) },
		Foreign: func(*testing.T) provider.TrafficProvider {
			f := &Traffic{Now: c.Now}
			f.Foreign()
			return f
		},
	})
}

func TestGroupContract(t *testing.T) {
	c := newClock()
	providertest.RunGroups(t, providertest.GroupHarness{
		New: func(*testing.T) provider.GroupDriver { return &Groups{Now: c.Now, HealthyAfter: 3 * time.Second} },
		Release: func(_ *testing.T, v string, s provider.Slot) provider.Release {
			return provider.Release{App: "web", Version: v, Slot: s}
		},
		Reopen: func(_ *testing.T, old provider.GroupDriver) provider.GroupDriver { return old },
		Counts: true, Healthy: true, Tick: c.Tick,
	})
}

func TestSignalAndAlarmContract(t *testing.T) {
	var s *Signals
	providertest.RunSignals(t, providertest.SignalHarness{
		New:    func(*testing.T) provider.SignalSource { s = &Signals{LagD: time.Minute}; return s },
		Record: func(_ *testing.T, v string, at time.Time, r, e uint64) { s.Record("web", v, at, r, e) },
		Base:   time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
	})
	var a *Alarms
	providertest.RunAlarms(t, providertest.AlarmHarness{
		New: func(*testing.T) provider.AlarmSource { a = &Alarms{}; return a },
		Set: func(_ *testing.T, n string, f bool, r string) { a.Set(n, f, r, time.Now()) },
	})
}

// TestLagBlocksVerifyUntilSettled: a write is not verified while it propagates nor while
// it settles, and is once both passed.
func TestLagBlocksVerifyUntilSettled(t *testing.T) {
	c := newClock()
	f := &Traffic{Now: c.Now, Lag: 5 * time.Second, Settle: 2 * time.Second}
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := f.SetWeight(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		after time.Duration
		ok    bool
	}{{0, false}, {4 * time.Second, false}, {time.Second, false}, {time.Second, false}, {time.Second, true}} {
		c.Tick(step.after)
		o, err := f.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := provider.Verify(o, w, c.Now()); ok != step.ok {
			t.Fatalf("at %s after the write: verified %v (%s), want %v", c.Now().Sub(w.At), ok, why, step.ok)
		}
	}
}

// TestThrottlingIsRetryableAndChangesNothing.
func TestThrottlingIsRetryableAndChangesNothing(t *testing.T) {
	f := &Traffic{}
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	f.Throttle(1)
	_, err := f.SetWeight(ctx, 5000)
	if provider.Classify(err) != provider.Retryable {
		t.Fatalf("throttled write: %v, class %v, want Retryable", err, provider.Classify(err))
	}
	o, err := f.Observe(ctx)
	if err != nil || o.GreenBP != 0 || f.Writes() != 0 {
		t.Fatalf("a throttled write changed the weight: %+v %v, %d writes", o, err, f.Writes())
	}
}

// TestUnknownOutcomeLandsAndObserveShowsIt: a write that timed out may have landed; Observe
// tells, and the write repeated is harmless.
func TestUnknownOutcomeLandsAndObserveShowsIt(t *testing.T) {
	f := &Traffic{}
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	f.UnknownNext()
	_, err := f.SetWeight(ctx, 2000)
	if !errors.Is(err, provider.ErrUnknownOutcome) || provider.Classify(err) != provider.Unknown {
		t.Fatalf("timed-out write = %v, want an unknown outcome", err)
	}
	if o, err := f.Observe(ctx); err != nil || o.GreenBP != 2000 {
		t.Fatalf("after the timed-out write Observe = %+v %v, want 2000 bp held", o, err)
	}
	w, err := f.SetWeight(ctx, 2000)
	if err != nil || w.GreenBP != 2000 {
		t.Fatalf("repeat = %+v %v", w, err)
	}
}

// TestUnhealthyGroupReportsFailures.
func TestUnhealthyGroupReportsFailures(t *testing.T) {
	d := &Groups{}
	d.Unhealthy("v2", "health check failed: GET /healthz 500")
	g, err := d.EnsureRelease(context.Background(), provider.Release{App: "web", Version: "v2", Slot: provider.Green}, 2)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Observe(context.Background(), g)
	if err != nil || st.Healthy != 0 || st.Stable || len(st.Failures) != 2 {
		t.Fatalf("unhealthy group observed as %+v %v", st, err)
	}
}
