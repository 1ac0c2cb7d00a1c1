package health

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flapping returns an instance whose status alternates 200/500 on every request, so that a
// Check with thresholds of 1 reports a transition on every probe.
func flapping(t *testing.T) *instance {
	t.Helper()
	in := newInstance(t, 200)
	go func() {
		// Flip on a timer rather than per request: newInstance's handler reads the status.
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				in.status.Store(700 - in.status.Load()) // 200 <-> 500
			case <-t.Context().Done():
				return
			}
		}
	}()
	return in
}

func flappy(path string) Check {
	return Check{Path: path, Interval: 5 * time.Millisecond, Timeout: 200 * time.Millisecond,
		HealthyThreshold: 1, UnhealthyThreshold: 1}
}

func TestSetRemoveStopsProbes(t *testing.T) {
	removed := flapping(t)
	kept := newInstance(t, 200)
	c, rec := newTestChecker(t)
	var afterSet atomic.Bool
	var late atomic.Int64 // events for the removed target after Set returned
	rec.hook = func(e event) {
		if e.id == "removed" && afterSet.Load() {
			late.Add(1)
		}
	}
	keptTarget := Target{ID: "kept", Addr: kept.addr(), Check: fast("/healthz")}
	c.Set([]Target{{ID: "removed", Addr: removed.addr(), Check: flappy("/healthz")}, keptTarget})
	eventually(t, 2*time.Second, func() bool { return len(rec.all()) >= 4 }, "waiting for the target to flap")

	c.Set([]Target{keptTarget})
	afterSet.Store(true)
	n0 := removed.requests.Load()
	if _, known := c.Healthy("removed"); known {
		t.Errorf("Healthy(removed) is known after Set removed it")
	}

	// Measuring absence: wait several intervals. A request already written before the
	// cancellation may still reach the handler just after Set returns, so allow one.
	time.Sleep(20 * flappy("").Interval)
	n1 := removed.requests.Load()
	if n1-n0 > 1 {
		t.Errorf("removed target got %d requests after Set returned", n1-n0)
	}
	time.Sleep(20 * flappy("").Interval)
	if n2 := removed.requests.Load(); n2 != n1 {
		t.Errorf("removed target still probed: %d requests, then %d", n1, n2)
	}
	if n := late.Load(); n != 0 {
		t.Errorf("Observer called %d times for the removed target after Set returned", n)
	}
	k := kept.requests.Load()
	eventually(t, 2*time.Second, func() bool { return kept.requests.Load() > k }, "kept target no longer probed")
}

func TestSetUnchangedKeepsProber(t *testing.T) {
	in := newInstance(t, 200)
	c, _ := newTestChecker(t)
	// One probe now, the next in an hour: any further request means a restart.
	check := Check{Path: "/healthz", Interval: time.Hour}
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check}})
	eventually(t, 2*time.Second, func() bool { return in.requests.Load() == 1 }, "waiting for the first probe")

	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check.WithDefaults()}}) // same after defaults
	time.Sleep(100 * time.Millisecond)                                       // measuring absence
	if n := in.requests.Load(); n != 1 {
		t.Fatalf("unchanged target was restarted: %d requests, want 1", n)
	}

	check.Path = "/ready"
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check}})
	eventually(t, 2*time.Second, func() bool { return in.requests.Load() == 2 }, "changed check did not restart")
}

func TestSetAddrChangeRestartsKeepingVerdict(t *testing.T) {
	old := newInstance(t, 500)
	next := newInstance(t, 200)
	c, rec := newTestChecker(t)
	check := fast("/healthz")
	c.Set([]Target{{ID: "a", Addr: old.addr(), Check: check}})
	if e := rec.waitEvent(t, 1, 2*time.Second); e.healthy {
		t.Fatalf("first event = %+v, want unhealthy", e)
	}

	c.Set([]Target{{ID: "a", Addr: next.addr(), Check: check}})
	n0 := old.requests.Load()
	if h, known := c.Healthy("a"); h || !known {
		t.Errorf("Healthy(a) = %v, %v right after the Addr change; want the verdict kept: false, true", h, known)
	}
	e := rec.waitEvent(t, 2, 2*time.Second)
	// A new address counts as never probed: its first passing probe makes it healthy.
	if e.id != "a" || !e.healthy || !strings.Contains(e.reason, "after 1 success") {
		t.Errorf("second event = %+v, want healthy at the first success at the new address", e)
	}
	if n := old.requests.Load() - n0; n > 1 {
		t.Errorf("old address got %d requests after the Addr change", n)
	}
}

func TestCloseCancelsInFlightProbe(t *testing.T) {
	h := newHangingInstance(t)
	c, rec := newTestChecker(t)
	c.Set([]Target{{ID: "a", Addr: h.addr(), Check: Check{Path: "/", Interval: time.Hour, Timeout: time.Hour}}})
	<-h.entered

	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return within 2s with a probe in flight")
	}
	eventually(t, 2*time.Second, func() bool { return h.cancelled.Load() == 1 },
		"the in-flight probe's connection was not closed")
	if ev := rec.all(); len(ev) != 0 {
		t.Errorf("cancelled probe was reported:%v", rec)
	}
	if _, known := c.Healthy("a"); known {
		t.Errorf("Healthy(a) is known after Close")
	}
}

func TestNoObserverCallsAfterClose(t *testing.T) {
	var targets []Target
	for _, id := range []string{"a", "b", "c", "d"} {
		targets = append(targets, Target{ID: id, Addr: flapping(t).addr(), Check: flappy("/healthz")})
	}
	rec := &recorder{}
	var closed atomic.Bool
	var late atomic.Int64
	rec.hook = func(event) {
		if closed.Load() {
			late.Add(1)
		}
	}
	c := NewChecker(rec)
	c.Set(targets)
	eventually(t, 2*time.Second, func() bool { return len(rec.all()) >= 20 }, "waiting for targets to flap")

	c.Close()
	closed.Store(true)
	n := len(rec.all())
	time.Sleep(20 * flappy("").Interval) // measuring absence
	if l := late.Load(); l != 0 {
		t.Errorf("Observer called %d times after Close returned", l)
	}
	if m := len(rec.all()); m != n {
		t.Errorf("events grew from %d to %d after Close", n, m)
	}
	c.Set(targets) // no effect after Close
	c.Close()      // idempotent
	if _, known := c.Healthy("a"); known {
		t.Errorf("Set after Close started probing")
	}
}

func TestObserverMayCallHealthy(t *testing.T) {
	in := newInstance(t, 500)
	c, rec := newTestChecker(t)
	var seen atomic.Value
	rec.hook = func(e event) {
		h, known := c.Healthy(e.id)
		seen.Store([2]bool{h, known})
	}
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: fast("/healthz")}})
	rec.waitEvent(t, 1, 2*time.Second)
	eventually(t, time.Second, func() bool { return seen.Load() != nil }, "hook did not run")
	if got := seen.Load().([2]bool); got != [2]bool{false, true} {
		t.Errorf("Healthy inside HealthChanged = %v, want the new verdict [false true]", got)
	}
}
