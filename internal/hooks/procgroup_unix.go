//go:build unix

package hooks

import (
	"errors"
	"os"
	"syscall"
)

// newProcessGroup makes a command the leader of a new process group, so that it and every
// process it starts can be killed together.
func newProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup sends SIGKILL to the process group p leads. A group that no longer exists is not
// an error worth reporting: os.ErrProcessDone tells exec the process already finished.
func killGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
