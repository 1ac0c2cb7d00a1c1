package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// AppInfo is an app as the API shows it.
type AppInfo struct {
	Name string
	Spec *spec.App
	// Blue is the version serving now ("" before the first deployment succeeds).
	Blue string
	// Active is the ID of the deployment in progress, if any.
	Active string
}

// Apps lists every applied app, by name.
func (e *Engine) Apps() ([]AppInfo, error) {
	e.mu.Lock()
	names := make([]string, 0, len(e.specs))
	for n := range e.specs {
		names = append(names, n)
	}
	e.mu.Unlock()
	sort.Strings(names)
	out := make([]AppInfo, 0, len(names))
	for _, n := range names {
		a, err := e.App(n)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// App describes one app.
func (e *Engine) App(name string) (AppInfo, error) {
	a, err := e.currentSpec(name)
	if err != nil {
		return AppInfo{}, err
	}
	blue, _, err := e.blue(name)
	if err != nil {
		return AppInfo{}, err
	}
	info := AppInfo{Name: name, Spec: a, Blue: blue}
	if r := e.running(name); r != nil {
		info.Active = r.id
	}
	return info, nil
}

// ErrBusy is returned for an operation an app's deployment in progress forbids.
var ErrBusy = errors.New("a deployment is in progress")

// Delete stops every instance of the app, removes its routes and forgets it. It refuses while
// a deployment is in progress.
func (e *Engine) Delete(ctx context.Context, name string) error {
	info, err := e.App(name)
	if err != nil {
		return err
	}
	if info.Active != "" {
		return fmt.Errorf("delete app %s: deployment %s is in progress (%w); abort it first: cutover abort %s", name, info.Active, ErrBusy, name)
	}
	if err := e.traffic.remove(name); err != nil {
		return fmt.Errorf("delete app %s: %w", name, err)
	}
	for _, v := range e.fleet.versions(name) {
		if err := e.fleet.Stop(ctx, name, v); err != nil {
			return fmt.Errorf("delete app %s: %w", name, err)
		}
	}
	if c := e.cloudOf(name); c != nil {
		if err := c.Traffic.Release(ctx); err != nil { // the listeners and target groups it made
			return fmt.Errorf("delete app %s: %w", name, err)
		}
	}
	if err := e.store.DeleteApp(name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete app %s: %w", name, err)
	}
	e.mu.Lock()
	delete(e.specs, name)
	delete(e.clouds, name)
	e.mu.Unlock()
	return nil
}

// InstanceInfo is one running instance as the API shows it.
type InstanceInfo struct {
	ID, Version, Addr string
	Running           bool
	Healthy           bool
	Reason            string
}

// Instances lists an app's instances with their health as the router sees it.
func (e *Engine) Instances(ctx context.Context, app string) ([]InstanceInfo, error) {
	if _, err := e.currentSpec(app); err != nil {
		return nil, err
	}
	health := e.router.Health(app)
	var out []InstanceInfo
	for _, v := range e.fleet.versions(app) {
		obs, err := e.fleet.Observe(ctx, app, v)
		if err != nil {
			return nil, err
		}
		eps, _ := e.fleet.Endpoints(ctx, app, v)
		addr := map[string]string{}
		for _, ep := range eps {
			addr[ep.ID] = ep.Addr
		}
		for _, o := range obs {
			h := health[o.ID]
			if e.cloudOf(app) != nil {
				h.Healthy = o.Healthy // the group driver's word
			}
			reason := o.Reason
			if reason == "" {
				reason = h.Reason
			}
			out = append(out, InstanceInfo{ID: o.ID, Version: v, Addr: addr[o.ID], Running: !o.Exited, Healthy: h.Healthy, Reason: reason})
		}
	}
	return out, nil
}

// LogLine is one line of an instance's output.
type LogLine struct {
	Instance, Line string
}

// Logs returns the last lines of each instance of the app (of version, when given), with
// secret values masked.
func (e *Engine) Logs(ctx context.Context, app, version string, lines int) ([]LogLine, error) {
	if _, err := e.currentSpec(app); err != nil {
		return nil, err
	}
	var out []LogLine
	for _, v := range e.fleet.versions(app) {
		if version != "" && v != version {
			continue
		}
		m := e.masker(app, v)
		for _, in := range e.fleet.of(app, v) {
			drv, err := e.fleet.drivers.of(in)
			if err != nil {
				return nil, err
			}
			ls, err := drv.Logs(ctx, in, lines)
			if err != nil {
				return nil, fmt.Errorf("logs of %s: %w", in.ID, err)
			}
			for _, l := range ls {
				out = append(out, LogLine{Instance: in.ID, Line: m.Mask(l)})
			}
		}
	}
	return out, nil
}

// Notice is one recorded transition, published to subscribers as it is saved.
type Notice struct {
	App, Deployment string
	Event           deploy.Event
}

// feed fans notices out to subscribers; a slow subscriber loses notices rather than stalls
// the engine.
type feed struct {
	mu   sync.Mutex
	subs map[chan Notice]struct{}
}

func (f *feed) publish(n Notice) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- n:
		default:
		}
	}
}

// Subscribe returns a channel of notices and a function that ends the subscription.
func (e *Engine) Subscribe() (<-chan Notice, func()) {
	ch := make(chan Notice, 256)
	e.feed.mu.Lock()
	if e.feed.subs == nil {
		e.feed.subs = map[chan Notice]struct{}{}
	}
	e.feed.subs[ch] = struct{}{}
	e.feed.mu.Unlock()
	return ch, func() {
		e.feed.mu.Lock()
		delete(e.feed.subs, ch)
		e.feed.mu.Unlock()
	}
}

// ReleaseInfo is one release of an app.
type ReleaseInfo struct {
	Number    int
	Version   string
	CreatedAt time.Time
}

// Releases lists an app's releases in the order they were created.
func (e *Engine) Releases(app string) ([]ReleaseInfo, error) {
	if _, err := e.currentSpec(app); err != nil {
		return nil, err
	}
	rels, err := e.store.ListReleases(app)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("releases of %s: %w", app, err)
	}
	out := make([]ReleaseInfo, 0, len(rels))
	for _, r := range rels {
		out = append(out, ReleaseInfo{Number: r.Number, Version: r.Version, CreatedAt: r.CreatedAt})
	}
	return out, nil
}
