package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/spec"
)

// An in-place update (strategy.rolling with run.asg, the mixed-fleet pattern) moves the
// live release's one group to green's release with the driver's Replacer: the traffic
// provider is never written to another slot, since blue and green are one group in one
// slot. While the group is replaced green is "starting"; once it is, both versions name
// the group (blue's name is an alias, so retiring blue retires nothing); a rollback after
// that replaces the group back to blue's release.

// replacement is one in-place update of the group serving from, to a release.
type replacement struct {
	from     provider.Release // the release the group ran, for a rollback
	group    provider.Group
	done     bool
	err      error
	progress string
}

// inPlaceDeadline bounds one Replace call; the runner fails the deployment sooner, at its
// start-up grace.
const inPlaceDeadline = 6 * time.Hour

// inPlace reports whether a's releases replace each other in place.
func inPlace(a *spec.App) bool { return a.Strategy.Rolling != nil && a.Run.ASG != nil }

// ensureInPlace starts (or follows) the replacement of the live group by version; ok is
// false when there is no live group to replace (the first release) or the driver cannot.
func (c *cloudApp) ensureInPlace(a *spec.App, version string) (eps []deploy.Endpoint, ok bool, err error) {
	rep, can := c.Groups.(provider.Replacer)
	if !can || c.batch == 0 {
		return nil, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, have := c.groups[version]; have {
		return []deploy.Endpoint{c.endpoint(g)}, true, nil
	}
	if r := c.replacing[version]; r != nil {
		return []deploy.Endpoint{c.endpointAs(r.group, version)}, true, nil
	}
	var live provider.Group
	for v, g := range c.groups {
		if c.alias[v] || g.Ref == live.Ref {
			continue // blue's name for the group green runs
		}
		if live.Ref != "" {
			return nil, true, fmt.Errorf("%s has more than one group (%s and %s): an in-place update needs one; wait for the warm one to retire", c.app, live.Ref, g.Ref)
		}
		live = g
	}
	if live.Ref == "" {
		return nil, false, nil
	}
	fromArt, err := releaseArtifact(a, live.Version)
	if err != nil {
		return nil, true, fmt.Errorf("the live release %s: %w", live.Version, err)
	}
	toArt, err := releaseArtifact(a, version)
	if err != nil {
		return nil, true, err
	}
	r := &replacement{from: provider.Release{App: c.app, Version: live.Version, Slot: live.Slot, Image: fromArt}, group: live,
		progress: fmt.Sprintf("replacing the instances of group %s (%s) with %s's, %d at a time", live.Ref, live.Version, version, c.batch)}
	c.replacing[version] = r
	to := provider.Release{App: c.app, Version: version, Slot: live.Slot, Image: toArt}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), inPlaceDeadline)
		defer cancel()
		g, err := rep.Replace(ctx, live, to, c.batch)
		c.mu.Lock()
		defer c.mu.Unlock()
		r.done, r.err = true, err
		if err == nil {
			c.groups[version] = g
			c.alias[live.Version] = true // the same group: retiring blue retires nothing
		}
	}()
	return []deploy.Endpoint{c.endpointAs(live, version)}, true, nil
}

// endpointAs is g's endpoint named for version.
func (c *cloudApp) endpointAs(g provider.Group, version string) deploy.Endpoint {
	g.Version = version
	return c.endpoint(g)
}

// observeReplacing reports version's replacement while it runs, or its failure; ok is
// false when version is not being replaced.
func (c *cloudApp) observeReplacing(version string) (obs []deploy.InstanceObs, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.replacing[version]
	if r == nil || (r.done && r.err == nil) {
		return nil, false
	}
	o := deploy.InstanceObs{ID: c.endpointAs(r.group, version).ID, Reason: r.progress}
	if r.done {
		o.Exited, o.Reason = true, fmt.Sprintf("%v; group %s runs %s again", r.err, r.group.Ref, r.from.Version)
	}
	return []deploy.InstanceObs{o}, true
}

// stopInPlace undoes or forgets version's side of an in-place update; ok is false when
// version is a group of its own.
func (c *cloudApp) stopInPlace(ctx context.Context, version string) (ok bool, err error) {
	c.mu.Lock()
	r := c.replacing[version]
	alias := c.alias[version]
	g, have := c.groups[version]
	c.mu.Unlock()
	switch {
	case alias: // blue, whose group green now runs
		c.mu.Lock()
		delete(c.groups, version)
		delete(c.alias, version)
		c.mu.Unlock()
		return true, nil
	case r == nil:
		return false, nil
	case !r.done:
		return true, fmt.Errorf("%s is still replacing group %s; it stops once a batch fails or all are done", version, r.group.Ref)
	case r.err != nil || !have: // failed: the driver put the old release back
		c.mu.Lock()
		delete(c.replacing, version)
		c.mu.Unlock()
		return true, nil
	}
	// Green took the group over and is rolled back: the group goes back to blue's release.
	rep := c.Groups.(provider.Replacer)
	back, err := rep.Replace(ctx, g, r.from, c.batch)
	if err != nil {
		return true, fmt.Errorf("roll group %s back to %s: %w", g.Ref, r.from.Version, err)
	}
	c.mu.Lock()
	c.groups[r.from.Version] = back
	delete(c.groups, version)
	delete(c.alias, r.from.Version)
	delete(c.replacing, version)
	c.mu.Unlock()
	return true, nil
}
