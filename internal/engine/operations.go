package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// Deploy creates a deployment of version (a new release, from the app's current spec with
// env overrides set) and starts driving it.
func (e *Engine) Deploy(ctx context.Context, app, version string, set map[string]string) (deploy.State, error) {
	return e.deploy(ctx, app, version, set, nil)
}

// deploy is Deploy with edit, when not nil, changing the new release's spec after the env
// overrides (a pipeline points it at the release's artifact). edit must copy what it changes
// behind a pointer: the release shares them with the app's spec.
func (e *Engine) deploy(ctx context.Context, app, version string, set map[string]string, edit func(*spec.App)) (deploy.State, error) {
	if !versionRE.MatchString(version) {
		return deploy.State{}, fmt.Errorf("version %q: use 1-64 letters, digits, dots, dashes or underscores, like v2 or 1.4.0", version)
	}
	a, err := e.currentSpec(app)
	if err != nil {
		return deploy.State{}, err
	}
	if r := e.running(app); r != nil { // refuse before writing anything, the release included
		return deploy.State{}, &store.ActiveError{App: app, ID: r.id}
	}
	blue, _, err := e.blue(app)
	if err != nil {
		return deploy.State{}, err
	}
	if blue == version {
		return deploy.State{}, fmt.Errorf("app %s already serves %s; deploy a new version", app, version)
	}
	rel := withEnv(a, set)
	if edit != nil {
		edit(&rel)
	}
	if _, err := releaseArtifact(&rel, version); err != nil {
		return deploy.State{}, err
	}
	if len(set) > 0 || edit != nil {
		// The overrides obey the spec's rules for env (no PORT, valid names): a release is
		// stored as a spec and must parse back after a restart.
		if err := rel.Validate(); err != nil {
			return deploy.State{}, err
		}
	}
	data, err := rel.Marshal()
	if err != nil {
		return deploy.State{}, err
	}
	if _, err := e.store.CreateRelease(store.Release{App: app, Version: version, Spec: data}); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return deploy.State{}, fmt.Errorf("deploy %s %s: %w", app, version, err)
		}
		if len(set) > 0 {
			return deploy.State{}, fmt.Errorf("release %s of %s exists already; --set applies only to a new version", version, app)
		}
	} else {
		e.mu.Lock()
		e.releases[app+"/"+version] = &rel
		e.mu.Unlock()
	}
	stored, err := e.releaseSpec(app, version)
	if err != nil {
		return deploy.State{}, err
	}
	now := e.clock.Now()
	s := deploy.State{App: app, Plan: planFor(stored, blue, version), Phase: deploy.PhaseBeforeStart,
		CreatedAt: now, PhaseSince: now, Reason: fmt.Sprintf("deployment of %s created (blue: %s)", version, orNone(blue))}
	d, err := e.store.CreateDeployment(store.Deployment{App: app, State: mustJSON(s)})
	if err != nil {
		return deploy.State{}, err
	}
	s.ID = d.ID
	e.metrics.started.WithLabelValues(app).Inc()
	e.prune(app)
	ev := deploy.Event{At: now, Phase: s.Phase, Message: s.Reason}
	if err := (stateStore{e}).Save(ctx, s, []deploy.Event{ev}); err != nil {
		return deploy.State{}, err
	}
	e.start(s)
	return s, nil
}

// start drives s in the background.
func (e *Engine) start(s deploy.State) {
	r := &running{id: s.ID, cmds: make(chan deploy.Command, 16), done: make(chan struct{})}
	e.mu.Lock()
	e.active[s.App] = r
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(r.done)
		final, err := e.runner.Run(e.ctx, s, r.cmds)
		if err != nil && !errors.Is(err, context.Canceled) {
			e.log.Error("deployment stopped", "deployment", s.ID, "err", err)
		}
		e.mu.Lock()
		if e.active[s.App] == r {
			delete(e.active, s.App)
		}
		e.mu.Unlock()
		if final.Phase.Terminal() {
			e.log.Info("deployment ended", "deployment", s.ID, "phase", final.Phase, "reason", final.Reason)
		}
	}()
}

