package reliability_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// killPoint is a moment of a canary at which the server is killed.
type killPoint struct {
	name string
	at   func(api.Deployment) bool
}

var killPoints = []killPoint{
	{"provisioning (green starting)", func(d api.Deployment) bool { return d.Phase == "starting" }},
	{"green_healthy hook running", func(d api.Deployment) bool {
		return strings.Contains(d.Reason, `hook "slow-check"`) && !strings.Contains(d.Reason, "passed")
	}},
	{"step 1 (10%) baking", func(d api.Deployment) bool { return d.Phase == "shifting" && d.Step == 1 && d.Weight > 0 }},
	{"step 2 (50%) baking", func(d api.Deployment) bool { return d.Phase == "shifting" && d.Step == 2 && d.Weight >= 50 }},
	{"full traffic, hook running", func(d api.Deployment) bool { return d.Phase == "full_traffic" }},
	{"succeeded, blue draining and warm", func(d api.Deployment) bool { return d.Phase == "succeeded" }},
}

// TestKill9ServerAtEveryPhaseFailsNoRequest kills the control plane with SIGKILL once in each
// phase of a canary, under constant load, and restarts it after a while: the router process
// keeps serving the last split meanwhile, and the restarted server resumes the deployment to
// its promised end (succeeded) without a single failed request.
func TestKill9ServerAtEveryPhaseFailsNoRequest(t *testing.T) {
	cl := newCluster(t)
	cl.applySlow()
	first := cl.deploy("v1", nil)
	if d := cl.waitTerminal(first.ID); d.Phase != "succeeded" {
		t.Fatalf("v1: %s (%s)", d.Phase, d.Reason)
	}
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 6)
	load.WaitSent(t, 200, 20*time.Second)
	routerPID := cl.routerPID()
	for i, kp := range killPoints {
		version := "v" + string(rune('2'+i))
		d := cl.deploy(version, nil)
		cl.waitFor(d.ID, kp.name, 60*time.Second, kp.at)
		cl.kill9()
		// The data plane alone: traffic keeps flowing with the last split.
		load.WaitSent(t, 300, 20*time.Second)
		cl.start()
		end := cl.waitTerminal(d.ID)
		if end.Phase != "succeeded" {
			t.Fatalf("%s: killed at %q, the deployment ended %s (%s); want succeeded", version, kp.name, end.Phase, end.Reason)
		}
		if f := load.Failed(); f != 0 {
			t.Fatalf("%s: killed at %q: %d requests failed: %v", version, kp.name, f, load.Errors())
		}
		t.Logf("%s: server killed at %q, deployment %s; %d requests so far, 0 failed", version, kp.name, end.Phase, load.Sent())
	}
	load.End()
	if got := cl.routerPID(); got != routerPID {
		t.Errorf("the router process changed (%d -> %d): server kills must not touch it", routerPID, got)
	}
	byV := load.ByVersion()
	if byV["v7"] == 0 {
		t.Errorf("the last release never served: %v", byV)
	}
	// Nothing leaked: after keep-warm only the last release's two instances run.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, v := range []string{"v1", "v2", "v3", "v4", "v5", "v6"} {
			n += len(alivePIDs(cl.instancePIDs(v)))
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d instances of old releases still run 30s after the last deployment", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(alivePIDs(cl.instancePIDs("v7"))); n != 2 {
		t.Errorf("v7 runs %d instances, want 2", n)
	}
	// Also those no record names: a kill between starting a process and recording it.
	if n := cl.markedProcesses(); n != 2 {
		t.Errorf("%d instance processes of this server run, want 2 (v7's)", n)
	}
	t.Logf("%d server kills, %d requests, 0 failed; by version %v", len(killPoints), load.Sent(), byV)
}

