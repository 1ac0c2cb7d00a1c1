// Package runtimetest is the contract suite every runtime.Driver must pass.
//
// A driver's tests call Run with a Harness that makes drivers and describes a small HTTP app
// the driver can run. The suite checks behaviour only through the runtime.Driver interface and
// HTTP, so the same tests hold for local processes and containers alike. It is imported by
// tests only; it must not import any driver.
//
// The suite never sleeps to synchronise: it polls for an outcome with a bounded deadline.
package runtimetest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/runtime"
)

// Harness adapts a driver to the suite.
type Harness struct {
	// New returns a fresh driver over fresh state: it must not list instances started by
	// drivers from earlier calls. It registers its own cleanup with t.
	New func(t *testing.T) runtime.Driver
	// Reopen returns a new driver over the same state as old, as after a restart of
	// cutover. Nil skips the re-adoption test.
	Reopen func(t *testing.T, old runtime.Driver) runtime.Driver
	// App returns the spec of a small HTTP app that serves on $PORT with the given
	// behaviour. The suite overwrites ID and Release with unique values, so the app must take
	// its release from $CUTOVER_VERSION. Behaviours:
	//
	//   - "serve": answers 200 with the body "<release>" on / and on /healthz.
	//   - "crash": exits with code 3 about 200ms after starting.
	//   - "ignore-term": like "serve", but ignores SIGTERM from before it starts listening.
	//   - "log": at start writes "hello from <release> stdout <i>" to stdout and
	//     "hello from <release> stderr <i>" to stderr, for i from 1 to 10, then serves like
	//     "serve" and writes nothing more.
	App func(t *testing.T, behaviour string) runtime.InstanceSpec
}

// Timing of the suite. Deadlines are generous because instances may be race-instrumented
// binaries or containers on a loaded machine; passing tests finish far sooner.
const (
	startDeadline = 20 * time.Second       // from Start to serving HTTP
	exitDeadline  = 10 * time.Second       // from an expected exit to Status reporting it
	pollEvery     = 20 * time.Millisecond  // polling interval of eventually
	grace         = 5 * time.Second        // Stop grace for instances that honour SIGTERM
	shortGrace    = 600 * time.Millisecond // Stop grace for "ignore-term"
	logLines      = 10                     // lines per stream written by the "log" app
)

// Run runs the contract suite against the driver h makes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	s := &suite{h: h}
	t.Run("StartServesWithItsEnv", s.testStartServes)
	t.Run("DistinctPorts", s.testDistinctPorts)
	t.Run("StartRejectsRunningID", s.testDuplicateID)
	t.Run("StatusRunningThenStopped", s.testStatusAfterStop)
	t.Run("StopIsIdempotent", s.testStopIdempotent)
	t.Run("CrashReportsExitCode", s.testCrash)
	t.Run("StopAfterExitIsNil", s.testStopAfterExit)
	t.Run("IgnoreTermKilledAfterGrace", s.testIgnoreTerm)
	t.Run("LogsTail", s.testLogs)
	t.Run("ListReturnsRunning", s.testList)
	t.Run("UnknownInstance", s.testUnknown)
	t.Run("ReopenAdopts", s.testReopen)
}

type suite struct {
	h Harness
	n atomic.Int64
}

// spec returns the harness's app spec with a unique ID and release.
func (s *suite) spec(t *testing.T, behaviour string) runtime.InstanceSpec {
	t.Helper()
	spec := s.h.App(t, behaviour)
	n := s.n.Add(1)
	spec.ID = fmt.Sprintf("rt-%d-%d-%s", time.Now().UnixNano()%1e6, n, behaviour)
	spec.Release = fmt.Sprintf("r%d", n)
	return spec
}

// start starts spec on d and registers a cleanup that stops it.
func start(t *testing.T, d runtime.Driver, spec runtime.InstanceSpec) runtime.Instance {
	t.Helper()
	before := time.Now()
	in, err := d.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", spec.ID, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := d.Stop(ctx, in, time.Second); err != nil {
			t.Errorf("cleanup: Stop(%s): %v", in.ID, err)
		}
	})
	if in.ID != spec.ID || in.App != spec.App || in.Release != spec.Release {
		t.Errorf("Start returned id/app/release %q/%q/%q, want %q/%q/%q",
			in.ID, in.App, in.Release, spec.ID, spec.App, spec.Release)
	}
	if in.Addr == "" || in.Driver == "" || len(in.Handle) == 0 {
		t.Errorf("Start returned Addr %q, Driver %q, Handle %q: all must be set", in.Addr, in.Driver, in.Handle)
	}
	if in.StartedAt.Before(before.Add(-time.Second)) || in.StartedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("StartedAt = %v, want between %v and now", in.StartedAt, before)
	}
	return in
}

