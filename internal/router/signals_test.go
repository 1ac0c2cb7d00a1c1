package router

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cutover/cutover/internal/signals"
)

// manualClock is a clock the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSignalsPerVersion(t *testing.T) {
	blue := startInstance(t, "blue", nil)
	green := startInstance(t, "green", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("green\n"))
	})
	clock := &manualClock{now: time.Unix(1_000_000, 0)}
	tr := startRouter(t, Options{Now: clock.Now}, appTable([]*testInstance{blue}, []*testInstance{green}, 0))
	c := newClient()
	for i := 0; i < 30; i++ {
		get(t, c, tr.url+"/")
	}
	for i := 0; i < 10; i++ {
		get(t, c, tr.url+"/ok", "X-Cutover-Version", "green")
	}
	for i := 0; i < 5; i++ {
		get(t, c, tr.url+"/fail", "X-Cutover-Version", "green")
	}
	s, ok := tr.Signals("web", time.Minute)
	if !ok {
		t.Fatal("no signals for app web")
	}
	if got := s.Blue.Total.Total(); got != 30 {
		t.Errorf("blue requests %d, want 30", got)
	}
	if got, errs := s.Green.Total.Total(), s.Green.Total.Errors(); got != 15 || errs != 5 {
		t.Errorf("green requests %d with %d 5xx, want 15 with 5", got, errs)
	}
	if r := s.Green.Total.ErrorRate(); r < 0.33 || r > 0.34 {
		t.Errorf("green error rate %.3f, want 1/3", r)
	}
	if q := s.Blue.Total.Quantile(0.99); q <= 0 || q > 5*time.Second {
		t.Errorf("blue p99 %v is not a plausible latency", q)
	}
	if got := s.Green.ByID["green"].Total(); got != 15 {
		t.Errorf("per-instance green count %d, want 15", got)
	}
	if _, ok := tr.Signals("nope", time.Minute); ok {
		t.Error("signals for an unknown app")
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(signals.NewCollector(tr.Router))
	want := `
# HELP cutover_router_inflight_requests Requests to an instance begun and not yet finished.
# TYPE cutover_router_inflight_requests gauge
cutover_router_inflight_requests{app="web",instance="blue",pool="blue",version="v1"} 0
cutover_router_inflight_requests{app="web",instance="green",pool="green",version="v2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cutover_router_inflight_requests"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "cutover_router_requests_total"); err != nil || n == 0 {
		t.Errorf("requests_total series: %d, %v", n, err)
	}
}
