package multirouter

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// topology says where the server and each following router run and how they reach each
// other.
type topology struct {
	serverWrap []string // a command prefix for the server (ip netns exec NS), or nil
	serverArgs []string // its --listen and friends
	listen     string   // the app's route, as the server's table names it
	followers  []spot
}

// spot is one following router: where it runs, the server URL it follows, what it binds and
// where its clients reach it.
type spot struct {
	name, follow, bind, loadURL string
	wrap                        []string
}

// scenario: v1 deployed; two followers take the table; load only through them; a canary
// to v2 succeeds on analysis of their summed traffic (the server's own router gets none);
// v3 failing half its requests is rolled back by that analysis; with the server killed the
// followers keep serving v2.
func scenario(t *testing.T, top topology) {
	exe := sampletest.Cutover(t)
	dir := t.TempDir()
	srv := sampletest.StartServerWith(t, exe, dir, top.serverWrap, top.serverArgs...)
	t.Cleanup(func() { cleanup(t, srv, dir) })
	token, err := os.ReadFile(filepath.Join(dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	c := srv.API
	ctx := context.Background()
	if _, err := c.Apply(ctx, "web", []byte(spec(exe, top.listen))); err != nil {
		t.Fatalf("apply: %v", err)
	}
	deploy(t, srv, "v1", nil, "succeeded")

	for _, f := range top.followers {
		startFollower(t, exe, dir, f, strings.TrimSpace(string(token)))
	}
	waitRouters(t, c, len(top.followers))
	var loads []*load
	for _, f := range top.followers {
		loads = append(loads, startLoad(t, f.wrap, f.loadURL))
	}
	// The server sees the followers' traffic: its own router gets none.
	poll(t, 30*time.Second, "the server's signals to count the followers' requests", func() (bool, string) {
		s, err := c.Signals(ctx, "web", 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return s.Blue.Requests >= 200, fmt.Sprintf("blue %d requests", s.Blue.Requests)
	})

	d := deploy(t, srv, "v2", nil, "succeeded")
	t.Logf("v2: %s", d.Reason)
	d = deploy(t, srv, "v3", map[string]string{"SAMPLE_ERROR_RATE": "0.5"}, "rolled_back")
	if !strings.Contains(d.Reason, "analysis failed") {
		t.Errorf("v3 rolled back for %q, want analysis failing on the followers' errors", d.Reason)
	}
	for i, l := range loads {
		r := l.end()
		t.Logf("load through %s: %+v", top.followers[i].name, r)
		if r.ByVersion["v2"] == 0 || r.ByVersion["v1"] == 0 {
			t.Errorf("%s: served %v, want v1 then v2", top.followers[i].name, r.ByVersion)
		}
		for v, n := range r.FailedBy {
			if v != "v3" && n > 0 {
				t.Errorf("%s: %d failed requests answered by %q (only v3's own 500s may fail): %v", top.followers[i].name, n, v, r.Errors)
			}
		}
	}

	// The server goes away: the followers keep serving their last table, v2.
	srv.Kill9()
	for i, f := range top.followers {
		loads[i] = startLoad(t, f.wrap, f.loadURL)
	}
	time.Sleep(2 * time.Second) // load for a while with the server gone; nothing to poll
	for i, l := range loads {
		r := l.end()
		if r.Sent < 50 || r.Failed != 0 || r.ByVersion["v2"] != int(r.Sent) {
			t.Errorf("%s with the server down: %+v, want every request answered by v2", top.followers[i].name, r)
		}
	}
	srv.Start()
}

func spec(exe, listen string) string {
	return fmt.Sprintf(`app: web
routes:
  - listen: %s
run:
  process:
    command: [%q, sample-app]
  instances: 1
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 10s}
keep_warm: 30s
drain_timeout: 1s
strategy:
  canary:
    steps:
      - {weight: 20, pause: 3s}
      - {weight: 50, pause: 3s}
analysis:
  interval: 500ms
  window: 2s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 5}}]
deadlines: {deployment: 2m}
`, listen, exe)
}

func deploy(t *testing.T, srv *sampletest.Server, version string, set map[string]string, want string) api.Deployment {
	t.Helper()
	d, err := srv.API.Deploy(context.Background(), "web", api.DeployRequest{Version: version, Set: set})
	if err != nil {
		t.Fatalf("deploy %s: %v", version, err)
	}
	d = srv.WaitFor(d.ID, "the end", 2*time.Minute, func(d api.Deployment) bool {
		return d.Phase == "succeeded" || d.Phase == "rolled_back" || d.Phase == "failed" || d.Phase == "aborted"
	})
	if d.Phase != want {
		t.Fatalf("%s: %s (%s), want %s", version, d.Phase, d.Reason, want)
	}
	return d
}

// startFollower runs `cutover router --follow` at f, logging to dir/follower-NAME.log.
func startFollower(t *testing.T, exe, dir string, f spot, token string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, "follower-"+f.name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string(nil), f.wrap...), exe, "router", "--follow", f.follow, "--token", token, "--name", f.name, "--drain-timeout", "2s")
	if f.bind != "" {
		argv = append(argv, "--bind", f.bind)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// waitRouters waits until n followers report the server's current table.
func waitRouters(t *testing.T, c *api.Client, n int) {
	t.Helper()
	poll(t, 30*time.Second, fmt.Sprintf("%d following routers up to date", n), func() (bool, string) {
		rs, err := c.Routers(context.Background())
		if err != nil {
			return false, err.Error()
		}
		live := 0
		for _, r := range rs {
			if !r.Local && r.Behind == 0 && !r.Stale {
				live++
			}
		}
		return live == n, fmt.Sprintf("%+v", rs)
	})
}

func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("waited %s for %s; last: %s", timeout, what, last)
}

// cleanup stops the server, its router and every instance, and shows the logs on failure.
func cleanup(t *testing.T, srv *sampletest.Server, dir string) {
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if d, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")}); err == nil {
		ins, _ := d.List(ctx)
		for _, in := range ins {
			_ = d.Stop(ctx, in, 2*time.Second)
		}
	}
	if t.Failed() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			if len(data) > 6000 {
				data = data[len(data)-6000:]
			}
			t.Logf("--- %s\n%s", filepath.Base(f), data)
		}
	}
}
