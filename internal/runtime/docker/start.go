package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

// defaultPort is the container port when ContainerSpec.Port is 0.
const defaultPort = 8080

// staleCreated is how old a created but never started container must be before Start or
// List take it for the remains of a crashed Start rather than a Start in progress.
const staleCreated = time.Minute

// handle is Instance.Handle.
type handle struct {
	ContainerID string `json:"container_id"`
	Name        string `json:"name"`
}

func decodeHandle(in runtime.Instance) (handle, error) {
	var h handle
	if len(in.Handle) == 0 {
		return h, nil
	}
	if err := json.Unmarshal(in.Handle, &h); err != nil {
		return h, fmt.Errorf("bad handle %q: %w", in.Handle, err)
	}
	return h, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// Start creates and starts the instance's container as the package comment describes, and
// returns once it runs. ctx bounds the launch only.
func (d *Driver) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return runtime.Instance{}, fmt.Errorf("docker: start %s: invalid spec: %w", spec.ID, err)
	}
	cs := runtime.ContainerSpec{}
	if spec.Container != nil {
		cs = *spec.Container
	}
	if cs.Port == 0 {
		cs.Port = defaultPort
	}
	port, _ := network.PortFrom(uint16(cs.Port), network.TCP)
	startedAt := time.Now()
	name := d.containerName(spec.ID)
	opts := client.ContainerCreateOptions{
		Name:   name,
		Config: d.config(spec, cs, port, startedAt),
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode(cs.Network),
			PortBindings: network.PortMap{port: {{
				HostIP: netip.MustParseAddr(d.bindIP), HostPort: "",
			}}},
			Resources: container.Resources{Memory: cs.MemoryBytes, MemorySwap: swapLimit(cs.MemoryBytes), NanoCPUs: cs.NanoCPUs},
		},
	}
	created, err := d.cli.ContainerCreate(ctx, opts)
	if isConflict(err) {
		// A container of this name exists: refuse if it runs, else reap it and try once more.
		if err = d.clearName(ctx, spec.ID); err == nil {
			created, err = d.cli.ContainerCreate(ctx, opts)
		}
	}
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("docker: start %s: create container from image %s: %w", spec.ID, spec.Image, d.engineErr(err))
	}
	abort := func(err error) (runtime.Instance, error) {
		// Not bound to ctx, which may be what ended: the container must not be left behind.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, rerr := d.cli.ContainerRemove(rctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !isNotFound(rerr) {
			d.log.Warn("docker: cannot remove the container of a failed start", "instance", spec.ID, "container", created.ID, "err", rerr)
		}
		return runtime.Instance{}, fmt.Errorf("docker: start %s: %w", spec.ID, err)
	}
	if _, err := d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return abort(fmt.Errorf("start container %s from image %s: %w", name, spec.Image, d.engineErr(err)))
	}
	ins, err := d.cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		return abort(fmt.Errorf("inspect container %s: %w", name, d.engineErr(err)))
	}
	in := runtime.Instance{
		ID:        spec.ID,
		App:       spec.App,
		Release:   spec.Release,
		Addr:      d.addr(ins.Container.NetworkSettings, cs, port),
		Driver:    Name,
		Handle:    mustJSON(handle{ContainerID: created.ID, Name: name}),
		StartedAt: startedAt,
	}
	d.log.Info("docker: started instance", "instance", spec.ID, "app", spec.App, "release", spec.Release,
		"container", created.ID[:min(12, len(created.ID))], "image", spec.Image, "addr", in.Addr)
	return in, nil
}

func validateSpec(spec runtime.InstanceSpec) error {
	errs := []error{spec.Validate()}
	if spec.Image == "" {
		errs = append(errs, errors.New("image: must name an image"))
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(spec.Env[k], 0) {
			errs = append(errs, fmt.Errorf("env[%q]: names must be non-empty without '=' or NUL, values without NUL", k))
		}
	}
	if c := spec.Container; c != nil {
		if c.Port < 0 || c.Port > 65535 {
			errs = append(errs, fmt.Errorf("container.port: %d: must be between 1 and 65535", c.Port))
		}
		if c.MemoryBytes < 0 {
			errs = append(errs, fmt.Errorf("container.memory_bytes: %d: must not be negative", c.MemoryBytes))
		}
		if c.NanoCPUs < 0 {
			errs = append(errs, fmt.Errorf("container.nano_cpus: %d: must not be negative", c.NanoCPUs))
		}
	}
	return errors.Join(errs...)
}

