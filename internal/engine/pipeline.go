package engine

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
)

// DeployRelease is Deploy of a new release whose spec edit derives from the app's current
// spec: a pipeline points it at the artifact built for version. A version whose release
// exists already is deployed as it was stored (edit is not applied again), so a rollback or
// a retried run reuses the exact artifact.
func (e *Engine) DeployRelease(ctx context.Context, app, version string, edit func(*spec.App)) (deploy.State, error) {
	return e.deploy(ctx, app, version, nil, edit)
}

// BuildImage builds the image tag from dockerfile in contextDir on the Docker engine the
// docker driver drives, writing the build's output to out.
func (e *Engine) BuildImage(ctx context.Context, contextDir, dockerfile, tag string, out io.Writer) error {
	drv, err := e.fleet.drivers.named(spec.RuntimeDocker)
	if err != nil {
		return err
	}
	b, ok := drv.(imageBuilder)
	if !ok {
		return fmt.Errorf("the docker driver cannot build images")
	}
	return b.Build(ctx, contextDir, dockerfile, tag, out)
}

// RemoveImage removes an image a pipeline built (pruned by pipeline.retain) from the engine
// the docker driver drives.
func (e *Engine) RemoveImage(ctx context.Context, tag string) error {
	drv, err := e.fleet.drivers.named(spec.RuntimeDocker)
	if err != nil {
		return err
	}
	r, ok := drv.(interface {
		RemoveImage(ctx context.Context, ref string) error
	})
	if !ok {
		return fmt.Errorf("the docker driver cannot remove images")
	}
	return r.RemoveImage(ctx, tag)
}

// InUse lists the versions of app something still needs: the one serving, and every one
// with an instance recorded (green, or a blue kept warm).
func (e *Engine) InUse(app string) ([]string, error) {
	blue, _, err := e.blue(app)
	if err != nil {
		return nil, err
	}
	var out []string
	if blue != "" {
		out = append(out, blue)
	}
	ins, err := e.store.ListInstances(app)
	if err != nil {
		return nil, fmt.Errorf("instances of %s: %w", app, err)
	}
	for _, in := range ins {
		if !slices.Contains(out, in.Release) {
			out = append(out, in.Release)
		}
	}
	if r := e.running(app); r != nil {
		if s, err := e.Deployment(r.id); err == nil && !slices.Contains(out, s.Plan.GreenVersion) {
			out = append(out, s.Plan.GreenVersion)
		}
	}
	return out, nil
}

// Announce publishes a notice from outside a deployment (a pipeline run, source its ID) to
// the event stream's subscribers.
func (e *Engine) Announce(app, source string, ev deploy.Event) {
	if ev.At.IsZero() {
		ev.At = e.clock.Now()
	}
	e.feed.publish(Notice{App: app, Deployment: source, Event: ev})
}

// Spec is app's current spec.
func (e *Engine) Spec(app string) (*spec.App, error) { return e.currentSpec(app) }
