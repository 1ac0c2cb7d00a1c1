//go:build !unix

package hooks

import (
	"os"
	"syscall"
)

// newProcessGroup has no process groups to create on this platform.
func newProcessGroup() *syscall.SysProcAttr { return nil }

// killGroup kills only p itself: without process groups its children may survive it.
func killGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	return p.Kill()
}
