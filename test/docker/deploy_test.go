package docker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// spec is the test's app on the docker runtime, built from contextDir, with two instances,
// fast health checks and a canary whose steps pause for pause.
func (cl *cluster) spec(contextDir string, pause time.Duration) string {
	return fmt.Sprintf(`app: %s
routes: [{listen: %q}]
run:
  docker:
    build: {context: %q}
    port: 8080
    memory: 64m
  instances: 2
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 20s}
strategy:
  canary:
    steps:
      - {weight: 20, pause: %s}
      - {weight: 50, pause: %s}
analysis:
  interval: 500ms
  window: 2s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 2}}]
keep_warm: 1s
drain_timeout: 1s
deadlines: {deployment: 120s}
`, cl.app, cl.listen, contextDir, pause, pause)
}

func (cl *cluster) apply(y string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cl.c.Apply(ctx, cl.app, []byte(y)); err != nil {
		cl.t.Fatalf("apply: %v", err)
	}
}

func (cl *cluster) deploy(version string, set map[string]string) api.Deployment {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := cl.c.Deploy(ctx, cl.app, api.DeployRequest{Version: version, Set: set})
	if err != nil {
		cl.t.Fatalf("deploy %s: %v", version, err)
	}
	return d
}

// waitFor polls the deployment until cond holds, for at most timeout.
func (cl *cluster) waitFor(id, what string, timeout time.Duration, cond func(api.Deployment) bool) api.Deployment {
	cl.t.Helper()
	return cl.srv.WaitFor(id, what, timeout, cond)
}

func (cl *cluster) waitTerminal(id string) api.Deployment {
	cl.t.Helper()
	return cl.waitFor(id, "terminal", 3*time.Minute, func(d api.Deployment) bool { return d.Terminal })
}

// deployWait deploys version and wants it to end in phase.
func (cl *cluster) deployWait(version, phase string, set map[string]string) api.Deployment {
	cl.t.Helper()
	d := cl.waitTerminal(cl.deploy(version, set).ID)
	if d.Phase != phase {
		cl.t.Fatalf("%s: %s (%s); want %s", version, d.Phase, d.Reason, phase)
	}
	return d
}

// events is the text of the deployment's events, one per line.
func (cl *cluster) events(d api.Deployment) string {
	var b strings.Builder
	for _, ev := range d.Events {
		b.WriteString(ev.Message + "\n")
	}
	return b.String()
}

// servedBy is the version that answers a new request through the router.
func (cl *cluster) servedBy() string {
	cl.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + cl.listen + "/")
	if err != nil {
		cl.t.Fatalf("a request through the router: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Version")
}

// running returns the IDs of the running containers of release, sorted.
func (cl *cluster) running(release string) []string {
	var ids []string
	for _, c := range cl.containersOf(cl.owner()) {
		if c.release == release && c.state == "running" {
			ids = append(ids, c.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// waitOnly waits until the server's only containers, in any state, are the running ones of
// release, n of them, and returns their IDs: nothing else leaked or was left behind.
func (cl *cluster) waitOnly(release string, n int) []string {
	cl.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		all := cl.containersOf(cl.owner())
		ids := cl.running(release)
		if len(all) == n && len(ids) == n {
			return ids
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("containers of the server: %+v; want only the %d running ones of %s", all, n, release)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
