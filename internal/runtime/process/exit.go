package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/runtime"
)

// maxEnded bounds the exit records a Driver keeps in memory; the oldest go first.
const maxEnded = 1024

// record is what a Driver remembers of one instance: its own children, and the instances it
// stopped (so Status can say how they ended).
type record struct {
	h    handle
	own  bool          // a child of this process, waited for by Driver.wait
	done chan struct{} // closed once status is final

	// Guarded by Driver.mu.
	stopNote string // what Stop did, e.g. "SIGTERM, then SIGKILL after the 5s grace"

	// Written before done is closed; read after.
	status  runtime.Status
	endedAt time.Time
}

func (r *record) isDone() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait reaps the child, records how it ended and forgets its instance file.
func (d *Driver) wait(id string, cmd *exec.Cmd, r *record) {
	err := cmd.Wait()
	st := exitStatus(cmd.ProcessState, err)
	// Forget the instance file before anyone can see the end: once Status reports the exit,
	// List and a restarted cutover no longer find it.
	d.forget(id, r.h)
	d.mu.Lock()
	if r.stopNote != "" {
		st.Reason += " (stopped by cutover: " + r.stopNote + ")"
	}
	r.status, r.endedAt = st, time.Now()
	close(r.done)
	d.pruneLocked()
	d.mu.Unlock()
	d.log.Info("process: instance ended", "instance", id, "pid", r.h.PID, "reason", st.Reason)
}

// exitStatus translates what cmd.Wait returned.
func exitStatus(ps *os.ProcessState, waitErr error) runtime.Status {
	if ps == nil {
		return runtime.Status{ExitCode: -1, Reason: fmt.Sprintf("exit status unknown: %v", waitErr)}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		name := signalName(ws.Signal())
		st := runtime.Status{ExitCode: -1, Signal: name, Reason: "killed by " + name}
		if ws.CoreDump() {
			st.Reason += " (core dumped)"
		}
		return st
	case ok && ws.Exited():
		return runtime.Status{ExitCode: ws.ExitStatus(), Reason: fmt.Sprintf("exited with code %d", ws.ExitStatus())}
	default:
		return runtime.Status{ExitCode: -1, Reason: "exit status unknown: " + ps.String()}
	}
}

// adoptedEnd is the status of an instance that ended while not a child of this process.
func adoptedEnd(stopNote string) runtime.Status {
	reason := "exited"
	if stopNote != "" {
		reason = "stopped by cutover: " + stopNote
	}
	return runtime.Status{ExitCode: -1, Reason: reason +
		"; exit code unknown: the process was not started by this cutover process"}
}

// pruneLocked drops the oldest exit records beyond maxEnded. d.mu must be held.
func (d *Driver) pruneLocked() {
	var ended []string
	for id, r := range d.records {
		if r.isDone() {
			ended = append(ended, id)
		}
	}
	if len(ended) <= maxEnded {
		return
	}
	sort.Slice(ended, func(i, j int) bool { return d.records[ended[i]].endedAt.Before(d.records[ended[j]].endedAt) })
	for _, id := range ended[:len(ended)-maxEnded] {
		delete(d.records, id)
	}
}

// leaderState says what became of an instance's first process.
type leaderState int

const (
	leaderGone   leaderState = iota // no such process, or only its zombie
	leaderAlive                     // the very process the handle names
	leaderReused                    // the PID belongs to another process now
)

type leaderInfo struct {
	state leaderState
	pgrp  int // its current process group, when alive
}

// leader checks h's process in /proc. An unreadable /proc counts as gone: better report an
// instance dead than signal a process that may not be it.
func (d *Driver) leader(h handle) leaderInfo {
	if h.BootID != "" && d.bootID != "" && h.BootID != d.bootID {
		return leaderInfo{state: leaderReused} // the machine rebooted since
	}
	st, err := readStat(h.PID)
	switch {
	case errors.Is(err, errNoProcess):
		return leaderInfo{state: leaderGone}
	case err != nil:
		d.log.Warn("process: cannot read process state", "pid", h.PID, "err", err)
		return leaderInfo{state: leaderGone}
	case st.StartTicks != h.StartTicks:
		return leaderInfo{state: leaderReused}
	case st.exited():
		return leaderInfo{state: leaderGone}
	}
	return leaderInfo{state: leaderAlive, pgrp: st.PGRP}
}

// groupRunning reports whether any process of h's group still runs. If h's PID now belongs
// to another process, the group is gone: the kernel never reuses a PID while a process group
// of that ID exists.
func (d *Driver) groupRunning(h handle) (bool, error) {
	switch d.leader(h).state {
	case leaderAlive:
		return true, nil
	case leaderReused:
		return false, nil
	}
	return groupHasLiveMember(h.PGID)
}
