package reliability_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// soakDeployments is how many deployments the soak runs: CUTOVER_SOAK_DEPLOYMENTS, default
// 20 (CI); bench/chaos.sh runs 100.
func soakDeployments(t *testing.T) int {
	v := os.Getenv("CUTOVER_SOAK_DEPLOYMENTS")
	if v == "" {
		return 20
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 4 {
		t.Fatalf("CUTOVER_SOAK_DEPLOYMENTS=%q: want a number of at least 4", v)
	}
	return n
}

// fastCanary makes a deployment take about a second: two short steps judged quickly.
const fastCanary = `strategy:
  canary:
    steps:
      - {weight: 10, pause: 300ms}
      - {weight: 50, pause: 300ms}
analysis:
  interval: 200ms
  window: 1s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 2}}]
keep_warm: 1s
drain_timeout: 500ms
deadlines: {deployment: 60s}
`

// snapshot is what the soak watches for leaks.
type snapshot struct {
	server, router                 usage
	serverGoroutines, routerGorout float64
	instances                      int
}

func (cl *cluster) snapshot(versions []string) snapshot {
	s := snapshot{
		server:           usageOf(cl.srv.PID()),
		router:           usageOf(cl.routerPID()),
		serverGoroutines: cl.metric("go_goroutines"),
		routerGorout:     cl.metric("cutover_router_go_goroutines"),
	}
	for _, v := range versions {
		s.instances += len(alivePIDs(cl.instancePIDs(v)))
	}
	return s
}

func (s snapshot) String() string {
	return fmt.Sprintf("server %d fds %d MiB %v goroutines; router %d fds %d MiB %v goroutines; %d instances",
		s.server.fds, s.server.rssKB/1024, s.serverGoroutines, s.router.fds, s.router.rssKB/1024, s.routerGorout, s.instances)
}

// TestSoakAlternatingReleases deploys good and bad releases in turn under constant load:
// every good one succeeds and no request fails but the bad releases' own answers; every bad
// one is rolled back; at the end descriptors, goroutines, processes and memory are where
// they were after the first few deployments.
func TestSoakAlternatingReleases(t *testing.T) {
	n := soakDeployments(t)
	cl := newCluster(t)
	cl.applyYAML(cl.baseSpec() + fastCanary)
	if d := cl.waitTerminal(cl.deploy("v0", nil).ID); d.Phase != "succeeded" {
		t.Fatalf("v0: %s (%s)", d.Phase, d.Reason)
	}
	load := sampletest.StartLoad(t, "http://"+cl.listen+"/", 4)
	load.WaitSent(t, 100, 20*time.Second)
	var versions, bad []string
	var warm snapshot
	start := time.Now()
	for i := 1; i <= n; i++ {
		v := fmt.Sprintf("v%d", i)
		versions = append(versions, v)
		set, want := map[string]string(nil), "succeeded"
		if i%2 == 0 {
			set, want = map[string]string{"SAMPLE_ERROR_RATE": "0.5"}, "rolled_back"
			bad = append(bad, v)
		}
		d := cl.waitTerminal(cl.deploy(v, set).ID)
		if d.Phase != want {
			t.Fatalf("deployment %d (%s): %s (%s); want %s", i, v, d.Phase, d.Reason, want)
		}
		if i%4 == 0 {
			s := cl.settled(append([]string{"v0"}, versions...))
			t.Logf("after %d deployments: %s", i, s)
			if i == 4 {
				warm = s
			}
		}
	}
	load.End()
	end := cl.settled(append([]string{"v0"}, versions...))
	t.Logf("after %d deployments in %s: %s", n, time.Since(start).Round(time.Second), end)
	failed := load.FailedByVersion()
	for _, v := range bad {
		delete(failed, v)
	}
	if len(failed) != 0 {
		t.Errorf("requests failed outside the bad releases' own answers: %v (%v)", failed, load.Errors())
	}
	t.Logf("%d requests; failures by the version that answered: %v", load.Sent(), load.FailedByVersion())
	if end.instances != 2 {
		t.Errorf("%d instances run at the end, want the last good release's 2", end.instances)
	}
	// A few descriptors come and go with keep-alive connections and log files of warm
	// instances; a leak grows with every deployment, past this margin.
	if end.server.fds > warm.server.fds+8 || end.router.fds > warm.router.fds+8 {
		t.Errorf("descriptors grew: %s -> %s", warm, end)
	}
	if end.serverGoroutines > warm.serverGoroutines+8 || end.routerGorout > warm.routerGorout+8 {
		t.Errorf("goroutines grew: %s -> %s", warm, end)
	}
	if end.server.rssKB > warm.server.rssKB+40<<10 || end.router.rssKB > warm.router.rssKB+40<<10 {
		t.Errorf("memory grew by more than 40 MiB: %s -> %s", warm, end)
	}
}

// settled waits until only the blue release's instances run (keep-warm retired the rest),
// then takes a snapshot.
func (cl *cluster) settled(versions []string) snapshot {
	cl.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := cl.snapshot(versions)
		if s.instances == 2 || time.Now().After(deadline) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
}
