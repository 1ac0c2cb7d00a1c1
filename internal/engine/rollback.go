package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/store"
)

// Rollback sends traffic back to the previous version after a successful deployment, while
// that version is still warm: a table swap, no analysis. It is recorded as its own
// deployment, and the version rolled back from is kept warm in turn.
func (e *Engine) Rollback(ctx context.Context, app string) (deploy.State, error) {
	if r := e.running(app); r != nil {
		return deploy.State{}, fmt.Errorf("app %s has deployment %s in progress; abort it instead (cutover abort %s)", app, r.id, app)
	}
	blue, last, err := e.blue(app)
	if err != nil {
		return deploy.State{}, err
	}
	if last == nil || last.Plan.BlueVersion == "" {
		return deploy.State{}, fmt.Errorf("app %s has no previous version to roll back to", app)
	}
	prev := last.Plan.BlueVersion
	now := e.clock.Now()
	if !now.Before(last.RetireBlueAt) {
		return deploy.State{}, fmt.Errorf("%s of %s was retired at %s (keep_warm %s); deploy it again instead: cutover deploy %s --version %s",
			prev, app, last.RetireBlueAt.Format(time.RFC3339), last.Plan.KeepWarm, app, prev)
	}
	eps, err := e.fleet.Endpoints(ctx, app, prev)
	if err != nil || len(eps) == 0 {
		return deploy.State{}, fmt.Errorf("%s of %s has no running instance left; deploy it again: cutover deploy %s --version %s", prev, app, app, prev)
	}
	plan := last.Plan
	plan.GreenVersion, plan.BlueVersion = prev, blue
	plan.Steps = []deploy.Step{{Weight: 100}}
	plan.Hooks, plan.Analysis = nil, nil
	s := deploy.State{App: app, Kind: deploy.KindRollback, Plan: plan, Phase: deploy.PhaseSucceeded, Weight: deploy.WeightScale,
		CreatedAt: now, PhaseSince: now, EndedAt: now, RetireBlueAt: now.Add(plan.KeepWarm),
		Reason: fmt.Sprintf("rolled back after success: traffic back to %s (warm); %s kept warm until %s", prev, blue, now.Add(plan.KeepWarm).Format(time.RFC3339))}
	d, err := e.store.CreateDeployment(store.Deployment{App: app, State: mustJSON(s)})
	if err != nil {
		return deploy.State{}, err
	}
	s.ID = d.ID
	e.prune(app)
	ev := deploy.Event{At: now, Phase: s.Phase, Weight: s.Weight, Message: s.Reason}
	if err := (stateStore{e}).Save(ctx, s, []deploy.Event{ev}); err != nil {
		return deploy.State{}, err
	}
	if err := e.traffic.Route(app, eps, nil, 0); err != nil {
		return deploy.State{}, fmt.Errorf("rollback of %s recorded as %s but the router refused the table: %w", app, s.ID, err)
	}
	e.log.Info(s.Reason, "deployment", s.ID)
	return s, nil
}

// janitorLoop retires warm blues once their keep-warm window ends and stops stray instances.
func (e *Engine) janitorLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.clock.After(e.janitor):
		}
		e.tidy(e.ctx)
	}
}

// tidy stops every instance of an app whose version is neither serving, being deployed, nor
// kept warm; for a warm blue whose window ended it then runs the after_blue_retired hooks.
func (e *Engine) tidy(ctx context.Context) {
	e.mu.Lock()
	apps := make([]string, 0, len(e.specs))
	for a := range e.specs {
		apps = append(apps, a)
	}
	e.mu.Unlock()
	sort.Strings(apps)
	now := e.clock.Now()
	for _, app := range apps {
		e.mu.Lock()
		_, busy := e.active[app]
		e.mu.Unlock()
		if busy {
			continue // the deployment owns the instances until it ends
		}
		blue, last, err := e.blue(app)
		if err != nil {
			continue
		}
		keep := map[string]bool{blue: true}
		retiring := ""
		if last != nil && last.Plan.BlueVersion != "" {
			if now.Before(last.RetireBlueAt) {
				keep[last.Plan.BlueVersion] = true
			} else {
				retiring = last.Plan.BlueVersion
			}
		}
		for _, version := range e.fleet.versions(app) {
			if keep[version] {
				continue
			}
			if err := e.fleet.Stop(ctx, app, version); err != nil {
				e.log.Warn("retire instances", "app", app, "version", version, "err", err)
				continue
			}
			e.log.Info("instances retired", "app", app, "version", version)
			if version == retiring {
				e.afterRetired(ctx, app, *last)
			}
		}
	}
}

// afterRetired runs the after_blue_retired hooks once per retired version (contract-phase
// migrations). The deployment has ended, so a failure is logged, not rolled back.
func (e *Engine) afterRetired(ctx context.Context, app string, s deploy.State) {
	key := app + "/" + s.Plan.BlueVersion
	e.mu.Lock()
	done := e.retired[key]
	e.retired[key] = true
	e.mu.Unlock()
	if done {
		return
	}
	a, err := e.releaseSpec(app, s.Plan.GreenVersion)
	if err != nil {
		return
	}
	for _, h := range a.Hooks {
		if h.At != string(deploy.AfterBlueRetired) {
			continue
		}
		res := hookRunner{e}.Run(ctx, s, deploy.HookWait{Point: deploy.AfterBlueRetired, Name: h.Name, StartedAt: e.clock.Now()})
		if res.Passed {
			e.log.Info("after_blue_retired hook passed", "app", app, "hook", h.Name)
		} else {
			e.log.Error("after_blue_retired hook failed", "app", app, "hook", h.Name, "reason", res.Reason)
		}
	}
}
