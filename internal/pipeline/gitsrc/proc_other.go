//go:build !unix

package gitsrc

import (
	"os"
	"syscall"
)

// newSession has no sessions to create on this platform.
func newSession() *syscall.SysProcAttr { return nil }

// killSession kills only p itself: without process groups what git started may survive it.
func killSession(p *os.Process) error {
	if p == nil {
		return nil
	}
	return p.Kill()
}
