package routerctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/handoff"
)

// startTimeout bounds how long a router process may take to answer after it is started.
const startTimeout = 15 * time.Second

// Ensure returns a client for the router serving dataDir, starting one when none answers:
// `exe router --data-dir dataDir args...`, in its own session so that it outlives the
// caller, with its output appended to dataDir/router.log. started says whether it did.
func Ensure(ctx context.Context, dataDir, exe string, args []string, log *slog.Logger) (c *Client, st Status, started bool, err error) {
	return ensure(ctx, dataDir, exe, args, nil, log)
}

// ensure is Ensure handing a new process the listening sockets held (by handoff name), as
// an upgrade does: it serves them, with the connections the kernel queued meanwhile.
func ensure(ctx context.Context, dataDir, exe string, args []string, held map[string]*os.File, log *slog.Logger) (c *Client, st Status, started bool, err error) {
	c = NewClient(SocketPath(dataDir), log)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	st, err = c.Ping(pctx)
	cancel()
	if err == nil {
		return c, st, false, nil
	}
	logPath := filepath.Join(dataDir, LogFile)
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, st, false, fmt.Errorf("open the router log: %w", err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(exe, append([]string{"router", "--data-dir", dataDir}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var ready *os.File
	if len(held) > 0 {
		if ready, err = handoff.Prepare(cmd, held); err != nil {
			return nil, st, false, err
		}
		defer ready.Close()
	}
	err = cmd.Start()
	handoff.Started(cmd)
	if err != nil {
		return nil, st, false, fmt.Errorf("start the router process %s: %w", exe, err)
	}
	if ready != nil { // it says ready once it serves; its Ready would fail on a closed pipe
		go func() { _, _ = io.Copy(io.Discard, ready) }()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it dies while we run
	deadline := time.Now().Add(startTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err = c.Ping(pctx)
		cancel()
		if err == nil {
			log.Info("router process started", "pid", st.PID, "log", logPath)
			return c, st, true, nil
		}
		select {
		case werr := <-exited:
			return nil, st, false, fmt.Errorf("the router process exited at start (%v): %s", werr, tail(logPath))
		case <-ctx.Done():
			return nil, st, false, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, st, false, fmt.Errorf("the router process did not answer within %s: %s", startTimeout, tail(logPath))
		}
	}
}

// tail is the end of a log file, for an error message.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	data = bytes.TrimSpace(data)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	if len(data) == 0 {
		return "(its log " + path + " is empty)"
	}
	return "last lines of " + path + ":\n" + string(data)
}

// Stop asks the router serving dataDir to drain and exit (SIGTERM to the PID it reports)
// and waits until it is gone or ctx ends.
func Stop(ctx context.Context, dataDir string) error {
	c := NewClient(SocketPath(dataDir), nil)
	st, err := c.Ping(ctx)
	if errors.Is(err, ErrUnreachable) {
		return nil // none runs
	}
	if err != nil {
		return err
	}
	if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop router %d: %w", st.PID, err)
	}
	for alive(st.PID) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("router %d still running: %w", st.PID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// alive reports whether pid runs; a zombie (exited, not yet reaped) does not.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(data, ')'); i >= 0 && i+2 < len(data) {
		return data[i+2] != 'Z'
	}
	return true
}
