package handoff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Start runs exe with args as this process's replacement, handing it files by name, and
// waits until it says it is ready. On any failure (it exits, ctx ends first) the child is
// killed and an error returned: the caller keeps serving. On success the caller should stop
// accepting, drain and exit; the child does not depend on it.
func Start(ctx context.Context, exe string, args []string, files map[string]*os.File, stdout, stderr io.Writer) (pid int, err error) {
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	pr, err := Prepare(cmd, files)
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	err = cmd.Start()
	Started(cmd)
	if err != nil {
		return 0, fmt.Errorf("handoff: start %s: %w", exe, err)
	}
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, len(readyMsg))
		_, err := io.ReadFull(pr, buf)
		if err == nil && string(buf) != readyMsg {
			err = fmt.Errorf("unexpected %q", buf)
		}
		ready <- err
	}()
	exited := make(chan error, 1)
	gone := make(chan struct{}) // closed once the child has been waited for
	go func() { exited <- cmd.Wait(); close(gone) }()
	select {
	case err = <-ready:
		if err == nil {
			return cmd.Process.Pid, nil
		}
		select { // it closed the pipe: most likely it is exiting, and its status says more
		case werr := <-exited:
			err = fmt.Errorf("it exited before it was ready: %v", werr)
		case <-time.After(2 * time.Second):
			err = fmt.Errorf("it closed the ready pipe without saying ready: %w", err)
		}
	case werr := <-exited:
		err = fmt.Errorf("it exited before it was ready: %v", werr)
	case <-ctx.Done():
		err = fmt.Errorf("it was not ready in time: %w", ctx.Err())
	}
	_ = cmd.Process.Kill()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
	}
	return 0, fmt.Errorf("handoff: new process %s %s: %w; the old one keeps serving", exe, strings.Join(args, " "), err)
}

// Prepare sets cmd up to hand it files by name (as its fds 3, ...) and a ready pipe; it
// returns the pipe's read end, on which the child writes once it serves. Call Started after
// cmd.Start.
func Prepare(cmd *exec.Cmd, files map[string]*os.File) (ready *os.File, err error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	env, err := encodeNames(names)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("handoff: ready pipe: %w", err)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, envNames+"="+env)
	for _, n := range names {
		cmd.ExtraFiles = append(cmd.ExtraFiles, files[n])
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, pw)
	return pr, nil
}

// Started closes this process's copy of the ready pipe's write end, so that the read end
// sees the child's end.
func Started(cmd *exec.Cmd) {
	if n := len(cmd.ExtraFiles); n > 0 {
		_ = cmd.ExtraFiles[n-1].Close()
	}
}

// Executable is the path to run for an upgrade: this binary's path even when the file was
// replaced since it started (Linux then reports "path (deleted)").
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("handoff: find this binary: %w", err)
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if _, err := os.Stat(exe); err != nil {
		return "", errors.Join(fmt.Errorf("handoff: the binary %s is gone", exe), err)
	}
	return exe, nil
}
