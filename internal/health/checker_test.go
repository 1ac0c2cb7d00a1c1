package health

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthyInstanceStaysHealthy(t *testing.T) {
	in := newInstance(t, 200)
	c, rec := newTestChecker(t)
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: fast("/healthz")}})

	eventually(t, 2*time.Second, func() bool { return in.requests.Load() >= 5 }, "waiting for 5 probes")
	if h, known := c.Healthy("a"); !h || !known {
		t.Errorf("Healthy(a) = %v, %v; want true, true", h, known)
	}
	if ev := rec.all(); len(ev) != 0 {
		t.Errorf("healthy instance reported transitions:%v", rec)
	}
	if h, known := c.Healthy("nope"); h || known {
		t.Errorf("Healthy(nope) = %v, %v; want false, false", h, known)
	}
}

func TestClosedInstanceReportedUnhealthy(t *testing.T) {
	in := newInstance(t, 200)
	c, rec := newTestChecker(t)
	check := Check{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: 100 * time.Millisecond}
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check}})
	eventually(t, 2*time.Second, func() bool { return in.requests.Load() >= 2 }, "waiting for 2 probes")

	in.srv.Close()
	closed := time.Now()
	e := rec.waitEvent(t, 1, 2*time.Second)
	t.Logf("unhealthy %v after the listener closed (Interval %v + Timeout %v = %v)",
		e.at.Sub(closed), check.Interval, check.Timeout, check.Interval+check.Timeout)
	if e.id != "a" || e.healthy || !strings.Contains(e.reason, "connection refused") {
		t.Errorf("event = %+v, want a unhealthy with connection refused", e)
	}
	if h, _ := c.Healthy("a"); h {
		t.Errorf("Healthy(a) = true after the transition")
	}
}

func TestBadStatusUnhealthyAfterThreshold(t *testing.T) {
	in := newInstance(t, 200)
	c, rec := newTestChecker(t)
	var served500 atomic.Int64 // 500s served when the transition was reported
	rec.hook = func(event) { served500.Store(in.served[500].Load()) }
	check := fast("/healthz")
	check.UnhealthyThreshold = 3
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check}})

	// A second request means the first success was processed: the target is now Probed.
	eventually(t, 2*time.Second, func() bool { return in.requests.Load() >= 2 }, "waiting for 2 probes")
	in.status.Store(500)
	e := rec.waitEvent(t, 1, 2*time.Second)
	if e.healthy || !strings.Contains(e.reason, "status 500, want 200-399 (3 consecutive failures)") {
		t.Errorf("event = %+v, want unhealthy after 3 consecutive 500s", e)
	}
	if n := served500.Load(); n != 3 {
		t.Errorf("reported unhealthy after %d 500s, want UnhealthyThreshold = 3", n)
	}
}

func TestHangingInstanceTimesOut(t *testing.T) {
	h := newHangingInstance(t)
	c, rec := newTestChecker(t)
	c.Set([]Target{{ID: "a", Addr: h.addr(),
		Check: Check{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond}}})

	e := rec.waitEvent(t, 1, 2*time.Second)
	if e.healthy || !strings.Contains(e.reason, "timeout") {
		t.Errorf("event = %+v, want unhealthy by timeout", e)
	}
	if h, _ := c.Healthy("a"); h {
		t.Errorf("Healthy(a) = true after the timeout")
	}
}

func TestRecovery(t *testing.T) {
	in := newInstance(t, 200)
	c, rec := newTestChecker(t)
	var served200 atomic.Int64 // 200s served when a transition was reported
	rec.hook = func(event) { served200.Store(in.served[200].Load()) }
	check := fast("/healthz")
	check.HealthyThreshold = 3
	check.UnhealthyThreshold = 1
	c.Set([]Target{{ID: "a", Addr: in.addr(), Check: check}})
	eventually(t, 2*time.Second, func() bool { return in.requests.Load() >= 2 }, "waiting for 2 probes")

	in.status.Store(500)
	if e := rec.waitEvent(t, 1, 2*time.Second); e.healthy {
		t.Fatalf("first event = %+v, want unhealthy", e)
	}
	before := served200.Load()
	in.status.Store(200)
	e := rec.waitEvent(t, 2, 2*time.Second)
	if !e.healthy || e.reason != "GET /healthz: 200 after 3 consecutive successes" {
		t.Errorf("second event = %+v, want healthy after 3 consecutive successes", e)
	}
	if n := served200.Load() - before; n != 3 {
		t.Errorf("reported healthy after %d 200s, want HealthyThreshold = 3", n)
	}
	if h, _ := c.Healthy("a"); !h {
		t.Errorf("Healthy(a) = false after recovery")
	}
}

func TestStatusRange(t *testing.T) {
	redirect := newInstance(t, 302)
	noContent := newInstance(t, 204)
	c, rec := newTestChecker(t)
	narrow := fast("/healthz")
	narrow.StatusMin, narrow.StatusMax = 200, 204
	c.Set([]Target{
		{ID: "redirect", Addr: redirect.addr(), Check: narrow},
		{ID: "no-content", Addr: noContent.addr(), Check: narrow},
	})

	e := rec.waitEvent(t, 1, 2*time.Second)
	if e.id != "redirect" || e.healthy || !strings.Contains(e.reason, "status 302, want 200-204") {
		t.Errorf("event = %+v, want redirect unhealthy with status 302, want 200-204", e)
	}
	eventually(t, 2*time.Second, func() bool { return noContent.requests.Load() >= 3 }, "waiting for 3 probes")
	if h, _ := c.Healthy("no-content"); !h {
		t.Errorf("Healthy(no-content) = false; 204 is in range")
	}
	for _, e := range rec.all() {
		if e.id == "no-content" {
			t.Errorf("no-content reported a transition: %+v", e)
		}
	}
}
