package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procRoot is where the proc filesystem is mounted.
const procRoot = "/proc"

// procStat is the part of /proc/<pid>/stat the driver needs.
type procStat struct {
	State      byte   // field 3: R, S, D, Z, X, ...
	PGRP       int    // field 5: process group ID
	StartTicks uint64 // field 22: start time after boot, in clock ticks
}

// exited reports whether the process has terminated and only its zombie entry remains.
func (s procStat) exited() bool { return s.State == 'Z' || s.State == 'X' }

// errNoProcess reports that no process has the PID.
var errNoProcess = errors.New("no such process")

// readStat reads /proc/<pid>/stat. It returns an error wrapping errNoProcess if there is no
// such process.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return procStat{}, fmt.Errorf("pid %d: %w", pid, errNoProcess)
		}
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStat parses the content of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so the fields after it are
// found from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc stat: no ')' in %q", b)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	const want = 22 - 3 + 1
	if len(f) < want {
		return procStat{}, fmt.Errorf("parse /proc stat: %d fields after the name, want at least %d", len(f), want)
	}
	if len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parse /proc stat: state %q", f[0])
	}
	pgrp, err := strconv.Atoi(f[5-3])
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat: pgrp: %w", err)
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat: starttime: %w", err)
	}
	return procStat{State: f[0][0], PGRP: pgrp, StartTicks: start}, nil
}

// readBootID returns the kernel's boot ID, which changes at every boot: start times in clock
// ticks are only comparable within one boot.
func readBootID() string {
	b, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// groupHasLiveMember reports whether a process other than a zombie has process group pgid.
// It scans /proc, so it finds members even after the group leader is gone.
func groupHasLiveMember(pgid int) (bool, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return false, fmt.Errorf("scan %s: %w", procRoot, err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue // gone meanwhile, or unreadable: not ours to judge
		}
		if st.PGRP == pgid && !st.exited() {
			return true, nil
		}
	}
	return false, nil
}

// signalNames names the signals a process may die of.
var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGALRM: "SIGALRM", syscall.SIGBUS: "SIGBUS",
	syscall.SIGFPE: "SIGFPE", syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL",
	syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGPROF: "SIGPROF", syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV",
	syscall.SIGSYS: "SIGSYS", syscall.SIGTERM: "SIGTERM", syscall.SIGTRAP: "SIGTRAP",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGVTALRM: "SIGVTALRM",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSTKFLT: "SIGSTKFLT",
	syscall.SIGPWR: "SIGPWR",
}

func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return "SIG" + strconv.Itoa(int(s))
}
