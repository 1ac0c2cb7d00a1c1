package engine

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// drivers are the runtime drivers by name: the spec's runtime keys ("process" for
// run.process, "docker" for run.docker), which are also what each driver writes in
// Instance.Driver. A release's spec picks the driver that starts its instances; an
// instance's Driver field picks the one that watches, reads and stops it.
type drivers map[string]runtime.Driver

// pinger is a driver that can tell whether what it drives answers (the docker driver: the
// engine). Apply asks it before it accepts a spec that needs it.
type pinger interface {
	Ping(ctx context.Context) error
}

// applyPingTimeout bounds the check of a driver when a spec is applied.
const applyPingTimeout = 5 * time.Second

func (d drivers) named(name string) (runtime.Driver, error) {
	if drv := d[name]; drv != nil {
		return drv, nil
	}
	if name == "" {
		return nil, fmt.Errorf("no runtime: set run.process or run.docker in the spec")
	}
	return nil, fmt.Errorf("this server has no %s runtime driver (it has %s); run the app with one of those, or start a server that has it",
		name, strings.Join(slices.Sorted(maps.Keys(d)), ", "))
}

// forSpec is the driver that starts the instances of a release with spec a.
func (d drivers) forSpec(a *spec.App) (runtime.Driver, error) { return d.named(a.Run.Runtime()) }

// of is the driver that started in.
func (d drivers) of(in runtime.Instance) (runtime.Driver, error) {
	drv, err := d.named(in.Driver)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", in.ID, err)
	}
	return drv, nil
}

// check tells whether a spec can run here: its driver exists, answers (when it can say), and
// builds images if the spec asks for a build.
func (d drivers) check(a *spec.App) error {
	name := a.Run.Runtime()
	drv, err := d.named(name)
	if err != nil {
		return fmt.Errorf("run.%s: %w", name, err)
	}
	if a.Run.Docker != nil && a.Run.Docker.Build != nil {
		if _, ok := drv.(imageBuilder); !ok {
			return fmt.Errorf("run.docker.build: the %s driver cannot build images; build the image yourself and name it in run.docker.image", name)
		}
	}
	if p, ok := drv.(pinger); ok {
		ctx, cancel := context.WithTimeout(context.Background(), applyPingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("run.%s: the app cannot run here now: %w", name, err)
		}
	}
	return nil
}

// adopt loads the instances every driver still runs (after a restart of cutover), and
// forgets the records of instances that ended meanwhile. A driver that cannot list its
// instances is an error only if something uses it (inUse, by driver name): a server without
// Docker must start fine while no app runs on docker.
func (f *fleet) adopt(ctx context.Context, inUse map[string]bool, recorded []store.Instance) error {
	for _, name := range slices.Sorted(maps.Keys(f.drivers)) {
		ins, err := f.drivers[name].List(ctx)
		if err != nil {
			if inUse[name] {
				return fmt.Errorf("list the running instances of the %s driver, which apps use: %w", name, err)
			}
			f.e.log.Info("runtime driver unavailable; no app uses it", "driver", name, "err", err)
			continue
		}
		running := map[string]bool{}
		f.mu.Lock()
		for _, in := range ins {
			f.known[in.ID] = in
			running[in.ID] = true
		}
		f.mu.Unlock()
		for _, rec := range recorded {
			if rec.Driver == name && !running[rec.ID] {
				if err := f.e.store.DeleteInstance(rec.ID); err != nil {
					f.e.log.Warn("forget an instance that ended", "instance", rec.ID, "err", err)
				}
			}
		}
	}
	return nil
}

// instanceSpec builds what the driver starts for one instance of a release.
func (e *Engine) instanceSpec(a *spec.App, id, version string) runtime.InstanceSpec {
	env := map[string]string{}
	maps.Copy(env, a.Run.Env())
	for name, other := range a.Run.Endpoints {
		env[name] = e.endpointOf(other)
	}
	is := runtime.InstanceSpec{ID: id, App: a.Name, Release: version, Env: env}
	switch {
	case a.Run.Docker != nil:
		d := a.Run.Docker
		is.Image = d.ImageFor(a.Name, version)
		is.Argv = d.Command
		is.Container = &runtime.ContainerSpec{Entrypoint: d.Entrypoint, Port: d.Port, MemoryBytes: int64(d.Memory),
			NanoCPUs: int64(math.Round(d.CPUs * 1e9)), Network: d.Network}
	case a.Run.Process != nil:
		is.Argv, is.Dir = a.Run.Process.Command, a.Run.Process.Dir
	}
	return is
}
