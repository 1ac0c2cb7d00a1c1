package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

const canary = `strategy:
  canary:
    steps:
      - {weight: 10, pause: 700ms}
      - {weight: 50, pause: 700ms}
analysis:
  interval: 300ms
  window: 1s
  min_requests: 20
  checks:
    - name: errors
      error_rate: {max: 1}
`

// baseline applies the spec and deploys v1 (the first release goes in at once).
func baseline(t *testing.T, extra string) *rig {
	r := newRig(t)
	if err := r.eng.Apply(r.spec(extra)); err != nil {
		t.Fatal(err)
	}
	if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s: %s", s.Phase, s.Reason)
	}
	return r
}

func TestE2ESuccessfulCanary(t *testing.T) {
	r := baseline(t, canary)
	l := startLoad(t, r.url, 4)
	s := r.deploy("v2", nil)
	l.end()
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during a good canary; first: %s", f, l.sent.Load(), l.firstErr)
	}
	if l.byVersion["v2"] == 0 || l.byVersion["v1"] == 0 {
		t.Fatalf("traffic by version %v: both versions should have served", l.byVersion)
	}
	evs, _ := r.eng.Events(s.ID)
	var weights []int
	for _, e := range evs {
		if strings.HasPrefix(e.Message, "step ") && strings.Contains(e.Message, "green at") {
			weights = append(weights, e.Weight)
		}
	}
	if len(weights) != 3 || weights[0] != 1000 || weights[1] != 5000 || weights[2] != 10000 {
		t.Fatalf("steps taken %v, want 10%% 50%% 100%%", weights)
	}
	// After promotion every new request is answered by v2.
	for i := 0; i < 20; i++ {
		if v := version(t, r.url); v != "v2" {
			t.Fatalf("after promotion request %d answered by %s", i, v)
		}
	}
	t.Logf("%d requests, by version %v", l.sent.Load(), l.byVersion)
}

func TestE2EBadGreenRolledBack(t *testing.T) {
	r := baseline(t, canary)
	l := startLoad(t, r.url, 4)
	s := r.deploy("v3", map[string]string{"SAMPLE_ERROR_RATE": "0.1"})
	l.end()
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, "error rate") {
		t.Fatalf("v3: %s: %s", s.Phase, s.Reason)
	}
	// The only failures allowed are green's own bad answers before rollback.
	bad := l.badByVersion["v3"]
	if other := l.failed.Load() - int64(bad); other != 0 {
		t.Fatalf("%d failures not from green (by version %v); first: %s", other, l.badByVersion, l.firstErr)
	}
	t.Logf("blast radius: green answered %d requests badly of %d sent; reason: %s", bad, l.sent.Load(), s.Reason)
	for i := 0; i < 20; i++ {
		if v := version(t, r.url); v != "v1" {
			t.Fatalf("after rollback request %d answered by %s", i, v)
		}
	}
}

func TestE2EGreenNeverHealthyFails(t *testing.T) {
	r := baseline(t, canary)
	l := startLoad(t, r.url, 2)
	s := r.deploy("v2", map[string]string{"SAMPLE_UNHEALTHY": "1"})
	l.end()
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "did not become healthy") {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	if f := l.failed.Load(); f != 0 || l.byVersion["v2"] != 0 {
		t.Fatalf("blue was touched: %d failures, by version %v", f, l.byVersion)
	}
}

func TestE2EHookFailureRollsBack(t *testing.T) {
	r := baseline(t, canary)
	if err := r.eng.Apply(r.spec(canary + `hooks:
  - name: smoke
    at: after_step
    http: {path: /version, expect_body: "v9", target: green}
`)); err != nil {
		t.Fatal(err)
	}
	l := startLoad(t, r.url, 2)
	s := r.deploy("v2", nil)
	l.end()
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, `after_step hook "smoke" failed`) {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d failures; first %s", f, l.firstErr)
	}
}

func TestE2EAbortMidCanary(t *testing.T) {
	r := baseline(t, strings.Replace(canary, "pause: 700ms}", "approval: true}", 1))
	l := startLoad(t, r.url, 2)
	s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, s.ID, func(s deploy.State) bool { return s.Phase == deploy.PhaseShifting && s.Weight == 1000 })
	if _, err := r.eng.Deploy(context.Background(), "web", "v3", nil); err == nil || !strings.Contains(err.Error(), s.ID) {
		t.Fatalf("a second deployment while %s runs: %v", s.ID, err)
	}
	if err := r.eng.Command("web", deploy.CmdAbort); err != nil {
		t.Fatal(err)
	}
	s = r.wait(s.ID)
	l.end()
	if s.Phase != deploy.PhaseAborted {
		t.Fatalf("after abort: %s: %s", s.Phase, s.Reason)
	}
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d failures; first %s", f, l.firstErr)
	}
	if v := version(t, r.url); v != "v1" {
		t.Fatalf("after abort answered by %s", v)
	}
}

