package engine

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// fakeDocker stands in for the docker driver in the engine's tests: its "containers" are
// the sample app run as processes by a process driver of its own, so the engine's driver
// selection, image builds and per-driver adoption and stops can be tested without a Docker
// engine (test/docker does it with one). It records what it was asked.
type fakeDocker struct {
	t    *testing.T
	proc *process.Driver

	mu       sync.Mutex
	pingErr  error
	listErr  error
	buildErr error
	images   map[string]bool
	builds   []string // tags, in order
	started  []runtime.InstanceSpec
	stopped  []string        // instance IDs
	oom      map[string]bool // releases whose containers report being killed for memory
}

const fakeName = "docker"

var _ runtime.Driver = (*fakeDocker)(nil)
var _ imageBuilder = (*fakeDocker)(nil)
var _ pinger = (*fakeDocker)(nil)

func newFakeDocker(t *testing.T) *fakeDocker {
	t.Helper()
	dir := t.TempDir()
	proc, err := process.New(process.Options{StateDir: filepath.Join(dir, "containers")})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDocker{t: t, proc: proc, images: map[string]bool{}, oom: map[string]bool{}}
	t.Cleanup(func() {
		ins, _ := proc.List(context.Background())
		for _, in := range ins {
			_ = proc.Stop(context.Background(), in, time.Second)
		}
	})
	return f
}

func (f *fakeDocker) Start(ctx context.Context, s runtime.InstanceSpec) (runtime.Instance, error) {
	f.mu.Lock()
	f.started = append(f.started, s)
	have := f.images[s.Image]
	f.mu.Unlock()
	if !have {
		return runtime.Instance{}, fmt.Errorf("docker: start %s: create container from image %s: No such image", s.ID, s.Image)
	}
	exe, err := os.Executable()
	if err != nil {
		return runtime.Instance{}, err
	}
	ps := runtime.InstanceSpec{ID: s.ID, App: s.App, Release: s.Release, Argv: []string{exe}, Env: maps.Clone(s.Env)}
	if ps.Env == nil {
		ps.Env = map[string]string{}
	}
	ps.Env[sampletest.EnvSwitch] = "1"
	in, err := f.proc.Start(ctx, ps)
	in.Driver = fakeName
	return in, err
}

func asProcess(in runtime.Instance) runtime.Instance { in.Driver = process.Name; return in }

func (f *fakeDocker) Stop(ctx context.Context, in runtime.Instance, grace time.Duration) error {
	f.mu.Lock()
	f.stopped = append(f.stopped, in.ID)
	f.mu.Unlock()
	return f.proc.Stop(ctx, asProcess(in), grace)
}

func (f *fakeDocker) Status(ctx context.Context, in runtime.Instance) (runtime.Status, error) {
	f.mu.Lock()
	oom := f.oom[in.Release]
	f.mu.Unlock()
	// Killed once it has printed something, like an app that ran a while before it grew.
	if lines, _ := f.proc.Logs(ctx, asProcess(in), 1); oom && len(lines) > 0 {
		return runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: "out of memory (the container's memory limit)"}, nil
	}
	return f.proc.Status(ctx, asProcess(in))
}

func (f *fakeDocker) List(ctx context.Context) ([]runtime.Instance, error) {
	f.mu.Lock()
	err := f.listErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ins, err := f.proc.List(ctx)
	for i := range ins {
		ins[i].Driver = fakeName
	}
	return ins, err
}

func (f *fakeDocker) Logs(ctx context.Context, in runtime.Instance, lines int) ([]string, error) {
	return f.proc.Logs(ctx, asProcess(in), lines)
}

func (f *fakeDocker) Build(_ context.Context, contextDir, dockerfile, tag string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = append(f.builds, tag)
	fmt.Fprintf(out, "Step 1/2 : FROM scratch\nStep 2/2 : COPY app /app (from %s/%s)\n", contextDir, dockerfile)
	if f.buildErr != nil {
		return f.buildErr
	}
	f.images[tag] = true
	return nil
}

func (f *fakeDocker) ImageExists(_ context.Context, ref string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], nil
}

func (f *fakeDocker) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

// set changes the fake under its lock.
func (f *fakeDocker) set(fn func(f *fakeDocker)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// snapshot returns copies of what the fake recorded.
func (f *fakeDocker) snapshot() (builds []string, started []runtime.InstanceSpec, stopped []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.builds), slices.Clone(f.started), slices.Clone(f.stopped)
}
