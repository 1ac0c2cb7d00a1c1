package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

// lookup finds the instance's container, or the record of it this driver kept when it
// removed it. The container is taken from the handle when there is one, else by name; a
// container of another owner or another instance counts as absent. A handle whose container
// no longer exists yields a record that only says so (gone). The error wraps
// runtime.ErrNotFound when there is nothing.
func (d *Driver) lookup(ctx context.Context, in runtime.Instance) (*container.InspectResponse, *ended, error) {
	if in.Driver != "" && in.Driver != Name {
		return nil, nil, fmt.Errorf("it belongs to driver %q", in.Driver)
	}
	h, err := decodeHandle(in)
	if err != nil {
		return nil, nil, err
	}
	if !validContainerID(h.ContainerID) || h.ContainerID == "" && runtime.ValidateID(in.ID) != nil {
		return nil, nil, runtime.ErrNotFound
	}
	if h.ContainerID != "" {
		if rec := d.endedRecord(in.ID, h.ContainerID); rec != nil {
			return nil, rec, nil
		}
	}
	ref := h.ContainerID
	if ref == "" {
		ref = d.containerName(in.ID)
	}
	c, exists, err := d.inspect(ctx, ref, in.ID)
	switch {
	case err != nil:
		return nil, nil, err
	case c != nil:
		return c, nil, nil
	}
	if rec := d.endedRecord(in.ID, h.ContainerID); rec != nil {
		return nil, rec, nil // reaped between the first look and the inspect
	}
	if h.ContainerID != "" && !exists {
		return nil, &ended{instanceID: in.ID, gone: true, status: runtime.Status{ExitCode: -1,
			Reason: "ended; its container " + shortID(h.ContainerID) + " is gone (removed by an earlier cutover process or outside cutover), so how it ended is unknown"}}, nil
	}
	return nil, nil, runtime.ErrNotFound
}

// validContainerID accepts what the engine hands out (hex), so a handle can never make the
// driver address anything but a container.
func validContainerID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return len(id) <= 64
}

// inspect returns the container ref if it is instance id's of this owner. exists reports
// whether ref exists at all, of whomever it is.
func (d *Driver) inspect(ctx context.Context, ref, id string) (c *container.InspectResponse, exists bool, err error) {
	res, err := d.cli.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inspect container %s: %w", ref, d.engineErr(err))
	}
	r := res.Container
	if r.Config == nil || r.State == nil || r.Config.Labels[labelOwner] != d.owner || r.Config.Labels[labelInstance] != id {
		return nil, true, nil
	}
	return &r, true, nil
}

// Stop stops the container (ContainerStop: SIGTERM, then SIGKILL after grace rounded up to
// whole seconds), keeps its final status and last log lines, and removes it. Stopping an
// instance that ended, was stopped or is unknown returns nil.
func (d *Driver) Stop(ctx context.Context, in runtime.Instance, grace time.Duration) error {
	c, rec, err := d.lookup(ctx, in)
	if errors.Is(err, runtime.ErrNotFound) || rec != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("docker: stop %s: %w", in.ID, err)
	}
	stopped, secs := false, max(0, int(math.Ceil(grace.Seconds())))
	if isRunning(c.State) {
		_, err := d.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &secs})
		if isNotFound(err) {
			return nil // removed meanwhile: a concurrent Stop
		}
		if err != nil {
			return fmt.Errorf("docker: stop %s: stop container %s: %w", in.ID, shortID(c.ID), d.engineErr(err))
		}
		stopped = true
		if c, _, err = d.inspect(ctx, c.ID, in.ID); err != nil {
			return fmt.Errorf("docker: stop %s: %w", in.ID, err)
		} else if c == nil {
			return nil
		}
	}
	if err := d.reap(ctx, *c, stopped, time.Duration(secs)*time.Second); err != nil {
		return fmt.Errorf("docker: stop %s: %w", in.ID, err)
	}
	return nil
}

// Status reports the container's state; for a container this driver removed, its final one.
func (d *Driver) Status(ctx context.Context, in runtime.Instance) (runtime.Status, error) {
	c, rec, err := d.lookup(ctx, in)
	if err != nil {
		return runtime.Status{}, fmt.Errorf("docker: status of %q: %w", in.ID, err)
	}
	if rec != nil {
		return rec.status, nil
	}
	return d.settleOOM(ctx, in, *c), nil
}

// oomSettle bounds how long Status waits for the engine to flag a fresh SIGKILL of a
// memory-limited container as an OOM kill: the engine learns of it from a separate event,
// which a loaded machine may deliver after the exit itself.
const oomSettle = time.Second

