package engine

import (
	"errors"
	"fmt"

	"github.com/cutover/cutover/internal/deploy"
)

// Limits bound what the engine keeps, so that a script deploying in a loop (or a token in
// the wrong hands) cannot grow the state file without end.
type Limits struct {
	// MaxApps bounds the apps the server holds; applying one more is refused (ErrLimit).
	// Default 100.
	MaxApps int
	// KeepDeployments is how many of an app's newest deployments are kept, with their
	// events; older ones are forgotten when a new one starts. The deployment in progress and
	// the newest one that succeeded (it names blue, and the version a rollback returns to)
	// are always kept. Default 100.
	KeepDeployments int
	// KeepReleases is how many of an app's newest releases are kept; older ones no kept
	// deployment names are forgotten with them (their versions may then be deployed again
	// as new releases). Default 50.
	KeepReleases int
}

// DefaultLimits are the limits of an engine whose Options leave them zero.
var DefaultLimits = Limits{MaxApps: 100, KeepDeployments: 100, KeepReleases: 50}

func (l Limits) orDefaults() Limits {
	if l.MaxApps <= 0 {
		l.MaxApps = DefaultLimits.MaxApps
	}
	if l.KeepDeployments <= 0 {
		l.KeepDeployments = DefaultLimits.KeepDeployments
	}
	if l.KeepReleases <= 0 {
		l.KeepReleases = DefaultLimits.KeepReleases
	}
	return l
}

// ErrLimit is returned for an operation past one of the engine's Limits.
var ErrLimit = errors.New("limit reached")

// release is what forget needs to know of a stored release.
type release struct {
	number  int
	version string
}

// forget decides what of an app's history to delete: hist is newest first, rels in any
// order. It keeps the newest keepDeps deployments, the one in progress and the newest that
// succeeded; and the newest keepRels releases and every release a kept deployment names.
func forget(hist []deploy.State, rels []release, keepDeps, keepRels int) (ids, versions []string) {
	named := map[string]bool{}
	succeeded := false
	for i, s := range hist {
		keep := i < keepDeps || !s.Phase.Terminal()
		if !succeeded && s.Phase == deploy.PhaseSucceeded {
			keep, succeeded = true, true
		}
		if !keep {
			ids = append(ids, s.ID)
			continue
		}
		named[s.Plan.GreenVersion], named[s.Plan.BlueVersion] = true, true
	}
	newest := 0
	for _, r := range rels {
		newest = max(newest, r.number)
	}
	for _, r := range rels {
		if r.number <= newest-keepRels && !named[r.version] {
			versions = append(versions, r.version)
		}
	}
	return ids, versions
}

// prune forgets what app no longer needs (see Limits). It is called as a deployment starts;
// a failure is logged, not returned: history is kept, nothing else is at stake.
func (e *Engine) prune(app string) {
	hist, err := e.History(app)
	if err != nil {
		e.log.Warn("prune history: read deployments", "app", app, "err", err)
		return
	}
	stored, err := e.store.ListReleases(app)
	if err != nil {
		e.log.Warn("prune history: read releases", "app", app, "err", err)
		return
	}
	rels := make([]release, len(stored))
	for i, r := range stored {
		rels[i] = release{number: r.Number, version: r.Version}
	}
	ids, versions := forget(hist, rels, e.limits.KeepDeployments, e.limits.KeepReleases)
	if len(ids) > 0 {
		if err := e.store.DeleteDeployments(app, ids); err != nil {
			e.log.Warn("prune history: delete deployments", "app", app, "err", err)
			return
		}
	}
	if len(versions) > 0 {
		if err := e.store.DeleteReleases(app, versions); err != nil {
			e.log.Warn("prune history: delete releases", "app", app, "err", err)
			return
		}
		e.mu.Lock()
		for _, v := range versions {
			delete(e.releases, app+"/"+v)
		}
		e.mu.Unlock()
	}
	if len(ids)+len(versions) > 0 {
		e.log.Info("pruned history", "app", app, "deployments", len(ids), "releases", len(versions))
	}
}

// checkAppLimit refuses a new app past MaxApps; e.mu is held.
func (e *Engine) checkAppLimit(name string) error {
	if _, ok := e.specs[name]; ok || len(e.specs) < e.limits.MaxApps {
		return nil
	}
	return fmt.Errorf("apply %s: the server holds %d apps, the most it allows: delete one (cutover delete APP) or restart the server with a larger --max-apps: %w",
		name, len(e.specs), ErrLimit)
}
