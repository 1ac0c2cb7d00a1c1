package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// dockerSpec is the test app on the docker runtime, with run.docker lines given by docker.
func (r *rig) dockerSpec(docker string) string {
	return fmt.Sprintf(`app: web
routes:
  - listen: %s
run:
  docker:
%s
  instances: 2
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 5s}
strategy: {preset: AllAtOnce}
keep_warm: 0s
drain_timeout: 1s
deadlines: {deployment: 60s}
`, r.listen, docker)
}

func (r *rig) apply(y string) {
	r.t.Helper()
	if err := r.eng.Apply(r.parse(y)); err != nil {
		r.t.Fatalf("apply: %v", err)
	}
}

func (r *rig) eventText(id string) string {
	r.t.Helper()
	evs, err := r.eng.Events(id)
	if err != nil {
		r.t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Message + "\n")
	}
	return b.String()
}

// servedBy is the version that answers a request through the router.
func (r *rig) servedBy() string {
	r.t.Helper()
	resp, err := newHTTP().Get(r.url + "/")
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Version")
}

// TestDockerReleasesRunOnTheirDriver: a release whose spec says run.docker.build is built
// once (APP:VERSION) before its instances start on the docker driver, with the image, port,
// limits and env from the spec; an image that exists is not built again; a later process
// release runs on the process driver, and the janitor stops the retired docker instances
// through the docker driver.
func TestDockerReleasesRunOnTheirDriver(t *testing.T) {
	fd := newFakeDocker(t)
	r := newRigWith(t, map[string]runtime.Driver{fakeName: fd})
	r.apply(r.dockerSpec(`    build: {context: /src/web}
    env: {LOG_LEVEL: debug}
    command: [serve, --port, $PORT]
    port: 3000
    memory: 64m
    cpus: 0.5`))
	s := r.deploy("v1", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s (%s)", s.Phase, s.Reason)
	}
	if got := r.servedBy(); got != "v1" {
		t.Fatalf("served by %q, want v1", got)
	}
	builds, started, _ := fd.snapshot()
	if !slices.Equal(builds, []string{"web:v1"}) || len(started) != 2 {
		t.Fatalf("builds %v, %d starts: want web:v1 built once and 2 containers", builds, len(started))
	}
	st := started[0]
	if st.Image != "web:v1" || !slices.Equal(st.Argv, []string{"serve", "--port", "$PORT"}) || st.Env["LOG_LEVEL"] != "debug" ||
		st.Container == nil || !reflect.DeepEqual(*st.Container, runtime.ContainerSpec{Port: 3000, MemoryBytes: 64 << 20, NanoCPUs: 5e8}) {
		t.Errorf("started %+v (container %+v): not what the spec says", st, st.Container)
	}
	if ev := r.eventText(s.ID); !strings.Contains(ev, "building image web:v1 from /src/web (Dockerfile)") || !strings.Contains(ev, "built image web:v1 in") {
		t.Errorf("the events do not tell of the build:\n%s", ev)
	}

	fd.set(func(f *fakeDocker) { f.images["web:v2"] = true }) // built outside cutover: no build
	if s := r.deploy("v2", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s (%s)", s.Phase, s.Reason)
	}
	if builds, _, _ := fd.snapshot(); len(builds) != 1 {
		t.Errorf("builds %v: web:v2 existed and must not be built", builds)
	}

	// Back to processes.
	r.apply(sampletest.Spec(t, r.listen, sampletest.Options{Instances: 2, KeepWarm: "0s"}, "strategy: {preset: AllAtOnce}\n"))
	if s := r.deploy("v3", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v3: %s (%s)", s.Phase, s.Reason)
	}
	if got := r.servedBy(); got != "v3" {
		t.Fatalf("served by %q, want v3", got)
	}
	_, started, _ = fd.snapshot()
	if len(started) != 4 {
		t.Errorf("the docker driver started %d instances, want 4 (v1 and v2): v3 is a process release", len(started))
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, err := fd.List(ctx)
		_, _, stopped := fd.snapshot()
		if err == nil && len(left) == 0 && len(stopped) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker instances left %v, stopped %v: want every docker instance stopped by the docker driver", left, stopped)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ins, _ := r.driver.List(ctx); len(ins) != 2 || ins[0].Release != "v3" {
		t.Errorf("process instances %v, want the two of v3", ins)
	}
}

// TestFailedBuildFailsBeforeAnythingStarts: a build that fails ends the deployment before any
// green instance starts, with the build's error in the reason, and blue keeps serving.
func TestFailedBuildFailsBeforeAnythingStarts(t *testing.T) {
	fd := newFakeDocker(t)
	r := newRigWith(t, map[string]runtime.Driver{fakeName: fd})
	r.apply(r.specText("strategy: {preset: AllAtOnce}\n"))
	if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s (%s)", s.Phase, s.Reason)
	}
	fd.set(func(f *fakeDocker) {
		f.buildErr = errors.New("build failed at step 2/2: COPY failed: file not found in build context: app")
	})
	r.apply(r.dockerSpec("    build: {context: /src/web, dockerfile: deploy/Dockerfile}"))
	s := r.deploy("v2", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "build of web:v2 failed") ||
		!strings.Contains(s.Reason, "COPY failed") || !strings.Contains(s.Reason, "blue untouched") {
		t.Fatalf("deployment ended %s (%s); want failed with the build's error", s.Phase, s.Reason)
	}
	if _, started, _ := fd.snapshot(); len(started) != 0 {
		t.Errorf("%d containers started after a failed build", len(started))
	}
	if got := r.servedBy(); got != "v1" {
		t.Errorf("served by %q after the failed build, want v1", got)
	}
	if ev := r.eventText(s.ID); !strings.Contains(ev, "building image web:v2 from /src/web (deploy/Dockerfile)") {
		t.Errorf("the events do not tell of the build:\n%s", ev)
	}
}