func TestE2ERollbackAfterSuccess(t *testing.T) {
	r := baseline(t, "strategy: {preset: AllAtOnce}\n")
	if s := r.deploy("v2", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s", s.Reason)
	}
	l := startLoad(t, r.url, 2)
	start := time.Now()
	rb, err := r.eng.Rollback(context.Background(), "web")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if v := version(t, r.url); v != "v1" {
		t.Fatalf("after rollback answered by %s", v)
	}
	l.end()
	t.Logf("rollback %s took %v: %s", rb.ID, took, rb.Reason)
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d failures; first %s", f, l.firstErr)
	}
	hist, _ := r.eng.History("web")
	if hist[0].Kind != deploy.KindRollback || hist[0].Plan.GreenVersion != "v1" {
		t.Fatalf("rollback not recorded as its own deployment: %+v", hist[0])
	}
}

func TestE2ERestartMidCanaryResumes(t *testing.T) {
	r := baseline(t, strings.Replace(canary, "pause: 700ms}", "pause: 2s}", 1))
	l := startLoad(t, r.url, 2)
	s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, s.ID, func(s deploy.State) bool { return s.Phase == deploy.PhaseShifting })
	before, _ := r.driver.List(context.Background())
	r.close() // the control plane goes away; instances keep running
	r.open()  // and comes back over the same state
	after, _ := r.driver.List(context.Background())
	if len(after) != len(before) {
		t.Fatalf("instances before restart %d, re-adopted %d", len(before), len(after))
	}
	s = r.wait(s.ID)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("after restart: %s: %s", s.Phase, s.Reason)
	}
	l.end()
	// The load ran against two routers in turn (the in-process one restarted): count only
	// what the product promises here, that the deployment settles and nothing leaks.
	eventually(t, 10*time.Second, "v1 retired after keep-warm? no: v1 stays warm", func() bool {
		ins, _ := r.driver.List(context.Background())
		return len(ins) == 4 // v2 serving (2) + v1 warm (2)
	})
}

func version(t *testing.T, url string) string {
	t.Helper()
	c := newHTTP()
	resp, err := c.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.Header.Get("X-Version")
}

func waitFor(t testing.TB, r *rig, id string, cond func(deploy.State) bool) {
	t.Helper()
	eventually(t, 30*time.Second, "deployment "+id+" to reach the expected state", func() bool {
		s, err := r.eng.Deployment(id)
		return err == nil && cond(s)
	})
}

func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2ERollingReplacesInstances(t *testing.T) {
	r := baseline(t, "")
	rolling := strings.Replace(r.specText(""), "instances: 2", "instances: 4", 1) + `strategy:
  rolling: {batch: 2, pause: 700ms}
analysis:
  interval: 300ms
  window: 1s
  min_requests: 20
`
	if err := r.eng.Apply(r.parse(rolling)); err != nil {
		t.Fatal(err)
	}
	l := startLoad(t, r.url, 4)
	s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Mid-way the fleet is mixed: blue scaled down as green comes up, never both in full.
	waitFor(t, r, s.ID, func(s deploy.State) bool { return s.Phase == deploy.PhaseShifting && s.Weight == 5000 })
	eventually(t, 10*time.Second, "blue scaled down to 2 at 50%", func() bool {
		n := map[string]int{}
		ins, _ := r.driver.List(context.Background())
		for _, in := range ins {
			n[in.Release]++
		}
		return n["v1"] == 2 && n["v2"] == 2
	})
	s = r.wait(s.ID)
	l.end()
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("rolling v2: %s: %s", s.Phase, s.Reason)
	}
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during a rolling update; first: %s", f, l.sent.Load(), l.firstErr)
	}
	n := map[string]int{}
	ins, _ := r.driver.List(context.Background())
	for _, in := range ins {
		n[in.Release]++
	}
	if n["v2"] != 4 || n["v1"] != 0 {
		t.Fatalf("after the rolling update: %v, want 4 of v2 and none of v1", n)
	}
}

// TestE2EMissingProgramFailsWithItsCause: a spec whose program does not exist fails the
// deployment with the exec error, not with a health timeout that hides it.
func TestE2EMissingProgramFailsWithItsCause(t *testing.T) {
	r := newRig(t)
	y := strings.Replace(r.specText(""), "command: [", `command: ["/nonexistent/app", `, 1)
	if err := r.eng.Apply(r.parse(y)); err != nil {
		t.Fatal(err)
	}
	s := r.deploy("v1", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "cannot start green instances of v1") ||
		!strings.Contains(s.Reason, "no such file or directory") {
		t.Fatalf("%s: %s; want failed naming the missing program", s.Phase, s.Reason)
	}
}