// config is the container's configuration: image, command, environment and labels.
func (d *Driver) config(spec runtime.InstanceSpec, cs runtime.ContainerSpec, port network.Port, startedAt time.Time) *container.Config {
	vars := map[string]string{}
	maps.Copy(vars, spec.Env)
	vars[runtime.EnvPort] = strconv.Itoa(cs.Port)
	vars[runtime.EnvApp] = spec.App
	vars[runtime.EnvVersion] = spec.Release
	vars[runtime.EnvInstance] = spec.ID
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return &container.Config{
		Image:        spec.Image,
		Cmd:          expand(spec.Argv, vars),
		Entrypoint:   expand(cs.Entrypoint, vars),
		Env:          env,
		ExposedPorts: network.PortSet{port: {}},
		Labels: map[string]string{
			labelOwner:    d.owner,
			labelApp:      spec.App,
			labelRelease:  spec.Release,
			labelInstance: spec.ID,
			labelPort:     strconv.Itoa(cs.Port),
			labelStarted:  startedAt.Format(time.RFC3339Nano),
		},
	}
}

// expand replaces $NAME and ${NAME} of vars in args, leaving any other $NAME as written: no
// shell runs the command to do it.
func expand(args []string, vars map[string]string) []string {
	if len(args) == 0 {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = os.Expand(a, func(name string) string {
			if v, ok := vars[name]; ok {
				return v
			}
			return "$" + name
		})
	}
	return out
}

// swapLimit is the memory+swap limit for a memory limit: no swap beyond the limit, so the
// limit is what the app gets.
func swapLimit(memory int64) int64 {
	if memory <= 0 {
		return 0
	}
	return memory
}

// addr is the host:port the container port is published at. A container that already
// ended has no published ports: its Addr then has port 0, which refuses connections.
func (d *Driver) addr(ns *container.NetworkSettings, cs runtime.ContainerSpec, port network.Port) string {
	if cs.Network == "host" {
		return net.JoinHostPort(d.addrHost, strconv.Itoa(cs.Port))
	}
	if ns != nil {
		for _, b := range ns.Ports[port] {
			if b.HostPort != "" && b.HostPort != "0" {
				return net.JoinHostPort(d.addrHost, b.HostPort)
			}
		}
	}
	return net.JoinHostPort(d.addrHost, "0")
}

// clearName makes way for a new container of instance id: it fails if the existing one runs
// or may be being started, and reaps it (keeping its status and logs) if it ended.
func (d *Driver) clearName(ctx context.Context, id string) error {
	ins, err := d.cli.ContainerInspect(ctx, d.containerName(id), client.ContainerInspectOptions{})
	if isNotFound(err) {
		return nil // gone since
	}
	if err != nil {
		return d.engineErr(err)
	}
	c := ins.Container
	if c.Config == nil || c.Config.Labels[labelOwner] != d.owner {
		return fmt.Errorf("container %s exists and does not belong to this cutover (label %s)", d.containerName(id), labelOwner)
	}
	switch {
	case c.State != nil && (c.State.Running || c.State.Paused || c.State.Restarting):
		return fmt.Errorf("instance %s is already running (container %s)", id, shortID(c.ID))
	case c.State != nil && c.State.Status == container.StateCreated && !createdBefore(c.Created, time.Now().Add(-staleCreated)):
		return fmt.Errorf("instance %s is already being started (container %s)", id, shortID(c.ID))
	}
	return d.reap(ctx, c, false, 0)
}

// createdBefore reports whether the engine's Created timestamp is before t; an unreadable one
// counts as old.
func createdBefore(created string, t time.Time) bool {
	ct, err := time.Parse(time.RFC3339Nano, created)
	return err != nil || ct.Before(t)
}

func shortID(id string) string { return id[:min(12, len(id))] }
