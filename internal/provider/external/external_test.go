package external

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// healthServer is a real HTTP server on 127.0.0.1 whose /healthz answers 200 until failing
// is set.
func healthServer(t *testing.T) (port int, failing *atomic.Bool) {
	failing = &atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return port, failing
}

func TestExternalContract(t *testing.T) {
	port, _ := healthServer(t)
	providertest.RunGroups(t, providertest.GroupHarness{
		New: func(t *testing.T) provider.GroupDriver {
			return &Driver{Dir: t.TempDir(), App: "web", HealthPath: "/healthz", HealthPort: port}
		},
		Release: func(t *testing.T, version string, slot provider.Slot) provider.Release {
			return provider.Release{App: "web", Version: version, Slot: slot, Image: "127.0.0.1"}
		},
		Reopen: func(t *testing.T, old provider.GroupDriver) provider.GroupDriver {
			o := old.(*Driver)
			return &Driver{Dir: o.Dir, App: o.App, HealthPath: o.HealthPath, HealthPort: o.HealthPort}
		},
		Counts: true, Healthy: true,
	})
}

// TestExternalHealthAndSlots: an endpoint whose health fails is reported with the reason;
// the slots survive a new driver over the same directory; retiring never touches the
// endpoint.
func TestExternalHealthAndSlots(t *testing.T) {
	port, failing := healthServer(t)
	ctx := context.Background()
	d := &Driver{Dir: t.TempDir(), App: "web", HealthPath: "/healthz", HealthPort: port}
	g, err := d.EnsureRelease(ctx, provider.Release{App: "web", Version: "v2", Slot: provider.Green, Image: "127.0.0.1"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if g.Backend.Kind != "dns" || g.Backend.Ref != "127.0.0.1" {
		t.Fatalf("group %+v", g)
	}
	failing.Store(true)
	st, err := d.Observe(ctx, g)
	if err != nil || st.Stable || st.Healthy != 0 || len(st.Failures) != 1 || !strings.Contains(st.Failures[0], "/healthz: 503") {
		t.Fatalf("a failing endpoint: %+v %v", st, err)
	}
	failing.Store(false)
	if st, err = d.Observe(ctx, g); err != nil || !st.Stable || st.Healthy != 2 {
		t.Fatalf("a healthy endpoint: %+v %v", st, err)
	}
	again := &Driver{Dir: d.Dir, App: "web"}
	gs, err := again.List(ctx, "web")
	if err != nil || len(gs) != 1 || gs[0].Slot != provider.Green || gs[0].Backend.Ref != "127.0.0.1" {
		t.Fatalf("a new driver lists %+v %v", gs, err)
	}
	if _, err := d.EnsureRelease(ctx, provider.Release{App: "web", Version: "v3", Slot: "purple", Image: "x"}, 1); err == nil {
		t.Fatal("a release in no slot was accepted")
	}
}
