package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/providertest"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// newRouterProvider is the built-in router behind the provider port: a real router, the
// engine's traffic over it, and the test app declared.
func newRouterProvider(t *testing.T) provider.TrafficProvider {
	t.Helper()
	r := router.New(router.Options{SampleInterval: 100 * time.Millisecond, DrainTimeout: time.Second})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	tr := &traffic{r: r, apps: map[string]*routed{}}
	rg := &rig{t: t}
	if err := tr.setSpec(rg.parse(sampletest.Spec(t, sampletest.FreeAddr(t), sampletest.Options{Instances: 2}, ""))); err != nil {
		t.Fatal(err)
	}
	return newRouterTraffic(tr, "web")
}

// TestRouterTrafficContract: the built-in router passes the TrafficProvider contract.
func TestRouterTrafficContract(t *testing.T) {
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: newRouterProvider,
		Backend: func(t *testing.T, s provider.Slot) provider.Backend {
			return provider.Backend{Kind: "router", Version: string(s), Endpoints: []provider.Endpoint{
				{ID: "web-" + string(s) + "-1", Addr: sampletest.FreeAddr(t), Version: string(s)},
			}}
		},
		Quantum: 0,
	})
}

// TestRouterTrafficRefusesOtherBackends: the router routes to endpoints only, and an
// undeclared app is not found.
func TestRouterTrafficRefusesOtherBackends(t *testing.T) {
	p := newRouterProvider(t)
	err := p.Bind(context.Background(), provider.Green, provider.Backend{Kind: "alb-target-group", Ref: "arn:aws:tg"})
	if !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("Bind of a target group to the router = %v, want ErrInvalid", err)
	}
	q := newRouterTraffic(&traffic{apps: map[string]*routed{}}, "nope")
	if err := q.Prepare(context.Background()); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Prepare of an undeclared app = %v, want ErrNotFound", err)
	}
}

// TestFleetGroupContract: the local fleet (process driver, real child processes) passes the
// GroupDriver contract, including listing its groups after a restart of the engine.
func TestFleetGroupContract(t *testing.T) {
	r := newRig(t)
	a := r.spec("")
	groups := func() provider.GroupDriver { return fleetGroups{f: r.eng.fleet, health: r.eng.traffic.Health} }
	providertest.RunGroups(t, providertest.GroupHarness{
		New: func(*testing.T) provider.GroupDriver { return groups() },
		Release: func(_ *testing.T, v string, s provider.Slot) provider.Release {
			r.eng.mu.Lock()
			r.eng.releases[a.Name+"/"+v] = a
			r.eng.mu.Unlock()
			return provider.Release{App: a.Name, Version: v, Slot: s}
		},
		Reopen: func(*testing.T, provider.GroupDriver) provider.GroupDriver {
			r.close()
			r.open()
			return groups()
		},
		Counts: true,
	})
}
