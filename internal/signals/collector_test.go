package signals

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// fakeSource is a fixed list of recorders, as the router would hold them.
type fakeSource []struct {
	l Labels
	r *Recorder
}

func (f fakeSource) EachRecorder(fn func(Labels, *Recorder)) {
	for _, e := range f {
		fn(e.l, e.r)
	}
}

func newFakeSource(t *testing.T) (fakeSource, *Recorder, *Recorder) {
	t.Helper()
	blue, green := NewRecorder(), NewRecorder()
	for range 7 {
		blue.Begin()
		blue.End(200, 3*time.Millisecond, 10, 100)
	}
	blue.Begin()
	blue.End(503, 40*time.Millisecond, 10, 0)
	blue.Begin()
	blue.End(0, 2*time.Minute, 10, 0) // no response; slower than every export bound
	blue.Begin()                      // still in flight
	green.Begin()
	green.End(404, 900*time.Microsecond, 0, 20)
	return fakeSource{
		{Labels{App: "shop", Pool: "blue", Version: "v1", Instance: "shop-v1-a"}, blue},
		{Labels{App: "shop", Pool: "green", Version: "v2", Instance: "shop-v2-a"}, green},
	}, blue, green
}

func TestCollectorPedantic(t *testing.T) {
	src, _, _ := newFakeSource(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewCollector(src)); err != nil {
		t.Fatalf("register: %v", err)
	}
	find := gatherer(t, reg)
	blue := map[string]string{"app": "shop", "pool": "blue", "version": "v1", "instance": "shop-v1-a"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}

	for class, want := range map[string]float64{"2xx": 7, "5xx": 1, "other": 1, "4xx": 0, "1xx": 0, "3xx": 0} {
		if got := find(t, "cutover_router_requests_total", with(blue, "code_class", class)).GetCounter().GetValue(); got != want {
			t.Errorf("blue requests %s = %v, want %v", class, got, want)
		}
	}
	if got := find(t, "cutover_router_inflight_requests", blue).GetGauge().GetValue(); got != 1 {
		t.Errorf("blue in flight = %v, want 1", got)
	}
	if got := find(t, "cutover_router_bytes_total", with(blue, "direction", "in")).GetCounter().GetValue(); got != 90 {
		t.Errorf("blue bytes in = %v, want 90", got)
	}
	if got := find(t, "cutover_router_bytes_total", with(blue, "direction", "out")).GetCounter().GetValue(); got != 700 {
		t.Errorf("blue bytes out = %v, want 700", got)
	}

	h := find(t, "cutover_router_request_duration_seconds", blue).GetHistogram()
	if h.GetSampleCount() != 9 {
		t.Errorf("histogram count = %d, want 9", h.GetSampleCount())
	}
	wantSum := (7*3*time.Millisecond + 40*time.Millisecond + 2*time.Minute).Seconds()
	if math.Abs(h.GetSampleSum()-wantSum) > 1e-9 {
		t.Errorf("histogram sum = %v, want %v", h.GetSampleSum(), wantSum)
	}
	// Cumulative counts at each export bound: 3ms lands in a fine bucket that folds into 5ms,
	// 40ms into 50ms, and 2m only into +Inf.
	wantCum := map[float64]uint64{.001: 0, .0025: 0, .005: 7, .01: 7, .025: 7, .05: 8, .1: 8, 10: 8, 60: 8}
	if got := len(h.GetBucket()); got != len(exportBounds) {
		t.Errorf("%d buckets, want %d", got, len(exportBounds))
	}
	for _, b := range h.GetBucket() {
		if want, ok := wantCum[b.GetUpperBound()]; ok && b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}

	green := map[string]string{"pool": "green", "version": "v2"}
	if got := find(t, "cutover_router_requests_total", with(green, "code_class", "4xx")).GetCounter().GetValue(); got != 1 {
		t.Errorf("green 4xx = %v, want 1", got)
	}
	if got := find(t, "cutover_router_request_duration_seconds", green).GetHistogram().GetBucket()[0].GetCumulativeCount(); got != 1 {
		t.Errorf("green le=0.001 = %d, want 1 (900µs)", got)
	}
}

func TestCollectorCountAndLint(t *testing.T) {
	src, blue, _ := newFakeSource(t)
	c := NewCollector(src)
	// Per recorder: 6 status classes, 1 histogram, 1 gauge, 2 byte directions.
	if got := testutil.CollectAndCount(c); got != 2*10 {
		t.Errorf("CollectAndCount = %d, want 20", got)
	}
	if got := testutil.CollectAndCount(c, "cutover_router_requests_total"); got != 12 {
		t.Errorf("requests series = %d, want 12", got)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	// Values are read at scrape time: a new request shows up on the next collect.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	before := gatherer(t, reg)(t, "cutover_router_requests_total", map[string]string{"instance": "shop-v1-a", "code_class": "2xx"})
	blue.Begin()
	blue.End(200, time.Millisecond, 0, 0)
	after := gatherer(t, reg)(t, "cutover_router_requests_total", map[string]string{"instance": "shop-v1-a", "code_class": "2xx"})
	if b, a := before.GetCounter().GetValue(), after.GetCounter().GetValue(); a != b+1 {
		t.Errorf("2xx went from %v to %v after one more request, want +1", b, a)
	}
}

func TestCollectorInvalidLabel(t *testing.T) {
	src := fakeSource{{Labels{App: "shop", Pool: "blue", Version: "v1", Instance: "bad\xff"}, NewRecorder()}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(src))
	// Invalid UTF-8 in a label must fail the scrape with an error, not panic the process.
	if _, err := reg.Gather(); err == nil {
		t.Error("gather with an invalid label value succeeded, want an error")
	}
}

// gatherer gathers reg once and returns a lookup for the one series of a family whose labels
// include the given ones.
func gatherer(t *testing.T, reg prometheus.Gatherer) func(t *testing.T, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return func(t *testing.T, name string, labels map[string]string) *dto.Metric {
		t.Helper()
		mf := byName[name]
		if mf == nil {
			t.Fatalf("no family %s", name)
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
		t.Fatalf("no %s series with %v", name, labels)
		return nil
	}
}
