package sampletest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/routerctl"
)

// Server is `cutover server` run as a real process over a data dir (with --listen ""), for
// tests that kill and restart the control plane. The router process it starts, and the
// instances, are other processes: Close stops the server and the router; instances are the
// test's to stop (they depend on the runtime).
type Server struct {
	t        testing.TB
	exe, dir string
	API      *api.Client // over the server's unix socket
	cmd      *exec.Cmd
	done     chan error
	restarts int
	// Wrap runs the server under a command, e.g. ip netns exec NS; Args replace the
	// default --listen "". Set them before Start (StartServerWith).
	Wrap, Args []string
}

// StartServerWith is StartServer under wrap (a command prefix, may be nil) with args in place
// of --listen "".
func StartServerWith(t testing.TB, exe, dir string, wrap []string, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, exe: exe, dir: dir, API: api.NewUnix(filepath.Join(dir, api.SocketFile)), Wrap: wrap, Args: args}
	s.Start()
	return s
}

// StartServer runs `exe server --data-dir dir` and waits until its API answers.
func StartServer(t testing.TB, exe, dir string) *Server {
	t.Helper()
	s := &Server{t: t, exe: exe, dir: dir, API: api.NewUnix(filepath.Join(dir, api.SocketFile))}
	s.Start()
	return s
}

// Start (re)starts the server process, logging to dir/server-N.log.
func (s *Server) Start() {
	t := s.t
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("server-%d.log", s.restarts)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.restarts++
	args := s.Args
	if args == nil {
		args = []string{"--listen", ""}
	}
	argv := append(append(append([]string(nil), s.Wrap...), s.exe, "server", "--data-dir", s.dir), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.API.Apps(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			t.Fatalf("cutover server exited at start: %v\n%s", err, s.Logs())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cutover server did not answer within 30s: %v\n%s", err, s.Logs())
		}
	}
}

// PID is the server process's.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Kill9 kills the server with SIGKILL and reaps it; the router and the instances go on.
func (s *Server) Kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-s.done
	s.cmd = nil
}

// Stop ends the server with SIGTERM, as a user would.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("cutover server did not stop within 20s of SIGTERM")
	}
	s.cmd = nil
}

// Close stops the server and its router process.
func (s *Server) Close() {
	s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := routerctl.Stop(ctx, s.dir); err != nil {
		s.t.Errorf("stop the router: %v", err)
	}
}

// Logs are the ends of the server's and the router's log files, for a failing test.
func (s *Server) Logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}

// WaitFor polls deployment id through the API until cond holds, and fails the test after
// timeout with the deployment's last phase and reason.
func (s *Server) WaitFor(id, what string, timeout time.Duration, cond func(api.Deployment) bool) api.Deployment {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var d api.Deployment
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := s.API.Deployment(ctx, id)
		cancel()
		if err == nil {
			d = got
			if cond(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("deployment %s: not %s within %s; last: phase %s step %d reason %q (err %v)", id, what, timeout, d.Phase, d.Step, d.Reason, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
