package router

import (
	"time"

	"github.com/cutover/cutover/internal/health"
)

// healthBridge turns probe verdicts into backend state and tells the owner.
type healthBridge struct{ r *Router }

func (h healthBridge) HealthChanged(id string, healthy bool, reason string) {
	b := h.r.snap.Load().byID[id]
	if b == nil {
		return
	}
	b.healthy.Store(healthy)
	if healthy {
		b.pending.Store(false)
		b.ejectedUntil.Store(0)
		b.connFails.Store(0)
	}
	h.r.log.Info("instance health changed", "app", b.app, "instance", id, "healthy", healthy, "reason", reason)
	if o := h.r.opts.Observer; o != nil {
		o.InstanceHealth(b.app, id, healthy, reason)
	}
}

// ejected tells the owner about a passive ejection.
func (r *Router) ejected(b *backend, reason string) {
	r.log.Warn("instance ejected", "app", b.app, "instance", b.id, "reason", reason)
	if o := r.opts.Observer; o != nil {
		o.InstanceHealth(b.app, b.id, false, reason)
	}
}

func healthTargets(t Table) []health.Target {
	var out []health.Target
	for _, a := range t.Apps {
		if a.Health == nil {
			continue
		}
		c := health.Check{
			Path: a.Health.Path, Interval: time.Duration(a.Health.Interval), Timeout: time.Duration(a.Health.Timeout),
			HealthyThreshold: a.Health.HealthyThreshold, UnhealthyThreshold: a.Health.UnhealthyThreshold,
			StatusMin: a.Health.StatusMin, StatusMax: a.Health.StatusMax,
		}.WithDefaults()
		for _, p := range []Pool{a.Blue, a.Green} {
			for _, in := range p.Instances {
				out = append(out, health.Target{ID: in.ID, Addr: in.Addr, Check: c})
			}
		}
	}
	return out
}

// InstanceHealth is what the router knows of an instance's health.
type InstanceHealth struct {
	// Healthy: the instance receives traffic (probes pass and it is not ejected).
	Healthy bool `json:"healthy"`
	// Probed: an active probe has succeeded since the instance joined the table. Without a
	// health check configured it stays false.
	Probed bool `json:"probed"`
	// Reason is the last failure seen, if any.
	Reason string `json:"reason,omitempty"`
}

// Health reports on every instance routed for app, by instance ID.
func (r *Router) Health(app string) map[string]InstanceHealth {
	a := r.snap.Load().apps[app]
	if a == nil {
		return nil
	}
	now := time.Now().UnixNano()
	out := map[string]InstanceHealth{}
	for _, p := range []*pool{&a.blue, &a.green} {
		for _, b := range p.backends {
			h := InstanceHealth{Healthy: b.available(now)}
			if st, ok := r.checker.Status(b.id); ok {
				h.Probed, h.Reason = st.Probed, st.LastFailure
			}
			if b.ejectedUntil.Load() > now && h.Reason == "" {
				h.Reason = "ejected after consecutive connection errors"
			}
			out[b.id] = h
		}
	}
	return out
}
