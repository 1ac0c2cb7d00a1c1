//go:build unix

package gitsrc

import (
	"errors"
	"os"
	"syscall"
)

// newSession starts git in a session of its own: with no controlling terminal nothing it
// runs (ssh asking for a passphrase or a host key) can prompt, and its process group holds
// everything it starts, to be killed together.
func newSession() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// killSession sends SIGKILL to the process group p leads. A group already gone is reported
// as os.ErrProcessDone, which exec takes as "already finished".
func killSession(p *os.Process) error {
	if p == nil {
		return nil
	}
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
