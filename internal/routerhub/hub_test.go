package routerhub

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// local is the server's router as the hub sees it: one app, blue b1 and green g1, with fixed
// local counts.
type local struct{ applied int }

func (l *local) Apply(router.Table) error                                      { l.applied++; return nil }
func (l *local) Health(string) map[string]router.InstanceHealth                { return nil }
func (l *local) WaitDrained(context.Context, []string, time.Time) (int, error) { return 0, nil }
func (l *local) Signals(app string, _ time.Duration) (router.AppSignals, bool) {
	if app != "web" {
		return router.AppSignals{}, false
	}
	ok := func(n uint64) signals.Snapshot { return signals.Snapshot{Requests: [6]uint64{2: n}} }
	return router.AppSignals{App: app, GreenWeight: 1000,
		Blue:   router.VersionSignals{Role: "blue", Version: "v1", Total: ok(5), ByID: map[string]signals.Snapshot{"b1": ok(5)}},
		Green:  router.VersionSignals{Role: "green", Version: "v2", Total: ok(0), ByID: map[string]signals.Snapshot{"g1": ok(0)}},
		Sticky: []int{5000}}, true
}

func report(name string, started time.Time, b1, g1, g1bad uint64, sticky ...int) api.RouterReport {
	return api.RouterReport{Name: name, Started: started, Apps: map[string]api.RouterAppReport{"web": {
		Instances: map[string]signals.Snapshot{
			"b1":    {Requests: [6]uint64{2: b1}},
			"g1":    {Requests: [6]uint64{2: g1, 5: g1bad}},
			"other": {Requests: [6]uint64{2: 1000}}, // not routed by the server's table: ignored
		}, Sticky: sticky}}}
}

func TestSignalsAreTheSumOfEveryRouter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(&local{}, func() time.Time { return now })
	started := now
	for i := uint64(0); i <= 10; i++ { // two followers, reporting every second
		if err := h.Report("10.0.0.2:4000", report("r1", started, 100*i, 10*i, i, 42)); err != nil {
			t.Fatal(err)
		}
		if err := h.Report("10.0.0.3:4000", report("r2", started, 50*i, 5*i, 0, 7000)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	now = now.Add(-time.Second)
	sig, ok := h.Signals("web", 5*time.Second)
	if !ok {
		t.Fatal("no signals")
	}
	// Over 5 s: r1 500 blue, 50+5 green; r2 250 blue, 25 green; local 5 blue.
	if got := sig.Blue.Total.Total(); got != 755 {
		t.Errorf("blue total %d, want 755 (local 5 + r1 500 + r2 250)", got)
	}
	if got, bad := sig.Green.Total.Total(), sig.Green.Total.Errors(); got != 80 || bad != 5 {
		t.Errorf("green total %d with %d errors, want 80 with 5", got, bad)
	}
	if len(sig.Sticky) != 3 || sig.Sticky[0] != 42 || sig.Sticky[2] != 7000 {
		t.Errorf("sticky %v, want the union [42 5000 7000]", sig.Sticky)
	}
	// r2 goes silent: past StaleAfter its counters are left out and it shows stale.
	for i := uint64(11); i < 30; i++ {
		now = now.Add(time.Second)
		_ = h.Report("10.0.0.2:4000", report("r1", started, 100*i, 10*i, i))
	}
	sig, _ = h.Signals("web", 5*time.Second)
	if got := sig.Blue.Total.Total(); got != 505 {
		t.Errorf("blue with r2 stale: %d, want 505 (local 5 + r1 500)", got)
	}
	rs := h.Routers()
	if len(rs) != 3 || !rs[0].Local || rs[1].Name != "r1" || rs[1].Stale || !rs[2].Stale {
		t.Errorf("routers %+v, want local, r1 live, r2 stale", rs)
	}
	// r1 restarts: its counters start from 0 again, and no negative window comes of it.
	now = now.Add(time.Second)
	_ = h.Report("10.0.0.2:4000", report("r1", now, 3, 0, 0))
	sig, _ = h.Signals("web", 5*time.Second)
	if got := sig.Blue.Total.Total(); got != 5 {
		t.Errorf("right after r1 restarted: blue %d, want the local 5", got)
	}
}

func TestTableWaitsForAChange(t *testing.T) {
	l := &local{}
	h := New(l, nil)
	cur := h.Table(context.Background(), 0, 0, 0)
	if cur.Version != 0 || cur.Epoch == 0 {
		t.Fatalf("first table: %+v", cur)
	}
	got := make(chan api.RouterTable, 1)
	go func() { got <- h.Table(context.Background(), cur.Epoch, cur.Version, 10*time.Second) }()
	if err := h.Apply(router.Table{Apps: []router.App{{Name: "web"}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-got:
		var tb router.Table
		if next.Version != 1 || json.Unmarshal(next.Table, &tb) != nil || len(tb.Apps) != 1 || l.applied != 1 {
			t.Fatalf("after Apply: %+v", next)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting watch did not return on a new table")
	}
	// Another server process's table (other epoch) is answered at once.
	if next := h.Table(context.Background(), 12345, 1, time.Hour); next.Version != 1 {
		t.Fatalf("other epoch: %+v", next)
	}
	// Up to date: answered after the wait, unchanged.
	start := time.Now()
	if next := h.Table(context.Background(), cur.Epoch, 1, 50*time.Millisecond); next.Version != 1 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("up to date: %+v after %s", next, time.Since(start))
	}
}

func TestBadReportsAreRefused(t *testing.T) {
	h := New(&local{}, nil)
	for _, r := range []api.RouterReport{{}, {Name: strings.Repeat("x", 300)}} {
		if err := h.Report("a", r); !errors.Is(err, ErrInvalidReport) {
			t.Errorf("report %.20q: %v", r.Name, err)
		}
	}
	big := api.RouterReport{Name: "r", Apps: map[string]api.RouterAppReport{"web": {Instances: map[string]signals.Snapshot{}}}}
	for i := 0; i <= maxInstances; i++ {
		big.Apps["web"].Instances[strings.Repeat("i", 1)+string(rune('a'+i%26))+string(rune(i))] = signals.Snapshot{}
	}
	if err := h.Report("a", big); !errors.Is(err, ErrInvalidReport) {
		t.Errorf("a report of %d instances: %v", len(big.Apps["web"].Instances), err)
	}
	if len(h.Routers()) != 1 {
		t.Error("a refused report registered a router")
	}
}
