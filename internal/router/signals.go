package router

import (
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// VersionSignals is the traffic one version (pool) of an app saw over a window.
type VersionSignals struct {
	Role    string                      `json:"role"` // "blue" or "green"
	Version string                      `json:"version"`
	Total   signals.Snapshot            `json:"-"`
	ByID    map[string]signals.Snapshot `json:"-"`
}

// AppSignals is what the router saw of one app over a window, per version and instance.
type AppSignals struct {
	App         string         `json:"app"`
	GreenWeight int            `json:"green_weight"`
	Window      time.Duration  `json:"window"`
	Blue        VersionSignals `json:"blue"`
	Green       VersionSignals `json:"green"`
	// Sticky lists the cohort buckets (0-9999) of clients that came back with their cohort
	// cookie since the weight was last set, in order: a client is green's when its bucket is
	// below GreenWeight. Clients that share a bucket count once.
	Sticky []int `json:"sticky,omitempty"`
}

// Signals returns the app's per-version traffic over the last window (as far back as samples
// reach; see signals.Snapshot.Span). The engine judges green from it.
func (r *Router) Signals(app string, window time.Duration) (AppSignals, bool) {
	a := r.snap.Load().apps[app]
	if a == nil {
		return AppSignals{}, false
	}
	now := r.opts.Now()
	return AppSignals{
		App: app, GreenWeight: a.weight, Window: window,
		Blue:   poolSignals(&a.blue, now, window),
		Green:  poolSignals(&a.green, now, window),
		Sticky: a.seen.buckets(),
	}, true
}

func poolSignals(p *pool, now time.Time, window time.Duration) VersionSignals {
	v := VersionSignals{Role: p.role, Version: p.version, ByID: make(map[string]signals.Snapshot, len(p.backends))}
	for i, b := range p.backends {
		s := b.rec.Window(now, window)
		v.ByID[b.id] = s
		if i == 0 {
			v.Total = s
		} else {
			v.Total = v.Total.Add(s)
		}
	}
	return v
}

// EachRecorder lists every instance's recorder for the Prometheus collector.
func (r *Router) EachRecorder(fn func(signals.Labels, *signals.Recorder)) {
	for _, a := range r.snap.Load().apps {
		for _, p := range []*pool{&a.blue, &a.green} {
			for _, b := range p.backends {
				fn(signals.Labels{App: a.name, Pool: p.role, Version: p.version, Instance: b.id}, b.rec)
			}
		}
	}
	r.dmu.Lock()
	defer r.dmu.Unlock()
	for b := range r.draining {
		fn(signals.Labels{App: b.app, Pool: "draining", Version: b.version, Instance: b.id}, b.rec)
	}
}

var _ signals.Source = (*Router)(nil)
