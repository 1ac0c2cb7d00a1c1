// Package sampleapp is the HTTP app cutover deploys in its tests and its demo, run as the
// hidden `cutover sample-app` subcommand. Environment variables (see Config) make it
// misbehave on purpose, so every way a release can go wrong can be shown for real: errors,
// latency, a slow start, a crash, a failing health check, a hang.
//
// Endpoints:
//
//	/          200 "hello from VERSION\n", or 500 "sample failure\n" per the error rate;
//	           any path no other endpoint claims is answered the same way
//	/healthz   200 "ok\n", or 503 "unhealthy\n" when Unhealthy
//	/version   200 "VERSION\n"
//	/slow?d=2s 200 "slept 2s\n" after the given duration (default 1s)
//	/sse       a text/event-stream with one event every 200ms until the client goes
//	/ws        a WebSocket that echoes every message
//
// Every response carries an X-Version header. The app logs one line when it starts
// listening and one when it stops or crashes, never one per request.
//
// It must not import anything of cutover's own: it stands for a user's app, which knows
// nothing of cutover beyond the PORT and CUTOVER_VERSION it is given.
package sampleapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CrashExitCode is the exit status of a crash caused by CrashAfter.
const CrashExitCode = 3

// shutdownTimeout bounds the graceful shutdown: in-flight requests get this long to finish.
const shutdownTimeout = 10 * time.Second

// errCrashed is what Run returns after a crash whose exit function returned, which only a
// test's does.
var errCrashed = errors.New("crashed")

// app is one running sample app: its config and what its handlers share.
type app struct {
	cfg      Config
	requests atomic.Int64  // requests to / so far, for the deterministic error rate
	stopping chan struct{} // closed when shutdown begins: streams end then
	sockets  sync.WaitGroup
	log      *logger
}

// Run serves cfg until ctx is done, then shuts down gracefully and returns nil. The caller
// turns SIGTERM into cancelling ctx. Run returns an error if cfg is invalid or the port cannot
// be listened on. With CrashAfter set it ends the process with CrashExitCode instead.
func Run(ctx context.Context, cfg Config, log io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("sample app: %w", err)
	}
	if log == nil {
		log = io.Discard
	}
	a := &app{cfg: cfg, stopping: make(chan struct{}), log: &logger{w: log, prefix: "sample-app " + cfg.Version + ": "}}

	if !sleep(ctx, cfg.StartDelay) {
		a.log.printf("stopped before listening")
		return nil
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("sample app %s: %w", cfg.Version, err)
	}
	a.log.printf("listening on %s (pid %d%s)", ln.Addr(), os.Getpid(), cfg.describe())

	crashed := make(chan struct{})
	if cfg.CrashAfter > 0 {
		exit := cfg.exit
		if exit == nil {
			exit = os.Exit
		}
		t := time.AfterFunc(cfg.CrashAfter, func() {
			a.log.printf("crashing with exit code %d (SAMPLE_CRASH_AFTER=%s)", CrashExitCode, cfg.CrashAfter)
			exit(CrashExitCode)
			close(crashed)
		})
		defer t.Stop()
	}

	if cfg.Hang {
		return a.hang(ctx, ln, crashed)
	}
	return a.serve(ctx, ln, crashed)
}

// serve answers HTTP on ln until ctx is done or the app crashes.
func (a *app) serve(ctx context.Context, ln net.Listener, crashed <-chan struct{}) error {
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("sample app %s: serving: %w", a.cfg.Version, err)
	case <-crashed:
		_ = srv.Close() // a crash drops every connection; nothing to report
		return errCrashed
	case <-ctx.Done():
	}

	close(a.stopping)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err == nil {
		// WebSockets are hijacked, so Shutdown does not wait for them; they were told to close.
		err = waitGroup(sctx, &a.sockets)
	}
	if err != nil {
		_ = srv.Close()
		a.log.printf("stopped after %s with requests still in flight", shutdownTimeout)
		return nil
	}
	a.log.printf("stopped")
	return nil
}

// hang accepts connections on ln and never reads from or answers them, until ctx is done or
// the app crashes.
func (a *app) hang(ctx context.Context, ln net.Listener, crashed <-chan struct{}) error {
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // the listener was closed below
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case <-crashed:
		err = errCrashed
	}
	_ = ln.Close() // ends the accept loop
	mu.Lock()
	for _, c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	if err == nil {
		a.log.printf("stopped")
	}
	return err
}

// describe lists the misbehaviours cfg asks for, for the start line.
func (c Config) describe() string {
	var b strings.Builder
	if c.StartDelay > 0 {
		fmt.Fprintf(&b, ", after a %s start delay", c.StartDelay)
	}
	if c.ErrorRate > 0 {
		fmt.Fprintf(&b, ", error rate %g", c.ErrorRate)
	}
	if c.Latency > 0 {
		fmt.Fprintf(&b, ", latency %s", c.Latency)
	}
	if c.CrashAfter > 0 {
		fmt.Fprintf(&b, ", crash after %s", c.CrashAfter)
	}
	if c.Unhealthy {
		b.WriteString(", unhealthy")
	}
	if c.Hang {
		b.WriteString(", hanging")
	}
	return b.String()
}

// logger writes whole lines to w, one at a time.
type logger struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, l.prefix+format+"\n", args...) // a lost log line must not stop the app
}

// sleep waits d, or less if ctx ends first; it reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitGroup waits for wg until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
