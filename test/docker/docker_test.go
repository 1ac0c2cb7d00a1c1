package docker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestCanaryAndCrashingReleaseUnderLoad: releases built by cutover from a Dockerfile (one
// image per release, APP:VERSION) go through a canary under constant load without a failed
// request; a release whose containers crash mid-canary is rolled back with the reason and
// the containers' last log lines; at the end only the serving release's containers exist.
func TestCanaryAndCrashingReleaseUnderLoad(t *testing.T) {
	cl := newCluster(t)
	cl.apply(cl.spec(cl.context, 2*time.Second))
	v1 := cl.deployWait("v1", "succeeded", nil)
	if ev := cl.events(v1); !strings.Contains(ev, fmt.Sprintf("built image %s:v1", cl.app)) {
		t.Errorf("v1's events do not tell of its build:\n%s", ev)
	}
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 4)
	load.WaitSent(t, 200, 30*time.Second)

	v2 := cl.deployWait("v2", "succeeded", nil)
	load.WaitSent(t, 200, 30*time.Second)
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed during the canary v1 -> v2: %v", f, load.Errors())
	}
	if n := load.ByVersion()["v2"]; n == 0 {
		t.Fatalf("v2 answered no request: %v", load.ByVersion())
	}
	if ev := cl.events(v2); !strings.Contains(ev, "building image "+cl.app+":v2") || !strings.Contains(ev, "built image "+cl.app+":v2") {
		t.Errorf("v2's events do not tell of its build:\n%s", ev)
	}
	served := cl.waitOnly("v2", 2)

	v3 := cl.deployWait("v3", "rolled_back", map[string]string{"SAMPLE_CRASH_AFTER": "3s"})
	for _, want := range []string{"exited", "crashing with exit code 3", "rolling back to blue"} {
		if !strings.Contains(v3.Reason, want) {
			t.Errorf("v3's reason %q lacks %q", v3.Reason, want)
		}
	}
	load.WaitSent(t, 200, 30*time.Second)
	load.End()
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed while v3 crashed: %v", f, load.Errors())
	}
	if got := cl.servedBy(); got != "v2" {
		t.Errorf("after the rollback a new request was answered by %q, want v2", got)
	}
	if left := cl.waitOnly("v2", 2); !slices.Equal(left, served) {
		t.Errorf("v2's containers changed from %v to %v", served, left)
	}
	t.Logf("canary v1 -> v2 and v3 rolled back (%s) under load: %d requests, 0 failed, by version %v",
		v3.Reason, load.Sent(), load.ByVersion())
}

// TestServerKilledMidCanaryReadoptsContainers kills the server with SIGKILL in the middle of
// a canary under load and starts it again: the router keeps serving the split meanwhile; the
// new server re-adopts the same containers (same IDs), the deployment ends as it would have,
// no request fails, and no container is left behind.
func TestServerKilledMidCanaryReadoptsContainers(t *testing.T) {
	cl := newCluster(t)
	cl.apply(cl.spec(cl.context, 3*time.Second))
	cl.deployWait("v1", "succeeded", nil)
	blue := cl.waitOnly("v1", 2)
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 4)
	load.WaitSent(t, 200, 30*time.Second)

	d := cl.deploy("v2", nil)
	cl.waitFor(d.ID, "at step 1", 90*time.Second, func(d api.Deployment) bool { return d.Phase == "shifting" && d.Weight > 0 })
	green := cl.running("v2")
	if len(green) != 2 || !slices.Equal(cl.running("v1"), blue) {
		t.Fatalf("mid-canary: green %v, blue %v (was %v); want 2 green and the same blue", green, cl.running("v1"), blue)
	}
	cl.kill9()
	load.WaitSent(t, 300, 30*time.Second) // the router alone serves the split
	if got := cl.running("v2"); !slices.Equal(got, green) {
		t.Fatalf("green's containers changed while the server was down: %v, then %v", green, got)
	}
	cl.start()
	end := cl.waitTerminal(d.ID)
	if end.Phase != "succeeded" {
		t.Fatalf("killed mid-canary, the deployment ended %s (%s); want succeeded", end.Phase, end.Reason)
	}
	if got := cl.waitOnly("v2", 2); !slices.Equal(got, green) {
		t.Errorf("green's containers are %v after the restart, were %v: they must be re-adopted, not replaced", got, green)
	}
	load.WaitSent(t, 200, 30*time.Second)
	load.End()
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed: %v", f, load.Errors())
	}
	if load.ByVersion()["v2"] == 0 {
		t.Errorf("v2 never served: %v", load.ByVersion())
	}
	t.Logf("server killed mid-canary: %s; containers %v re-adopted; %d requests, 0 failed", end.Phase, green, load.Sent())
}

// TestFailedBuildFailsBeforeAnythingStarts: a release whose Dockerfile does not build fails
// before any of its containers is created, with the build's error, and blue keeps serving.
func TestFailedBuildFailsBeforeAnythingStarts(t *testing.T) {
	cl := newCluster(t)
	cl.apply(cl.spec(cl.context, time.Second))
	cl.deployWait("v1", "succeeded", nil)
	blue := cl.waitOnly("v1", 2)

	broken := cl.buildContext("FROM scratch\nCOPY no-such-file /x\nENTRYPOINT [\"/x\"]\n")
	cl.apply(cl.spec(broken, time.Second))
	d := cl.deployWait("v2", "failed", nil)
	for _, want := range []string{"build of " + cl.app + ":v2 failed", "no-such-file", "blue untouched"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("the reason %q lacks %q", d.Reason, want)
		}
	}
	if ev := cl.events(d); !strings.Contains(ev, "building image "+cl.app+":v2") {
		t.Errorf("the events do not tell of the build:\n%s", ev)
	}
	for _, c := range cl.containersOf(cl.owner()) {
		if c.release == "v2" {
			t.Errorf("a container of v2 exists after its failed build: %+v", c)
		}
	}
	if got := cl.servedBy(); got != "v1" {
		t.Errorf("a request was answered by %q, want v1", got)
	}
	if got := cl.waitOnly("v1", 2); !slices.Equal(got, blue) {
		t.Errorf("blue's containers changed from %v to %v", blue, got)
	}
	t.Logf("failed build: %s", d.Reason)
}
