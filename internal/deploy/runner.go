package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"
)

// Runner drives deployments: it observes, decides, persists, then acts, until a deployment
// reaches a terminal state. Every decision is saved before its actions are performed.
type Runner struct {
	Fleet    Fleet
	Traffic  Traffic
	Analyzer Analyzer
	Hooks    HookRunner
	Store    Store
	Clock    Clock
	Log      *slog.Logger
	// Tick bounds how long the runner waits between observations; default 100ms.
	Tick time.Duration
}

// Run drives s until it is terminal or ctx ends. Commands arrive on cmds. It returns the last
// persisted state. Calling Run again with that state (after a crash, with the state read back
// from the store) resumes: the first thing it does is make the world match the state.
func (r *Runner) Run(ctx context.Context, s State, cmds <-chan Command) (State, error) {
	tick := r.Tick
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	h := &hookSet{results: map[string]HookResult{}, running: map[string]bool{}, done: make(chan struct{}, 1)}
	defer h.wait()
	w := &world{r: r, app: s.App}
	if err := w.perform(ctx, s, Ensure(s), h); err != nil {
		r.Log.Warn("resume: could not make the world match the deployment yet", "deployment", s.ID, "err", err)
	}
	for !s.Phase.Terminal() {
		var pending []Command
		wake := NextWake(s)
		wait := tick
		if d := wake.Sub(r.Clock.Now()); d < wait {
			wait = max(d, 0)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case c := <-cmds:
			pending = append(pending, c)
		case <-h.done:
		case <-r.Clock.After(wait):
		}
		pending = append(pending, drain(cmds)...)
		obs := r.observe(ctx, s, w, h, pending)
		obs.StartError, w.startErr = w.startErr, ""
		next, acts, events := Decide(s, obs, r.Clock.Now())
		if len(events) > 0 || !reflect.DeepEqual(next, s) {
			if err := r.Store.Save(ctx, next, events); err != nil {
				// Not persisted means not decided: keep the old state and try again.
				r.Log.Error("save deployment state", "deployment", s.ID, "err", err)
				continue
			}
			for _, e := range events {
				r.Log.Info(e.Message, "deployment", s.ID, "phase", e.Phase, "weight", e.Weight)
			}
		}
		s = next
		if err := w.perform(ctx, s, acts, h); err != nil {
			r.Log.Warn("action failed; will retry", "deployment", s.ID, "err", err)
		}
	}
	r.verifyRollback(ctx, s)
	return s, nil
}

func drain(cmds <-chan Command) []Command {
	var out []Command
	for {
		select {
		case c := <-cmds:
			out = append(out, c)
		default:
			return out
		}
	}
}

// observe gathers what Decide needs.
func (r *Runner) observe(ctx context.Context, s State, w *world, h *hookSet, cmds []Command) Observation {
	o := Observation{Commands: cmds}
	if s.Phase != PhaseBeforeStart {
		green, err := r.Fleet.Observe(ctx, s.App, s.Plan.GreenVersion)
		if err != nil {
			r.Log.Warn("observe green instances", "deployment", s.ID, "err", err)
		}
		health := r.Traffic.Health(s.App)
		for i := range green {
			if h, ok := health[green[i].ID]; ok && !green[i].Exited {
				green[i].Healthy = h.Healthy
				if !h.Healthy && green[i].Reason == "" {
					green[i].Reason = h.Reason
				}
			}
		}
		o.Green = green
	}
	if s.Hook != nil {
		if res, ok := h.result(s.Hook.Key()); ok {
			o.Hook = &res
		}
	}
	now := r.Clock.Now()
	if s.Phase == PhaseShifting {
		if a := s.Plan.Analysis; a != nil && !now.Before(s.NextAnalysisAt) {
			res := r.Analyzer.Evaluate(ctx, s.App, a.Window, a.MinRequests)
			o.Analysis = &res
		}
		sp := r.Traffic.Split(s.App, s.splitSince())
		o.Split = &sp
	}
	if s.Phase == PhaseShifting || s.Phase == PhaseFullTraffic {
		o.Traffic = w.readBack(s, now)
	}
	return o
}

