package engine

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/spec"
)

// traffic is deploy.Traffic over the router: it keeps what every app routes and applies the
// whole table on each change.
type traffic struct {
	r     Router
	cloud func(app string) *cloudApp // the cloud side of an app beyond this machine, or nil

	mu   sync.Mutex
	apps map[string]*routed
}

var _ deploy.Traffic = (*traffic)(nil)

// routed is one app's part of the table.
type routed struct {
	spec        *spec.App
	blue, green []deploy.Endpoint
	weight      int
	rebalance   int64 // the cohorts' re-balance generation (router.App.Rebalance)
}

// setSpec (re)declares an app's routes; its pools are kept.
func (t *traffic) setSpec(a *spec.App) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := t.apps[a.Name]
	next := &routed{spec: a}
	if prev != nil {
		next.blue, next.green, next.weight, next.rebalance = prev.blue, prev.green, prev.weight, prev.rebalance
	}
	t.apps[a.Name] = next
	if err := t.apply(); err != nil {
		if prev == nil {
			delete(t.apps, a.Name)
		} else {
			t.apps[a.Name] = prev
		}
		return err
	}
	return nil
}

// seed takes the pools and weights of a served table, for apps declared next (restore).
func (t *traffic) seed(served router.Table) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range served.Apps {
		t.apps[a.Name] = &routed{blue: endpoints(a.Blue), green: endpoints(a.Green), weight: a.GreenWeight}
	}
}

// declare sets an app's spec without applying, keeping its pools (restore).
func (t *traffic) declare(a *spec.App) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.apps[a.Name]; r != nil {
		r.spec = a
		return
	}
	t.apps[a.Name] = &routed{spec: a}
}

// declarePools sets an app's pools without applying (restore).
func (t *traffic) declarePools(app string, blue, green []deploy.Endpoint, weight int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.apps[app]; r != nil {
		r.blue, r.green, r.weight = blue, green, weight
	}
}

// applyAll drops seeded apps nobody declared and applies the table.
func (t *traffic) applyAll() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for n, a := range t.apps {
		if a.spec == nil {
			delete(t.apps, n)
		}
	}
	return t.apply()
}

// reapply pushes the whole table again, for a router process that restarted.
func (t *traffic) reapply() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.apply()
}

func (t *traffic) remove(app string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := t.apps[app]
	if prev == nil {
		return nil
	}
	delete(t.apps, app)
	if err := t.apply(); err != nil {
		t.apps[app] = prev
		return err
	}
	return nil
}

// cloudOf is app's cloud side, nil for an app the router serves.
func (t *traffic) cloudOf(app string) *cloudApp {
	if t.cloud == nil {
		return nil
	}
	return t.cloud(app)
}

func (t *traffic) Route(app string, blue, green []deploy.Endpoint, weight int) error {
	if c := t.cloudOf(app); c != nil {
		return c.Route(blue, green, weight)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.apps[app]
	if a == nil {
		return errNoApp(app)
	}
	prev := *a
	a.blue, a.green, a.weight = blue, green, weight
	if len(green) == 0 {
		a.weight = 0
	}
	if err := t.apply(); err != nil {
		*a = prev
		return err
	}
	return nil
}

// Rebalance asks the router to split app's clients outside green's cohort again, once per
// generation.
func (t *traffic) Rebalance(app string, gen int64) error {
	if t.cloudOf(app) != nil {
		return nil // a load balancer keeps no cohorts
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.apps[app]
	if a == nil {
		return errNoApp(app)
	}
	if gen <= a.rebalance {
		return nil
	}
	prev := a.rebalance
	a.rebalance = gen
	if err := t.apply(); err != nil {
		a.rebalance = prev
		return err
	}
	return nil
}

// apply builds the whole table from every app and hands it to the router.
func (t *traffic) apply() error {
	var tbl router.Table
	seen := map[string]bool{}
	listen := func(addr string) {
		if !seen[addr] {
			seen[addr] = true
			tbl.Listeners = append(tbl.Listeners, router.Listener{Addr: addr})
		}
	}
	names := make([]string, 0, len(t.apps))
	for n := range t.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := t.apps[n]
		s := a.spec
		ra := router.App{
			Name: n, TestListener: s.TestListener, GreenWeight: a.weight, Rebalance: a.rebalance,
			Blue: pool(a.blue), Green: pool(a.green),
			Health: &router.HealthCheck{
				Path: s.Health.Path, Interval: router.Duration(s.Health.Interval), Timeout: router.Duration(s.Health.Timeout),
				HealthyThreshold: s.Health.HealthyThreshold, UnhealthyThreshold: s.Health.UnhealthyThreshold,
			},
		}
		for _, r := range s.Routes {
			listen(r.Listen)
			ra.Routes = append(ra.Routes, router.Route{Listener: r.Listen, Host: r.Host, PathPrefix: r.Path})
		}
		if s.TestListener != "" {
			listen(s.TestListener)
		}
		tbl.Apps = append(tbl.Apps, ra)
	}
	return t.r.Apply(tbl)
}

func endpoints(p router.Pool) []deploy.Endpoint {
	var es []deploy.Endpoint
	for _, in := range p.Instances {
		es = append(es, deploy.Endpoint{ID: in.ID, Addr: in.Addr, Version: p.Version})
	}
	return es
}

func pool(es []deploy.Endpoint) router.Pool {
	var p router.Pool
	for _, e := range es {
		p.Version = e.Version
		p.Instances = append(p.Instances, router.Instance{ID: e.ID, Addr: e.Addr})
	}
	return p
}

func (t *traffic) Health(app string) map[string]deploy.Health {
	out := map[string]deploy.Health{}
	if t.cloudOf(app) != nil {
		return out // the group driver reports a cloud release's health
	}
	for id, h := range t.r.Health(app) {
		// Healthy for the engine means a probe has passed since the instance was routed.
		out[id] = deploy.Health{Healthy: h.Healthy && h.Probed, Reason: h.Reason}
	}
	return out
}

// splitGuard is left out of the start of a step's window when its split is checked: the
// router's signal windows start at a sample (taken every 250ms) and the weight takes effect
// a moment after the step begins, so without it the window would include traffic at the
// previous weight and report a split that was never set.
const splitGuard = 500 * time.Millisecond

func (t *traffic) Split(app string, since time.Time) deploy.Split {
	if t.cloudOf(app) != nil {
		return deploy.Split{} // the router does not see a load balancer's traffic
	}
	window := time.Since(since) - splitGuard
	if window <= 0 {
		return deploy.Split{}
	}
	sig, ok := t.r.Signals(app, window)
	if !ok {
		return deploy.Split{}
	}
	g, b := sig.Green.Total.Total(), sig.Blue.Total.Total()
	return deploy.Split{Green: g, Total: g + b, Sticky: sig.Sticky}
}

var _ deploy.TrafficVerifier = (*traffic)(nil)

// VerifyTraffic reads a cloud app's traffic provider back; the router's table needs none.
func (t *traffic) VerifyTraffic(app string) (deploy.TrafficCheck, error) {
	c := t.cloudOf(app)
	if c == nil {
		return deploy.TrafficCheck{}, fmt.Errorf("app %s is served by the built-in router: nothing to read back", app)
	}
	return c.VerifyTraffic()
}
