package providerfake

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Signals is a provider.SignalSource in memory: data points per version, arriving late by
// LagD. A window with no point is provider.ErrNoData.
type Signals struct {
	LagD time.Duration

	mu     sync.Mutex
	points map[string][]point // by app/version
}

type point struct {
	at             time.Time
	requests, errs uint64
}

var _ provider.SignalSource = (*Signals)(nil)

// Record adds a data point for version at at.
func (s *Signals) Record(app, version string, at time.Time, requests, errors uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.points == nil {
		s.points = map[string][]point{}
	}
	s.points[key(app, version)] = append(s.points[key(app, version)], point{at, requests, errors})
}

func (s *Signals) Lag() time.Duration { return s.LagD }

func (s *Signals) Window(_ context.Context, app, version string, from, to time.Time) (provider.Sample, error) {
	if !from.Before(to) {
		return provider.Sample{}, fmt.Errorf("fake window %s..%s: %w", from, to, provider.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out provider.Sample
	n := 0
	for _, p := range s.points[key(app, version)] {
		if !p.at.Before(from) && p.at.Before(to) {
			out.Requests += p.requests
			out.Errors += p.errs
			n++
		}
	}
	if n == 0 {
		return provider.Sample{}, fmt.Errorf("fake signals for %s %s: %w", app, version, provider.ErrNoData)
	}
	out.Coverage = 1
	return out, nil
}

// Alarms is a provider.AlarmSource in memory.
type Alarms struct {
	mu     sync.Mutex
	firing map[string]provider.Alarm
}

var _ provider.AlarmSource = (*Alarms)(nil)

// Set puts alarm name in ALARM with reason (firing true) or back to OK.
func (a *Alarms) Set(name string, firing bool, reason string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.firing == nil {
		a.firing = map[string]provider.Alarm{}
	}
	if firing {
		a.firing[name] = provider.Alarm{Name: name, Reason: reason, Since: at}
	} else {
		delete(a.firing, name)
	}
}

func (a *Alarms) Firing(_ context.Context, names []string) ([]provider.Alarm, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []provider.Alarm
	for _, n := range names {
		if al, ok := a.firing[n]; ok {
			out = append(out, al)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
