package docker

import (
	"context"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

var errTODO = errors.New("docker: not implemented yet")

type ended struct{}

func sshOpts(*url.URL) []client.Opt { return nil }

// Start creates and starts the instance's container.
func (d *Driver) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	return runtime.Instance{}, errTODO
}

// Stop stops and removes the instance's container.
func (d *Driver) Stop(ctx context.Context, in runtime.Instance, grace time.Duration) error {
	return errTODO
}

// Status reports the state of the instance's container.
func (d *Driver) Status(ctx context.Context, in runtime.Instance) (runtime.Status, error) {
	return runtime.Status{}, errTODO
}

// List returns the running containers of this owner.
func (d *Driver) List(ctx context.Context) ([]runtime.Instance, error) { return nil, errTODO }

// Logs returns the last lines of the container's output.
func (d *Driver) Logs(ctx context.Context, in runtime.Instance, lines int) ([]string, error) {
	return nil, errTODO
}

// Build builds the image from contextDir (a directory; dockerfile is relative to it, "" =
// Dockerfile) and tags it tag (e.g. "web:v2"), writing the build's output lines to out as
// they come. An error ends with the last lines of the output and what failed.
func (d *Driver) Build(ctx context.Context, contextDir, dockerfile, tag string, out io.Writer) error {
	return errTODO
}

// ImageExists reports whether ref (e.g. "web:v2") is present in the engine.
func (d *Driver) ImageExists(ctx context.Context, ref string) (bool, error) { return false, errTODO }
