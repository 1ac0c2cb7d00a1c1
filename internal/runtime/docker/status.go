package docker

import (
	"fmt"
	"math"
	"strconv"
	"syscall"

	"github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/cutover/cutover/internal/runtime"
)

// statusOf translates the engine's state of a container.
func statusOf(c container.InspectResponse) runtime.Status {
	st := c.State
	switch {
	case st == nil:
		return runtime.Status{ExitCode: -1, Reason: "state unknown: the engine reported none"}
	case isRunning(st):
		return runtime.Status{Running: true}
	case st.Status == container.StateCreated:
		return withError(runtime.Status{ExitCode: -1, Reason: "created but never started"}, st.Error)
	case st.OOMKilled:
		var limit int64
		if c.HostConfig != nil {
			limit = c.HostConfig.Memory
		}
		reason := "killed: out of memory"
		if limit > 0 {
			reason += " (limit " + formatBytes(limit) + ")"
		}
		return runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: reason}
	}
	if sig, ok := exitSignal(st.ExitCode); ok {
		return withError(runtime.Status{ExitCode: -1, Signal: sig, Reason: "killed by " + sig}, st.Error)
	}
	return withError(runtime.Status{ExitCode: st.ExitCode, Reason: fmt.Sprintf("exited with code %d", st.ExitCode)}, st.Error)
}

// withError adds the engine's error (e.g. the entrypoint was not found) to the reason.
func withError(s runtime.Status, engineErr string) runtime.Status {
	if engineErr != "" {
		s.Reason += ": " + engineErr
	}
	return s
}

// exitSignal reads an exit code above 128 as 128+signal, the engine's way of reporting a
// process killed by a signal. A process that exits with such a code itself is
// indistinguishable.
func exitSignal(code int) (string, bool) {
	n := code - 128
	if n < 1 || n > 64 {
		return "", false
	}
	if name := unix.SignalName(syscall.Signal(n)); name != "" {
		return name, true
	}
	return "SIG" + strconv.Itoa(n), true
}

// formatBytes writes a memory limit the way people set it: "64 MiB", "1.5 GiB", "1000 B".
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