// settleOOM reports c's status, first re-reading a container that was just killed by SIGKILL
// under a memory limit until the engine sets OOMKilled or oomSettle passes.
func (d *Driver) settleOOM(ctx context.Context, in runtime.Instance, c container.InspectResponse) runtime.Status {
	deadline := time.Now().Add(oomSettle)
	for {
		st := statusOf(c)
		if st.Running || st.Signal != "SIGKILL" || c.State == nil || c.State.OOMKilled ||
			c.HostConfig == nil || c.HostConfig.Memory == 0 || !time.Now().Before(deadline) {
			return st
		}
		if fin, err := time.Parse(time.RFC3339Nano, c.State.FinishedAt); err != nil || time.Since(fin) > 5*time.Second {
			return st // an old exit: the flag would have arrived long ago
		}
		select {
		case <-ctx.Done():
			return st
		case <-time.After(100 * time.Millisecond):
		}
		next, rec, err := d.lookup(ctx, in)
		if err != nil || rec != nil {
			return st
		}
		c = *next
	}
}

// List returns the running containers of this owner, oldest first. It reaps the ended ones
// (their status and logs stay available through Status and Logs of this driver): nobody
// else would after a restart of cutover.
func (d *Driver) List(ctx context.Context) ([]runtime.Instance, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", labelOwner+"="+d.owner),
	})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", d.engineErr(err))
	}
	var out []runtime.Instance
	for _, c := range res.Items {
		id := c.Labels[labelInstance]
		if c.Labels[labelOwner] != d.owner || id == "" {
			continue
		}
		switch c.State {
		case container.StateRunning, container.StatePaused, container.StateRestarting:
			out = append(out, d.instanceOf(c))
		case container.StateCreated:
			if !time.Unix(c.Created, 0).Before(time.Now().Add(-staleCreated)) {
				continue // perhaps being started
			}
			fallthrough
		case container.StateExited, container.StateDead:
			if ins, _, err := d.inspect(ctx, c.ID, id); err != nil || ins == nil {
				d.log.Warn("docker: cannot reap an ended container", "instance", id, "container", shortID(c.ID), "err", err)
			} else if err := d.reap(ctx, *ins, false, 0); err != nil {
				d.log.Warn("docker: cannot reap an ended container", "instance", id, "container", shortID(c.ID), "err", err)
			}
		}
	}
	slices.SortFunc(out, func(a, b runtime.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// instanceOf restores the Instance that Start returned from a listed container.
func (d *Driver) instanceOf(c container.Summary) runtime.Instance {
	port, _ := strconv.Atoi(c.Labels[labelPort])
	started, err := time.Parse(time.RFC3339Nano, c.Labels[labelStarted])
	if err != nil {
		started = time.Unix(c.Created, 0)
	}
	name := d.containerName(c.Labels[labelInstance])
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	addr := net.JoinHostPort(d.addrHost, "0")
	if c.HostConfig.NetworkMode == "host" {
		addr = net.JoinHostPort(d.addrHost, strconv.Itoa(port))
	}
	for _, p := range c.Ports {
		if int(p.PrivatePort) == port && p.PublicPort != 0 && p.Type == "tcp" {
			addr = net.JoinHostPort(d.addrHost, strconv.Itoa(int(p.PublicPort)))
			break
		}
	}
	return runtime.Instance{
		ID:        c.Labels[labelInstance],
		App:       c.Labels[labelApp],
		Release:   c.Labels[labelRelease],
		Addr:      addr,
		Driver:    Name,
		Handle:    mustJSON(handle{ContainerID: c.ID, Name: name}),
		StartedAt: started,
	}
}

// Logs returns the last lines of the container's combined stdout and stderr; for a container
// this driver removed, of the last keptLogLines lines it kept.
func (d *Driver) Logs(ctx context.Context, in runtime.Instance, lines int) ([]string, error) {
	c, rec, err := d.lookup(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("docker: logs of %q: %w", in.ID, err)
	}
	if rec != nil && rec.gone {
		return nil, fmt.Errorf("docker: logs of %s: its container is gone: %w", in.ID, runtime.ErrNotFound)
	}
	if rec != nil {
		return tail(rec.logs, lines), nil
	}
	out, err := d.containerLogs(ctx, c.ID, lines)
	if isNotFound(err) { // reaped since the lookup
		if rec := d.endedRecord(in.ID, c.ID); rec != nil {
			return tail(rec.logs, lines), nil
		}
		return nil, fmt.Errorf("docker: logs of %s: %w", in.ID, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("docker: logs of %s: %w", in.ID, err)
	}
	return out, nil
}

func isRunning(st *container.State) bool {
	return st != nil && (st.Running || st.Paused || st.Restarting)
}

// isNotFound and isConflict classify the client's errors, which match containerd's errdefs
// (the client's documented way).
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

func isConflict(err error) bool { return cerrdefs.IsConflict(err) }
