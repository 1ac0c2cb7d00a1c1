package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
)

// routerTraffic is provider.TrafficProvider for one app over the built-in router: what the
// engine does with the router today, behind the provider port. The router applies a whole
// table atomically, so a write that returned is converged; it is effective one signal
// sample later (splitGuard). Nobody but cutover writes the router's table, so there is no
// drift and nothing foreign to refuse. It adds nothing to the router's request path.
type routerTraffic struct {
	t   *traffic
	app string
	now func() time.Time

	mu          sync.Mutex
	blue, green []deploy.Endpoint
	wroteAt     time.Time
}

var _ provider.TrafficProvider = (*routerTraffic)(nil)

func newRouterTraffic(t *traffic, app string) *routerTraffic {
	return &routerTraffic{t: t, app: app, now: time.Now}
}

func (p *routerTraffic) routed() (*routed, error) {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	a := p.t.apps[p.app]
	if a == nil {
		return nil, fmt.Errorf("router traffic for %s: %w: apply the app's spec first", p.app, provider.ErrNotFound)
	}
	cp := *a
	return &cp, nil
}

// Prepare checks the app is declared in the router's table; the table itself is the
// engine's (setSpec at apply).
func (p *routerTraffic) Prepare(context.Context) error {
	_, err := p.routed()
	return err
}

func toDeploy(eps []provider.Endpoint) []deploy.Endpoint {
	out := make([]deploy.Endpoint, 0, len(eps))
	for _, e := range eps {
		out = append(out, deploy.Endpoint{ID: e.ID, Addr: e.Addr, Version: e.Version})
	}
	return out
}

func (p *routerTraffic) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	if !slot.Valid() {
		return fmt.Errorf("bind %s slot %q: %w", p.app, slot, provider.ErrInvalid)
	}
	if b.Kind != "router" {
		return fmt.Errorf("bind %s %s to a %q backend: %w: the built-in router routes to endpoints only", p.app, slot, b.Kind, provider.ErrInvalid)
	}
	a, err := p.routed()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	blue, green := p.blue, p.green
	if slot == provider.Blue {
		blue = toDeploy(b.Endpoints)
	} else {
		green = toDeploy(b.Endpoints)
	}
	if err := p.t.Route(p.app, blue, green, a.weight); err != nil { // binding keeps the weight
		return fmt.Errorf("bind %s %s: %w", p.app, slot, err)
	}
	p.blue, p.green = blue, green
	return nil
}

func (p *routerTraffic) SetWeight(_ context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, fmt.Errorf("route %s: %w", p.app, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.t.Route(p.app, p.blue, p.green, bp); err != nil {
		return provider.Written{}, fmt.Errorf("route %s at %d bp: %w", p.app, bp, err)
	}
	if len(p.green) == 0 {
		bp = 0 // the router sends nothing to an empty green
	}
	p.wroteAt = p.now()
	return provider.Written{GreenBP: bp, Raw: fmt.Sprintf("green=%d bp", bp), At: p.wroteAt}, nil
}

func (p *routerTraffic) Observe(context.Context) (provider.Observed, error) {
	a, err := p.routed()
	if err != nil {
		return provider.Observed{}, err
	}
	p.mu.Lock()
	at := p.wroteAt
	p.mu.Unlock()
	now := p.now()
	return provider.Observed{
		GreenBP: a.weight, Converged: true, EffectiveAt: at.Add(splitGuard),
		Evidence: fmt.Sprintf("router table weights %s read back at %s", weights(a.weight), now.UTC().Format("15:04:05")),
	}, nil
}

// weights writes blue/green percentages, e.g. "90/10".
func weights(greenBP int) string {
	f := func(bp int) string {
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", float64(bp)/100), "0"), ".")
	}
	return f(provider.MaxBP-greenBP) + "/" + f(greenBP)
}

func (p *routerTraffic) Release(context.Context) error {
	if _, err := p.routed(); err != nil {
		return nil // nothing declared: nothing to release
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.t.Route(p.app, nil, nil, 0); err != nil {
		return fmt.Errorf("release %s's routes: %w", p.app, err)
	}
	p.blue, p.green, p.wroteAt = nil, nil, time.Time{}
	return nil
}
