package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/runtime"
)

const (
	stopPoll = 20 * time.Millisecond // how often Stop looks whether the group is gone
	killWait = 10 * time.Second      // how long a SIGKILLed group may take to go
)

// lookup finds what the driver knows of in: its handle (from in.Handle, else from memory or
// the instance file by ID) and its record if this Driver has one for that very process. The
// error wraps runtime.ErrNotFound if there is no handle anywhere.
func (d *Driver) lookup(in runtime.Instance) (handle, *record, error) {
	if in.Driver != "" && in.Driver != Name {
		return handle{}, nil, fmt.Errorf("process: instance %s belongs to driver %q", in.ID, in.Driver)
	}
	var h handle
	have := len(in.Handle) > 0
	if have {
		var err error
		if h, err = decodeHandle(in); err != nil {
			return handle{}, nil, err
		}
	}
	d.mu.Lock()
	r := d.records[in.ID]
	d.mu.Unlock()
	switch {
	case r != nil && (!have || r.h.same(h)):
		return r.h, r, nil
	case have:
		return h, nil, nil
	case runtime.ValidateID(in.ID) != nil:
		return handle{}, nil, fmt.Errorf("process: instance %q: %w", in.ID, runtime.ErrNotFound)
	}
	rec, err := d.readInstance(in.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return handle{}, nil, fmt.Errorf("process: instance %s: %w", in.ID, runtime.ErrNotFound)
	}
	if err != nil {
		return handle{}, nil, fmt.Errorf("process: instance %s: %w", in.ID, err)
	}
	h, err = decodeHandle(rec)
	return h, nil, err
}

// Stop sends SIGTERM to the instance's process group, waits up to grace for every process
// of the group to go, then sends SIGKILL and waits for them to go. It never signals a PID
// whose start time differs from the recorded one.
func (d *Driver) Stop(ctx context.Context, in runtime.Instance, grace time.Duration) error {
	h, r, err := d.lookup(in)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var done <-chan struct{}
	if r != nil {
		done = r.done
	}
	running, err := d.groupRunning(h)
	if err != nil {
		return fmt.Errorf("process: stop %s: %w", in.ID, err)
	}
	if !running {
		return d.finish(ctx, in.ID, h, r, "")
	}

	note := "SIGTERM"
	d.noteStop(r, note)
	if err := d.signal(h, syscall.SIGTERM); err != nil {
		return fmt.Errorf("process: stop %s: %w", in.ID, err)
	}
	gone, err := d.waitGone(ctx, h, done, grace)
	if err != nil {
		return fmt.Errorf("process: stop %s: waiting after SIGTERM: %w", in.ID, err)
	}
	if !gone {
		note = fmt.Sprintf("SIGTERM, then SIGKILL after the %v grace", grace)
		d.noteStop(r, note)
		d.log.Info("process: instance outlived its grace; killing it", "instance", in.ID, "pid", h.PID, "grace", grace)
		if err := d.signal(h, syscall.SIGKILL); err != nil {
			return fmt.Errorf("process: stop %s: %w", in.ID, err)
		}
		gone, err = d.waitGone(ctx, h, done, killWait)
		if err != nil {
			return fmt.Errorf("process: stop %s: waiting after SIGKILL: %w", in.ID, err)
		}
		if !gone {
			return fmt.Errorf("process: stop %s: process group %d still runs %v after SIGKILL", in.ID, h.PGID, killWait)
		}
	}
	if err := d.finish(ctx, in.ID, h, r, note); err != nil {
		return err
	}
	d.log.Info("process: stopped instance", "instance", in.ID, "pid", h.PID, "how", note)
	return nil
}

// finish completes a Stop whose instance is gone: for a child of this Driver it waits for
// the exit status (moments away), so a Status right after Stop reports it; then it forgets
// the instance file and records the end.
func (d *Driver) finish(ctx context.Context, id string, h handle, r *record, note string) error {
	if r != nil && r.own {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("process: stop %s: waiting for its exit status: %w", id, ctx.Err())
		}
	}
	d.ended(id, h, r, note)
	return nil
}

// noteStop tells the exit record what Stop did, so the exit reason can say so.
func (d *Driver) noteStop(r *record, note string) {
	if r == nil {
		return
	}
	d.mu.Lock()
	r.stopNote = note
	d.mu.Unlock()
}