// world performs actions and remembers what it did, so repeated actions cost nothing.
type world struct {
	r        *Runner
	startErr string // the last failure to start green instances, for the next observation
	app      string
	green    []Endpoint
	routed   map[string]bool
	last     *Action // the last route applied
	// nextRead is when the traffic provider is read back next; drifted is set while it
	// holds what cutover did not write (rewritten only once the deployment is resumed).
	nextRead time.Time
	drifted  bool
}

func (w *world) perform(ctx context.Context, s State, acts []Action, h *hookSet) error {
	for _, a := range acts {
		var err error
		switch a.Kind {
		case ActEnsureGreen:
			if w.green, err = w.r.Fleet.Ensure(ctx, s.App, s.Plan.GreenVersion, a.Count); err != nil {
				w.startErr = err.Error()
			}
		case ActRoute:
			err = w.route(ctx, s, a)
		case ActRunHook:
			h.start(ctx, w.r.Hooks, s, *a.Hook)
		case ActPromote:
			err = w.r.Traffic.Route(s.App, w.green, nil, 0)
		case ActStopGreen:
			if err = w.route(ctx, s, Action{Kind: ActRoute, Weight: 0}); err == nil {
				err = w.r.Fleet.Stop(ctx, s.App, s.Plan.GreenVersion)
			}
		case ActScaleBlue:
			err = w.r.Fleet.Scale(ctx, s.App, s.Plan.BlueVersion, a.Count)
		case ActRebalance:
			err = w.r.Traffic.Rebalance(s.App, a.Gen)
		case ActEnsureBlue:
			if _, err = w.r.Fleet.Ensure(ctx, s.App, s.Plan.BlueVersion, a.Count); err == nil {
				err = w.route(ctx, s, Action{Kind: ActRoute, Weight: 0})
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", a.Kind, err)
		}
	}
	return nil
}

// route points the router at blue plus (unless the deployment ended badly) green.
func (w *world) route(ctx context.Context, s State, a Action) error {
	var blue []Endpoint
	if s.Plan.BlueVersion != "" {
		var err error
		if blue, err = w.r.Fleet.Endpoints(ctx, s.App, s.Plan.BlueVersion); err != nil {
			return err
		}
	}
	green := w.green
	bad := s.Phase == PhaseRolledBack || s.Phase == PhaseFailed || s.Phase == PhaseAborted
	if bad {
		green = nil
	}
	if s.Plan.Rolling && !bad && (s.Phase == PhaseShifting || s.Phase == PhaseFullTraffic) && s.BlueTarget < len(blue) {
		blue = blue[:s.BlueTarget] // the rest is being retired: out of the router first
	}
	if w.drifted {
		if s.Paused {
			return nil // drift is reported, never overwritten silently
		}
		w.drifted, w.last = false, nil // resumed (or ended): write the deployment's weight again
	}
	if w.last != nil && w.last.Weight == a.Weight && len(w.routed) == len(blue)+len(green) && sameIDs(w.routed, green) {
		return nil
	}
	if err := w.r.Traffic.Route(s.App, blue, green, a.Weight); err != nil {
		return err
	}
	w.routed = map[string]bool{}
	for _, e := range append(append([]Endpoint{}, blue...), green...) {
		w.routed[e.ID] = true
	}
	w.last = &a
	w.nextRead = time.Time{} // read the write back at once
	return nil
}

func sameIDs(m map[string]bool, es []Endpoint) bool {
	for _, e := range es {
		if !m[e.ID] {
			return false
		}
	}
	return true
}

// hookSet runs hooks in the background, one run per key.
type hookSet struct {
	mu      sync.Mutex
	results map[string]HookResult
	running map[string]bool
	done    chan struct{}
	wg      sync.WaitGroup
}

func (h *hookSet) start(ctx context.Context, runner HookRunner, s State, hw HookWait) {
	key := hw.Key()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running[key] {
		return
	}
	if _, done := h.results[key]; done {
		return
	}
	h.running[key] = true
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		res := runner.Run(ctx, s, hw)
		res.Key = key
		h.mu.Lock()
		h.results[key] = res
		delete(h.running, key)
		h.mu.Unlock()
		select {
		case h.done <- struct{}{}:
		default:
		}
	}()
}

func (h *hookSet) result(key string) (HookResult, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res, ok := h.results[key]
	return res, ok
}

func (h *hookSet) wait() { h.wg.Wait() }
