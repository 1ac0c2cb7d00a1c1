package providerfake

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Groups is a provider.GroupDriver in memory: a group's tasks become healthy HealthyAfter
// its last scale, except for versions marked Unhealthy, whose tasks keep failing.
type Groups struct {
	Now          func() time.Time
	HealthyAfter time.Duration

	mu        sync.Mutex
	groups    map[string]*fakeGroup
	unhealthy map[string]string // version → reason
}

type fakeGroup struct {
	g      provider.Group
	count  int
	scaled time.Time
}

var (
	_ provider.GroupDriver = (*Groups)(nil)
	_ provider.Promoter    = (*Groups)(nil)
)

// Unhealthy makes version's tasks fail their health checks with reason.
func (d *Groups) Unhealthy(version, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.unhealthy == nil {
		d.unhealthy = map[string]string{}
	}
	d.unhealthy[version] = reason
}

func (d *Groups) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func key(app, version string) string { return app + "/" + version }

func (d *Groups) EnsureRelease(_ context.Context, r provider.Release, count int) (provider.Group, error) {
	if r.App == "" || r.Version == "" || !r.Slot.Valid() || count < 0 {
		return provider.Group{}, fmt.Errorf("fake ensure %s/%s in %q at %d: %w", r.App, r.Version, r.Slot, count, provider.ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.groups == nil {
		d.groups = map[string]*fakeGroup{}
	}
	k := key(r.App, r.Version)
	if fg := d.groups[k]; fg != nil {
		if fg.count != count {
			fg.count, fg.scaled = count, d.now()
		}
		return fg.g, nil
	}
	g := provider.Group{App: r.App, Version: r.Version, Slot: r.Slot, Ref: "fake:" + k,
		Backend: provider.Backend{Kind: "fake", Ref: "tg-" + string(r.Slot), Version: r.Version}}
	d.groups[k] = &fakeGroup{g: g, count: count, scaled: d.now()}
	return g, nil
}

func (d *Groups) find(g provider.Group) (*fakeGroup, error) {
	fg := d.groups[key(g.App, g.Version)]
	if fg == nil {
		return nil, fmt.Errorf("fake group %s: %w", g.Ref, provider.ErrNotFound)
	}
	return fg, nil
}

func (d *Groups) Scale(_ context.Context, g provider.Group, count int) error {
	if count < 0 {
		return fmt.Errorf("fake scale %s to %d: %w", g.Ref, count, provider.ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fg, err := d.find(g)
	if err != nil {
		return err
	}
	fg.count, fg.scaled = count, d.now()
	return nil
}

func (d *Groups) Observe(_ context.Context, g provider.Group) (provider.GroupStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fg, err := d.find(g)
	if err != nil {
		return provider.GroupStatus{}, err
	}
	st := provider.GroupStatus{Desired: fg.count, Running: fg.count}
	if why, bad := d.unhealthy[g.Version]; bad {
		for i := 0; i < fg.count; i++ {
			st.Failures = append(st.Failures, fmt.Sprintf("task %d: %s", i+1, why))
		}
		return st, nil
	}
	if !d.now().Before(fg.scaled.Add(d.HealthyAfter)) {
		st.Healthy, st.Stable = fg.count, true
	}
	return st, nil
}

func (d *Groups) Promote(_ context.Context, g provider.Group) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.find(g)
	return err
}

func (d *Groups) Retire(_ context.Context, g provider.Group) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.groups, key(g.App, g.Version))
	return nil
}

func (d *Groups) List(_ context.Context, app string) ([]provider.Group, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []provider.Group
	for _, fg := range d.groups {
		if fg.g.App == app {
			out = append(out, fg.g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