func (s *suite) testStartServes(t *testing.T) {
	d := s.h.New(t)
	spec := s.spec(t, "serve")
	in := start(t, d, spec)
	waitServing(t, in, "/")
	if code, body, err := get(in.Addr, "/healthz"); err != nil || code != 200 || body != spec.Release {
		t.Errorf("GET /healthz = %d %q, %v; want 200 %q", code, body, err, spec.Release)
	}
}

func (s *suite) testDistinctPorts(t *testing.T) {
	d := s.h.New(t)
	a := start(t, d, s.spec(t, "serve"))
	b := start(t, d, s.spec(t, "serve"))
	if a.Addr == b.Addr {
		t.Fatalf("two instances got the same Addr %s", a.Addr)
	}
	waitServing(t, a, "/")
	waitServing(t, b, "/")
}

func (s *suite) testDuplicateID(t *testing.T) {
	d := s.h.New(t)
	spec := s.spec(t, "serve")
	in := start(t, d, spec)
	waitServing(t, in, "/")
	if dup, err := d.Start(context.Background(), spec); err == nil {
		_ = d.Stop(context.Background(), dup, time.Second)
		t.Fatalf("second Start(%s) while the first runs succeeded, want an error", spec.ID)
	}
	waitServing(t, in, "/") // the first one is untouched
}

func (s *suite) testStatusAfterStop(t *testing.T) {
	d := s.h.New(t)
	in := start(t, d, s.spec(t, "serve"))
	waitServing(t, in, "/")
	if st := status(t, d, in); !st.Running {
		t.Fatalf("Status while serving = %+v, want Running", st)
	}
	stop(t, d, in, grace)
	st := status(t, d, in)
	if st.Running || st.Reason == "" {
		t.Fatalf("Status after Stop = %+v, want not Running with a Reason", st)
	}
	if _, _, err := get(in.Addr, "/"); err == nil {
		t.Errorf("GET / after Stop succeeded, want a connection error")
	}
}

func (s *suite) testStopIdempotent(t *testing.T) {
	d := s.h.New(t)
	in := start(t, d, s.spec(t, "serve"))
	waitServing(t, in, "/")
	stop(t, d, in, grace)
	stop(t, d, in, grace)
	if st := status(t, d, in); st.Running {
		t.Fatalf("Status after two Stops = %+v, want not Running", st)
	}
}

func (s *suite) testCrash(t *testing.T) {
	d := s.h.New(t)
	in := start(t, d, s.spec(t, "crash"))
	st := waitExited(t, d, in)
	if st.ExitCode != 3 || st.Signal != "" || st.Reason == "" {
		t.Fatalf("Status of crashed instance = %+v, want ExitCode 3, no Signal, a Reason", st)
	}
	for _, l := range list(t, d) {
		if l.ID == in.ID {
			t.Errorf("List includes crashed instance %s", in.ID)
		}
	}
}

func (s *suite) testStopAfterExit(t *testing.T) {
	d := s.h.New(t)
	in := start(t, d, s.spec(t, "crash"))
	waitExited(t, d, in)
	stop(t, d, in, grace)
	if st := status(t, d, in); st.Running {
		t.Fatalf("Status after Stop of exited instance = %+v, want not Running", st)
	}
}

func (s *suite) testIgnoreTerm(t *testing.T) {
	d := s.h.New(t)
	in := start(t, d, s.spec(t, "ignore-term"))
	waitServing(t, in, "/") // SIGTERM is ignored from here on
	began := time.Now()
	stop(t, d, in, shortGrace)
	took := time.Since(began)
	if took < shortGrace*9/10 || took > shortGrace+5*time.Second {
		t.Errorf("Stop with grace %v took %v, want about the grace", shortGrace, took)
	}
	st := status(t, d, in)
	if st.Running || st.Signal != "SIGKILL" || st.ExitCode != -1 || st.Reason == "" {
		t.Fatalf("Status after Stop of ignore-term = %+v, want killed by SIGKILL, ExitCode -1, a Reason", st)
	}
}

