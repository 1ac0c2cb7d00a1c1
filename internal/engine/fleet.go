package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/store"
)

// fleet is deploy.Fleet over the runtime drivers: instances of an app's releases, started by
// the driver their release's spec names, recorded in the store, drained out of the router
// before they are stopped by the driver that started them.
type fleet struct {
	e       *Engine
	drivers drivers

	mu    sync.Mutex
	known map[string]runtime.Instance // by instance ID
}

var _ deploy.Fleet = (*fleet)(nil)

func instanceID(app, version string, n int) string { return fmt.Sprintf("%s-%s-%d", app, version, n) }

func (f *fleet) of(app, version string) []runtime.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Instance
	for _, in := range f.known {
		if in.App == app && in.Release == version {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *fleet) Ensure(ctx context.Context, app, version string, count int) ([]deploy.Endpoint, error) {
	a, err := f.e.releaseSpec(app, version)
	if err != nil {
		return nil, err
	}
	if c := f.e.cloudOf(app); c != nil {
		return c.Ensure(ctx, a, version, count)
	}
	have := map[string]bool{}
	for _, in := range f.of(app, version) {
		have[in.ID] = true
	}
	var missing []string
	for n := 1; n <= count; n++ {
		if id := instanceID(app, version, n); !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return f.Endpoints(ctx, app, version)
	}
	drv, err := f.drivers.forSpec(a)
	if err != nil {
		return nil, err
	}
	if err := f.ensureImage(ctx, drv, a, version); err != nil {
		return nil, maskError(f.e.masker(app, version), err)
	}
	for _, id := range missing {
		in, err := drv.Start(ctx, f.e.instanceSpec(a, id, version))
		if err != nil {
			return nil, maskError(f.e.masker(app, version), fmt.Errorf("start instance %s: %w", id, err))
		}
		f.mu.Lock()
		f.known[id] = in
		f.mu.Unlock()
		if err := f.e.store.PutInstance(store.Instance{ID: id, App: app, Release: version, Driver: in.Driver, Handle: in.Handle}); err != nil {
			f.e.log.Warn("record instance", "instance", id, "err", err)
		}
	}
	return f.Endpoints(ctx, app, version)
}

func (f *fleet) Endpoints(_ context.Context, app, version string) ([]deploy.Endpoint, error) {
	if c := f.e.cloudOf(app); c != nil {
		return c.Endpoints(version), nil
	}
	var out []deploy.Endpoint
	for _, in := range f.of(app, version) {
		out = append(out, deploy.Endpoint{ID: in.ID, Addr: in.Addr, Version: version})
	}
	return out, nil
}

func (f *fleet) Observe(ctx context.Context, app, version string) ([]deploy.InstanceObs, error) {
	if c := f.e.cloudOf(app); c != nil {
		return c.Observe(ctx, version)
	}
	var out []deploy.InstanceObs
	for _, in := range f.of(app, version) {
		drv, err := f.drivers.of(in)
		if err != nil {
			return out, err
		}
		st, err := drv.Status(ctx, in)
		if err != nil {
			return out, fmt.Errorf("status of %s: %w", in.ID, err)
		}
		obs := deploy.InstanceObs{ID: in.ID}
		if !st.Running {
			obs.Exited = true
			obs.Reason = st.Reason
			if lines, err := drv.Logs(ctx, in, 5); err == nil && len(lines) > 0 {
				obs.Reason += "; last log lines: " + strings.Join(lines, " | ")
			}
			obs.Reason = f.e.masker(app, version).Mask(obs.Reason) // log lines may print a secret
		}
		out = append(out, obs)
	}
	return out, nil
}

// Stop drains version's instances out of the router (they must no longer be routed), then
// stops them.
func (f *fleet) Stop(ctx context.Context, app, version string) error {
	if c := f.e.cloudOf(app); c != nil {
		return c.Stop(ctx, version)
	}
	return f.stop(ctx, app, version, f.of(app, version))
}

func (f *fleet) stop(ctx context.Context, app, version string, ins []runtime.Instance) error {
	if len(ins) == 0 {
		return nil
	}
	a, err := f.e.releaseSpec(app, version)
	grace := 10 * time.Second
	drain := 30 * time.Second
	if err == nil {
		grace, drain = a.Run.StopGrace.Duration(), a.DrainTimeout.Duration()
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.ID
	}
	if _, err := f.e.router.WaitDrained(ctx, ids, time.Now().Add(drain)); err != nil {
		f.e.log.Warn("drain before stop", "app", app, "version", version, "err", err)
	}
	for _, in := range ins {
		drv, err := f.drivers.of(in)
		if err != nil {
			return err
		}
		if err := drv.Stop(ctx, in, grace); err != nil {
			return fmt.Errorf("stop instance %s: %w", in.ID, err)
		}
		f.mu.Lock()
		delete(f.known, in.ID)
		f.mu.Unlock()
		if err := f.e.store.DeleteInstance(in.ID); err != nil {
			f.e.log.Warn("forget instance", "instance", in.ID, "err", err)
		}
	}
	return nil
}

// versions lists the versions of app with known instances.
func (f *fleet) versions(app string) []string {
	if c := f.e.cloudOf(app); c != nil {
		return c.versions()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, in := range f.known {
		if in.App == app && !seen[in.Release] {
			seen[in.Release] = true
			out = append(out, in.Release)
		}
	}
	sort.Strings(out)
	return out
}

// Scale drains and stops the instances of version beyond the first count, in instance order.
func (f *fleet) Scale(ctx context.Context, app, version string, count int) error {
	if c := f.e.cloudOf(app); c != nil {
		return c.Scale(ctx, version, count)
	}
	ins := f.of(app, version)
	if len(ins) <= count {
		return nil
	}
	return f.stop(ctx, app, version, ins[max(count, 0):])
}
