package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
)

// fleetGroups is provider.GroupDriver over the engine's fleet: a release's group is its
// instances on the process or docker driver, and its Backend carries their endpoints for
// the built-in router. Health is the router's (a probe passed since the instance was
// routed); an instance not routed yet counts as running, not healthy.
type fleetGroups struct {
	f      *fleet
	health func(app string) map[string]deploy.Health
}

var _ provider.GroupDriver = fleetGroups{}

func ref(app, version string) string { return "local:" + app + "/" + version }

func (d fleetGroups) group(app, version string, slot provider.Slot, eps []deploy.Endpoint) provider.Group {
	b := provider.Backend{Kind: "router", Version: version}
	for _, e := range eps {
		b.Endpoints = append(b.Endpoints, provider.Endpoint{ID: e.ID, Addr: e.Addr, Version: e.Version})
	}
	return provider.Group{App: app, Version: version, Slot: slot, Ref: ref(app, version), Backend: b}
}

func (d fleetGroups) EnsureRelease(ctx context.Context, r provider.Release, count int) (provider.Group, error) {
	if count < 0 || !r.Slot.Valid() {
		return provider.Group{}, fmt.Errorf("ensure %s %s in %q at %d: %w", r.App, r.Version, r.Slot, count, provider.ErrInvalid)
	}
	if err := d.f.Scale(ctx, r.App, r.Version, count); err != nil {
		return provider.Group{}, err
	}
	eps, err := d.f.Ensure(ctx, r.App, r.Version, count)
	if err != nil {
		return provider.Group{}, err
	}
	return d.group(r.App, r.Version, r.Slot, eps), nil
}

func (d fleetGroups) Scale(ctx context.Context, g provider.Group, count int) error {
	if count < 0 {
		return fmt.Errorf("scale %s to %d: %w", g.Ref, count, provider.ErrInvalid)
	}
	if err := d.f.Scale(ctx, g.App, g.Version, count); err != nil {
		return err
	}
	_, err := d.f.Ensure(ctx, g.App, g.Version, count)
	return err
}

func (d fleetGroups) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	obs, err := d.f.Observe(ctx, g.App, g.Version)
	if err != nil {
		return provider.GroupStatus{}, err
	}
	if len(obs) == 0 {
		return provider.GroupStatus{}, fmt.Errorf("group %s: %w", g.Ref, provider.ErrNotFound)
	}
	var h map[string]deploy.Health
	if d.health != nil {
		h = d.health(g.App)
	}
	st := provider.GroupStatus{Desired: len(obs)}
	for _, o := range obs {
		switch {
		case o.Exited:
			st.Failures = append(st.Failures, o.ID+": "+o.Reason)
		default:
			st.Running++
			if h[o.ID].Healthy {
				st.Healthy++
			}
		}
	}
	st.Stable = st.Running == st.Desired
	return st, nil
}

func (d fleetGroups) Retire(ctx context.Context, g provider.Group) error {
	return d.f.Stop(ctx, g.App, g.Version)
}

func (d fleetGroups) List(ctx context.Context, app string) ([]provider.Group, error) {
	var out []provider.Group
	for _, v := range d.f.versions(app) {
		eps, err := d.f.Endpoints(ctx, app, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d.group(app, v, "", eps))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