func (s *suite) testLogs(t *testing.T) {
	d := s.h.New(t)
	spec := s.spec(t, "log")
	in := start(t, d, spec)
	want := map[string]bool{}
	for i := 1; i <= logLines; i++ {
		want[fmt.Sprintf("hello from %s stdout %d", spec.Release, i)] = true
		want[fmt.Sprintf("hello from %s stderr %d", spec.Release, i)] = true
	}
	var all []string
	eventually(t, startDeadline, func() (bool, string) {
		var err error
		all, err = d.Logs(context.Background(), in, 1000)
		if err != nil {
			return false, fmt.Sprintf("Logs: %v", err)
		}
		seen := 0
		for _, l := range all {
			if want[l] {
				seen++
			}
		}
		return seen == len(want), fmt.Sprintf("Logs has %d of the %d hello lines: %q", seen, len(want), all)
	})
	waitServing(t, in, "/") // the app writes nothing after its hello lines, so the log is final

	all = logs(t, d, in, 1000)
	last := logs(t, d, in, 3)
	if len(all) < 3 || !slices.Equal(last, all[len(all)-3:]) {
		t.Errorf("Logs(3) = %q, want the last 3 of %q", last, all)
	}
	if got := logs(t, d, in, 1); len(got) != 1 || got[0] != all[len(all)-1] {
		t.Errorf("Logs(1) = %q, want [%q]", got, all[len(all)-1])
	}
	if got := logs(t, d, in, 100000); !slices.Equal(got, all) {
		t.Errorf("Logs(100000) = %q, want every line %q", got, all)
	}
}

func (s *suite) testList(t *testing.T) {
	d := s.h.New(t)
	a := start(t, d, s.spec(t, "serve"))
	b := start(t, d, s.spec(t, "serve"))
	c := start(t, d, s.spec(t, "crash"))
	waitExited(t, d, c)

	got := ids(list(t, d))
	if !got[a.ID] || !got[b.ID] || got[c.ID] {
		t.Fatalf("List = %v, want %s and %s, not the crashed %s", keys(got), a.ID, b.ID, c.ID)
	}
	for _, l := range list(t, d) {
		if l.ID == a.ID && (l.Addr != a.Addr || l.Release != a.Release || l.App != a.App) {
			t.Errorf("List entry %+v differs from the started %+v", l, a)
		}
	}
	if other := ids(list(t, s.h.New(t))); other[a.ID] || other[b.ID] {
		t.Errorf("a driver over other state lists %v, want none of this driver's instances", keys(other))
	}

	stop(t, d, a, grace)
	if got := ids(list(t, d)); got[a.ID] || !got[b.ID] {
		t.Fatalf("List after stopping %s = %v, want only %s of them", a.ID, keys(got), b.ID)
	}
}

func (s *suite) testUnknown(t *testing.T) {
	d := s.h.New(t)
	spec := s.spec(t, "serve") // never started
	in := runtime.Instance{ID: spec.ID, App: spec.App, Release: spec.Release}
	if _, err := d.Status(context.Background(), in); !isNotFound(err) {
		t.Errorf("Status of a never-started instance: err = %v, want ErrNotFound", err)
	}
	if _, err := d.Logs(context.Background(), in, 10); !isNotFound(err) {
		t.Errorf("Logs of a never-started instance: err = %v, want ErrNotFound", err)
	}
	stop(t, d, in, grace)
}

func (s *suite) testReopen(t *testing.T) {
	if s.h.Reopen == nil {
		t.Skip("Harness.Reopen is nil")
	}
	old := s.h.New(t)
	a := start(t, old, s.spec(t, "serve"))
	b := start(t, old, s.spec(t, "serve"))
	waitServing(t, a, "/")
	waitServing(t, b, "/")

	d := s.h.Reopen(t, old)
	listed := list(t, d)
	var la runtime.Instance
	for _, l := range listed {
		if l.ID == a.ID {
			la = l
		}
	}
	if got := ids(listed); !got[a.ID] || !got[b.ID] {
		t.Fatalf("reopened driver lists %v, want %s and %s", keys(got), a.ID, b.ID)
	}
	if la.Addr != a.Addr || la.Release != a.Release || la.App != a.App || la.Driver != a.Driver ||
		la.StartedAt.Sub(a.StartedAt).Abs() > time.Second {
		t.Errorf("reopened driver lists %+v, want the started %+v", la, a)
	}
	for _, in := range []runtime.Instance{la, b} { // a listed value and a persisted one
		if st := status(t, d, in); !st.Running {
			t.Errorf("reopened driver: Status(%s) = %+v, want Running", in.ID, st)
		}
		stop(t, d, in, grace)
		if st := status(t, d, in); st.Running {
			t.Errorf("reopened driver: Status(%s) after Stop = %+v, want not Running", in.ID, st)
		}
		if _, _, err := get(in.Addr, "/"); err == nil {
			t.Errorf("GET %s after the reopened driver stopped it succeeded", in.ID)
		}
	}
	if got := ids(list(t, d)); got[a.ID] || got[b.ID] {
		t.Errorf("reopened driver lists %v after stopping both", keys(got))
	}
}