// TestContainerOutOfMemoryFailsTheDeployment: a green container the driver reports killed for
// memory ends the deployment with that reason and its last log lines.
func TestContainerOutOfMemoryFailsTheDeployment(t *testing.T) {
	fd := newFakeDocker(t)
	fd.set(func(f *fakeDocker) { f.images["web:v1"], f.images["web:v2"], f.oom["v2"] = true, true, true })
	r := newRigWith(t, map[string]runtime.Driver{fakeName: fd})
	r.apply(r.dockerSpec("    image: web:$CUTOVER_VERSION\n    memory: 6m"))
	if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s (%s)", s.Phase, s.Reason)
	}
	s := r.deploy("v2", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "out of memory") || !strings.Contains(s.Reason, "last log lines: ") ||
		!strings.Contains(s.Reason, "listening on") {
		t.Fatalf("deployment ended %s (%s); want failed for memory, with the last log lines", s.Phase, s.Reason)
	}
	if got := r.servedBy(); got != "v1" {
		t.Errorf("served by %q, want v1", got)
	}
}

// TestApplyChecksTheRuntime: a docker spec is refused while the engine does not answer, and
// nothing is stored; a spec for a runtime the server lacks is refused too.
func TestApplyChecksTheRuntime(t *testing.T) {
	fd := newFakeDocker(t)
	fd.set(func(f *fakeDocker) {
		f.pingErr = errors.New("docker: cannot reach the Docker engine at unix:///nowhere.sock; is dockerd running?")
	})
	r := newRigWith(t, map[string]runtime.Driver{fakeName: fd})
	err := r.eng.Apply(r.parse(r.dockerSpec("    image: web:v1")))
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker engine at unix:///nowhere.sock") || !strings.Contains(err.Error(), "run.docker") {
		t.Fatalf("Apply with an unreachable engine = %v; want the engine's error", err)
	}
	if apps, _ := r.eng.Apps(); len(apps) != 0 {
		t.Errorf("a refused spec was stored: %v", apps)
	}

	plain := newRig(t) // the process driver alone
	err = plain.eng.Apply(plain.parse(plain.dockerSpec("    image: web:v1")))
	if err == nil || !strings.Contains(err.Error(), "no docker runtime driver (it has process)") {
		t.Fatalf("Apply of a docker spec without a docker driver = %v", err)
	}
}

// TestServerStartsWithoutDockerUnlessAppsUseIt: a docker driver that cannot list its
// containers does not keep the engine from starting while no app uses it; once an app does,
// starting would leave its containers unrouted, so it is an error that names the driver.
func TestServerStartsWithoutDockerUnlessAppsUseIt(t *testing.T) {
	fd := newFakeDocker(t)
	fd.set(func(f *fakeDocker) { f.listErr = errors.New("cannot reach the Docker engine") })
	r := newRigWith(t, map[string]runtime.Driver{fakeName: fd})
	r.apply(r.specText(""))
	r.close()
	r.open() // no app uses docker: the engine starts
	if r.eng == nil {
		t.Fatal("the engine did not start")
	}
	fd.set(func(f *fakeDocker) { f.listErr, f.images["web:v1"] = nil, true })
	r.apply(r.dockerSpec("    image: web:v1"))
	r.close()
	fd.set(func(f *fakeDocker) { f.listErr = errors.New("cannot reach the Docker engine") })
	err := r.tryOpen()
	if err == nil || !strings.Contains(err.Error(), "docker driver") || !strings.Contains(err.Error(), "cannot reach the Docker engine") {
		t.Fatalf("New with an unreachable docker in use = %v; want an error naming the driver", err)
	}
}

// TestRestartForgetsInstancesThatEnded: the record of an instance that ended while the
// engine was down is dropped when the engine starts again; the running ones are kept.
func TestRestartForgetsInstancesThatEnded(t *testing.T) {
	r := newRig(t)
	r.apply(r.specText("strategy: {preset: AllAtOnce}\n"))
	if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s (%s)", s.Phase, s.Reason)
	}
	r.close()
	ins, err := r.driver.List(context.Background())
	if err != nil || len(ins) != 2 {
		t.Fatalf("instances %v, %v: want 2", ins, err)
	}
	if err := r.driver.Stop(context.Background(), ins[0], time.Second); err != nil {
		t.Fatal(err)
	}
	r.open()
	recs, err := r.store.ListInstances("")
	if err != nil || len(recs) != 1 || recs[0].ID != ins[1].ID {
		t.Fatalf("instance records after the restart: %+v, %v; want only %s", recs, err, ins[1].ID)
	}
}
