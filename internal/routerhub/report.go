package routerhub

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// Bounds on what a follower may report, so a report cannot grow the server without end.
const (
	maxFollowers = 64
	maxApps      = 1000
	maxInstances = 1000 // per app
)

// ErrInvalidReport is wrapped by every refused report.
var ErrInvalidReport = errors.New("invalid router report")

// Report records a follower's report, received from addr.
func (h *Hub) Report(addr string, r api.RouterReport) error {
	if r.Name == "" || len(r.Name) > 253 {
		return fmt.Errorf("%w: name: required, at most 253 characters (--name of cutover router --follow)", ErrInvalidReport)
	}
	if len(r.Apps) > maxApps {
		return fmt.Errorf("%w: %d apps, at most %d", ErrInvalidReport, len(r.Apps), maxApps)
	}
	for app, a := range r.Apps {
		if len(a.Instances) > maxInstances || len(a.Sticky) > router.WeightScale {
			return fmt.Errorf("%w: app %q: at most %d instances and %d sticky buckets", ErrInvalidReport, app, maxInstances, router.WeightScale)
		}
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forget(now)
	f := h.followers[r.Name]
	if f == nil {
		if len(h.followers) >= maxFollowers {
			return fmt.Errorf("%w: the server follows at most %d routers; stop one or wait %s for a stopped one to be forgotten", ErrInvalidReport, maxFollowers, ForgetAfter)
		}
		f = &follower{series: map[string]map[string]*signals.Series{}}
		h.followers[r.Name] = f
	}
	if !f.report.Started.Equal(r.Started) {
		f.series = map[string]map[string]*signals.Series{} // a new process: counters from 0
	}
	f.addr, f.report, f.lastSeen = addr, r, now
	for app, a := range r.Apps {
		byID := f.series[app]
		if byID == nil {
			byID = map[string]*signals.Series{}
			f.series[app] = byID
		}
		for id, snap := range a.Instances {
			s := byID[id]
			if s == nil {
				s = signals.NewSeries(seriesSamples)
				byID[id] = s
			}
			s.Add(now, snap)
		}
		for id := range byID {
			if _, ok := a.Instances[id]; !ok {
				delete(byID, id) // no longer routed there
			}
		}
	}
	for app := range f.series {
		if _, ok := r.Apps[app]; !ok {
			delete(f.series, app)
		}
	}
	return nil
}

// forget drops followers silent for ForgetAfter. h.mu is held.
func (h *Hub) forget(now time.Time) {
	for name, f := range h.followers {
		if now.Sub(f.lastSeen) > ForgetAfter {
			delete(h.followers, name)
		}
	}
}

// Signals is the local router's signals of app with every live follower's counters added,
// instance by instance, for the instances the local table routes to.
func (h *Hub) Signals(app string, window time.Duration) (router.AppSignals, bool) {
	sig, ok := h.local.Signals(app, window)
	if !ok {
		return sig, false
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	sticky := slices.Clone(sig.Sticky)
	for _, f := range h.followers {
		if now.Sub(f.lastSeen) > StaleAfter {
			continue
		}
		byID := f.series[app]
		for _, v := range []*router.VersionSignals{&sig.Blue, &sig.Green} {
			for id := range v.ByID {
				if s := byID[id]; s != nil {
					w := s.Window(now, window)
					v.ByID[id] = v.ByID[id].Add(w)
					v.Total = v.Total.Add(w)
				}
			}
		}
		sticky = append(sticky, f.report.Apps[app].Sticky...)
	}
	if len(sticky) > len(sig.Sticky) {
		sort.Ints(sticky)
		sig.Sticky = slices.Compact(sticky)
	}
	return sig, true
}

// Routers lists the local router and the followers, by name.
func (h *Hub) Routers() []api.RouterInfo {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forget(now)
	out := []api.RouterInfo{{Name: "local", Local: true, TableVersion: h.version}}
	names := make([]string, 0, len(h.followers))
	for n := range h.followers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := h.followers[n]
		behind := int64(h.version) - int64(f.report.TableVersion)
		if f.report.Epoch != h.epoch {
			behind = -1
		}
		out = append(out, api.RouterInfo{Name: n, Addr: f.addr, Listen: f.report.Listen, TableVersion: f.report.TableVersion,
			Behind: behind, LastSeen: f.lastSeen, Stale: now.Sub(f.lastSeen) > StaleAfter})
	}
	return out
}