// ended forgets the instance file of an instance found gone. For an instance that was not
// this process's child, it keeps an exit record so Status can say Stop ended it.
func (d *Driver) ended(id string, h handle, r *record, stopNote string) {
	d.forget(id, h)
	if r != nil && r.own {
		return // its wait goroutine records the exit
	}
	if r != nil && r.isDone() {
		return
	}
	done := make(chan struct{})
	close(done)
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.records[id]; cur != nil && !cur.isDone() {
		return // a new instance with this ID runs
	}
	d.records[id] = &record{h: h, done: done, status: adoptedEnd(stopNote), endedAt: time.Now()}
	d.pruneLocked()
}

// signal sends sig to h's process group, and to its leader should that have left the group.
func (d *Driver) signal(h handle, sig syscall.Signal) error {
	l := d.leader(h)
	if l.state == leaderReused {
		return nil
	}
	if err := syscall.Kill(-h.PGID, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("signal process group %d: %w", h.PGID, err)
	}
	if l.state == leaderAlive && l.pgrp != h.PGID {
		if err := syscall.Kill(h.PID, sig); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("signal pid %d: %w", h.PID, err)
		}
	}
	return nil
}

// waitGone polls until no process of h's group runs (true), limit passes (false) or ctx
// ends (error). done, if not nil, wakes it as soon as the leader has been reaped.
func (d *Driver) waitGone(ctx context.Context, h handle, done <-chan struct{}, limit time.Duration) (bool, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		running, err := d.groupRunning(h)
		if err != nil {
			return false, err
		}
		if !running {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			running, err := d.groupRunning(h)
			return !running, err
		case <-done:
			done = nil
		case <-tick.C:
		}
	}
}

// Status reports whether the instance's first process runs. For a child of this Driver that
// ended, it reports the exit code or signal; for another process only that it ended.
func (d *Driver) Status(ctx context.Context, in runtime.Instance) (runtime.Status, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Status{}, err
	}
	h, r, err := d.lookup(in)
	if err != nil {
		return runtime.Status{}, err
	}
	if r != nil {
		select {
		case <-r.done:
			return r.status, nil
		default:
			if r.own {
				return runtime.Status{Running: true}, nil
			}
		}
	}
	if d.leader(h).state == leaderAlive {
		return runtime.Status{Running: true}, nil
	}
	d.forget(in.ID, h)
	return adoptedEnd(""), nil
}

// List returns the recorded instances whose first process still runs, oldest first, and
// forgets the others.
func (d *Driver) List(ctx context.Context) ([]runtime.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	recs, err := d.readInstances()
	if err != nil {
		return nil, fmt.Errorf("process: list: %w", err)
	}
	var out []runtime.Instance
	recorded := map[int]bool{}
	for _, in := range recs {
		h, err := decodeHandle(in)
		if err != nil {
			d.log.Warn("process: skipping instance file with a bad handle", "instance", in.ID, "err", err)
			continue
		}
		recorded[h.PID] = true
		switch d.leader(h).state {
		case leaderAlive:
			out = append(out, in)
		case leaderReused:
			d.log.Info("process: forgetting instance whose PID now belongs to another process", "instance", in.ID, "pid", h.PID)
			d.forget(in.ID, h)
		default:
			d.forget(in.ID, h)
		}
	}
	d.reapOrphans(recorded)
	slices.SortFunc(out, func(a, b runtime.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Logs returns the last lines of StateDir/logs/<ID>.log. It reads the file from its end, so
// its cost does not grow with the size of the log. The log outlives the instance.
func (d *Driver) Logs(ctx context.Context, in runtime.Instance, lines int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.Driver != "" && in.Driver != Name {
		return nil, fmt.Errorf("process: instance %s belongs to driver %q", in.ID, in.Driver)
	}
	if runtime.ValidateID(in.ID) != nil {
		return nil, fmt.Errorf("process: logs of %q: %w", in.ID, runtime.ErrNotFound)
	}
	// The path is derived from the ID, not taken from the handle, so a handle can never make
	// the driver read another file.
	out, err := tailLines(d.logPath(in.ID), lines)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("process: logs of %s: %w", in.ID, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("process: logs of %s: %w", in.ID, err)
	}
	return out, nil
}
