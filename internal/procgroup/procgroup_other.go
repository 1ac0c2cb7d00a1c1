//go:build !unix

// Package procgroup starts a command as the leader of its own process group, so that it and
// every process it starts can be killed together: hooks, pipeline stages and git.
package procgroup

import (
	"os"
	"syscall"
)

// Group has no process groups to create on this platform.
func Group() *syscall.SysProcAttr { return nil }

// Session has no sessions to create on this platform.
func Session() *syscall.SysProcAttr { return nil }

// Kill kills only p itself: without process groups its children may survive it.
func Kill(p *os.Process) error {
	if p == nil {
		return nil
	}
	return p.Kill()
}
