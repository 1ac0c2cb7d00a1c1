//go:build unix

// Package procgroup starts a command as the leader of its own process group, so that it and
// every process it starts can be killed together: hooks, pipeline stages and git.
package procgroup

import (
	"errors"
	"os"
	"syscall"
)

// Group makes a command the leader of a new process group.
func Group() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// Session starts a command in a session of its own: with no controlling terminal nothing it
// runs (ssh asking for a passphrase or a host key) can prompt, and its process group holds
// everything it starts.
func Session() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// Kill sends SIGKILL to the process group p leads. A group already gone is reported as
// os.ErrProcessDone, which exec takes as "already finished".
func Kill(p *os.Process) error {
	if p == nil {
		return nil
	}
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