// running returns the app's deployment in progress. One that has reached its terminal state
// is not in progress, even while its runner still stops green instances.
func (e *Engine) running(app string) *running {
	e.mu.Lock()
	r := e.active[app]
	e.mu.Unlock()
	if r == nil {
		return nil
	}
	if s, err := e.Deployment(r.id); err == nil && s.Phase.Terminal() {
		return nil
	}
	return r
}

// Command sends a user command to the app's deployment in progress.
func (e *Engine) Command(app string, kind deploy.CommandKind) error {
	r := e.running(app)
	if r == nil {
		return fmt.Errorf("app %s has no deployment in progress to %s", app, kind)
	}
	select {
	case r.cmds <- deploy.Command{Kind: kind, At: e.clock.Now()}:
		return nil
	case <-r.done:
		return fmt.Errorf("deployment %s has just ended; nothing to %s", r.id, kind)
	}
}

// Wait blocks until the app's deployment in progress (if any) ends or ctx is done.
func (e *Engine) Wait(ctx context.Context, app string) error {
	e.mu.Lock()
	r := e.active[app]
	e.mu.Unlock()
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deployment reads one deployment's state.
func (e *Engine) Deployment(id string) (deploy.State, error) {
	d, err := e.store.GetDeployment(id)
	if err != nil {
		return deploy.State{}, err
	}
	return decodeState(d)
}

// History lists an app's deployments, newest first.
func (e *Engine) History(app string) ([]deploy.State, error) {
	ds, err := e.store.ListDeployments(app)
	if err != nil {
		return nil, err
	}
	out := make([]deploy.State, 0, len(ds))
	for _, d := range ds {
		s, err := decodeState(d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Events lists a deployment's recorded transitions in order.
func (e *Engine) Events(id string) ([]deploy.Event, error) {
	evs, err := e.store.Events(id, 0)
	if err != nil {
		return nil, err
	}
	out := make([]deploy.Event, 0, len(evs))
	for _, ev := range evs {
		var de deploy.Event
		if err := json.Unmarshal(ev.Data, &de); err != nil {
			return nil, fmt.Errorf("event %d of %s: %w", ev.Seq, id, err)
		}
		out = append(out, de)
	}
	return out, nil
}

// Why explains what the app's latest deployment waits for.
func (e *Engine) Why(app string) (string, error) {
	hist, err := e.History(app)
	if err != nil {
		return "", err
	}
	if len(hist) == 0 {
		return "", fmt.Errorf("app %s has no deployments yet", app)
	}
	return deploy.Why(hist[0], e.clock.Now()), nil
}

// blue finds the version serving now: the green of the latest succeeded deployment. It also
// returns that deployment, whose blue is the previous version kept warm.
func (e *Engine) blue(app string) (string, *deploy.State, error) {
	hist, err := e.History(app)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", nil, err
	}
	for i := range hist {
		if hist[i].Phase == deploy.PhaseSucceeded {
			return hist[i].Plan.GreenVersion, &hist[i], nil
		}
	}
	return "", nil, nil
}

// withEnv is a copy of a with set added to its runtime's env (run.process.env or
// run.docker.env), or a copy as it is when set is empty. a is not changed.
func withEnv(a *spec.App, set map[string]string) spec.App {
	rel := *a
	if len(set) == 0 {
		return rel
	}
	merged := maps.Clone(a.Run.Env())
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, set)
	switch {
	case a.Run.Docker != nil:
		d := *a.Run.Docker
		d.Env = merged
		rel.Run.Docker = &d
	case a.Run.Process != nil:
		p := *a.Run.Process
		p.Env = merged
		rel.Run.Process = &p
	case a.Run.External != nil:
		x := *a.Run.External
		x.Endpoint = x.EndpointFor("$CUTOVER_VERSION", set) // the version stays a variable
		rel.Run.External = &x
	}
	return rel
}

func decodeState(d store.Deployment) (deploy.State, error) {
	var s deploy.State
	if err := json.Unmarshal(d.State, &s); err != nil {
		return s, fmt.Errorf("deployment %s: %w", d.ID, err)
	}
	s.ID = d.ID
	return s, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data always encodes
	}
	return b
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