// TestKilledGreenInstancesRollBack kills every green instance with SIGKILL in the middle of
// the canary: the router sends their requests to blue (idempotent ones in flight are
// replayed), the engine rolls back, and no request fails.
func TestKilledGreenInstancesRollBack(t *testing.T) {
	cl := newCluster(t)
	cl.applySlow()
	if d := cl.waitTerminal(cl.deploy("v1", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v1: %s (%s)", d.Phase, d.Reason)
	}
	const workers = 6
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", workers)
	load.WaitSent(t, 200, 20*time.Second)
	d := cl.deploy("v2", nil)
	cl.waitFor(d.ID, "at step 1", 60*time.Second, func(d api.Deployment) bool { return d.Phase == "shifting" && d.Weight > 0 })
	load.WaitSent(t, 100, 20*time.Second)
	pids := cl.instancePIDs("v2")
	if len(pids) != 2 {
		t.Fatalf("found %d v2 instances, want 2", len(pids))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	end := cl.waitTerminal(d.ID)
	if end.Phase != "rolled_back" {
		t.Fatalf("green killed mid-canary: deployment ended %s (%s); want rolled_back", end.Phase, end.Reason)
	}
	load.WaitSent(t, 200, 20*time.Second)
	load.End()
	// The load's requests are GETs: the router replays one the dead instance dropped, and
	// sends one it cannot connect to elsewhere, so none may fail.
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed when green was killed: %v", f, load.Errors())
	}
	t.Logf("green killed mid-canary: %s (%s); %d requests, 0 failed", end.Phase, end.Reason, load.Sent())
}

// TestHangingGreenEndsWithoutStuckDeployment deploys a green that accepts connections and
// never answers: its probes time out, the deployment fails by its startup grace without
// sending it production traffic, and nothing is stuck or failed.
func TestHangingGreenEndsWithoutStuckDeployment(t *testing.T) {
	cl := newCluster(t)
	cl.applySlow()
	if d := cl.waitTerminal(cl.deploy("v1", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v1: %s (%s)", d.Phase, d.Reason)
	}
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 4)
	load.WaitSent(t, 100, 20*time.Second)
	start := time.Now()
	d := cl.deploy("v2", map[string]string{"SAMPLE_HANG": "true"})
	end := cl.waitTerminal(d.ID)
	if end.Phase != "failed" {
		t.Fatalf("hanging green: deployment ended %s (%s); want failed", end.Phase, end.Reason)
	}
	// The startup grace is 10s: the deployment must end near it, far before its 60s deadline.
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("hanging green took %s to fail; its startup grace is 10s", took.Round(time.Second))
	}
	load.WaitSent(t, 100, 20*time.Second)
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed with a hanging green that never got traffic: %v", f, load.Errors())
	}
	if n := load.ByVersion()["v2"]; n != 0 {
		t.Errorf("the hanging green answered %d requests", n)
	}
	// Then a good release deploys normally: nothing is stuck.
	if d := cl.waitTerminal(cl.deploy("v3", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v3 after the hanging v2: %s (%s)", d.Phase, d.Reason)
	}
	load.End()
	if f := load.Failed(); f != 0 {
		t.Fatalf("%d requests failed: %v", f, load.Errors())
	}
	t.Logf("hanging green: %s in %s (%s)", end.Phase, time.Since(start).Round(100*time.Millisecond), end.Reason)
}

func alivePIDs(pids []int) []int {
	var out []int
	for _, p := range pids {
		if syscall.Kill(p, 0) == nil {
			out = append(out, p)
		}
	}
	return out
}

// TestKilledRouterIsRestartedByTheServer kills the router process with SIGKILL. Requests the
// dead process was serving may fail (new connections are queued on the sockets the server
// holds: routerctl's TestKilledRouterRefusesNoConnection), the server starts a new router
// within a couple of seconds, which serves the saved table, and deployments go on.
func TestKilledRouterIsRestartedByTheServer(t *testing.T) {
	cl := newCluster(t)
	cl.applySlow()
	if d := cl.waitTerminal(cl.deploy("v1", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v1: %s (%s)", d.Phase, d.Reason)
	}
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 4)
	load.WaitSent(t, 100, 20*time.Second)
	old := cl.routerPID()
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err := cl.rc.Ping(context.Background()); err == nil && st.PID != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new router process 20s after the old one was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	back := time.Since(killed)
	failedInGap := load.Failed()
	before := load.ByVersion()["v1"]
	load.WaitSent(t, 200, 20*time.Second)
	if load.ByVersion()["v1"] < before+100 {
		t.Fatalf("v1 answered %d requests after the restart, want 100 more", load.ByVersion()["v1"]-before)
	}
	if f := load.Failed(); f != failedInGap {
		t.Fatalf("%d requests failed after the new router served: %v", f-failedInGap, load.Errors())
	}
	if d := cl.waitTerminal(cl.deploy("v2", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v2 after the router restart: %s (%s)", d.Phase, d.Reason)
	}
	load.End()
	t.Logf("router killed: a new one served after %s; %d requests failed in the gap", back.Round(10*time.Millisecond), failedInGap)
}
