package reliability_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// exe is the cutover binary the cluster runs.
var exe string

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

// cluster is one machine's cutover: a server process (which starts its router process)
// over a data dir, driven through the API socket.
type cluster struct {
	t       *testing.T
	dir     string
	listen  string // the app's production listener
	c       *api.Client
	srv     *sampletest.Server
	rc      *routerctl.Client // the router's control socket
	metrics *http.Client      // the server's /metrics, over its socket
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	exe = sampletest.Cutover(t)
	cl := &cluster{t: t, dir: t.TempDir(), listen: sampletest.FreeAddr(t)}
	cl.c = api.NewUnix(filepath.Join(cl.dir, "cutover.sock"))
	cl.rc = routerctl.NewClient(routerctl.SocketPath(cl.dir), nil)
	cl.metrics = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", filepath.Join(cl.dir, "cutover.sock"))
		}}}
	t.Cleanup(cl.cleanup)
	cl.srv = sampletest.StartServer(t, exe, cl.dir)
	return cl
}

func (cl *cluster) start() { cl.srv.Start() }
func (cl *cluster) kill9() { cl.srv.Kill9() }

// cleanup stops the server, the router and every instance, and shows the logs on failure.
func (cl *cluster) cleanup() {
	if cl.srv != nil {
		cl.srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if d, err := process.New(process.Options{StateDir: filepath.Join(cl.dir, "instances")}); err == nil {
		ins, _ := d.List(ctx)
		for _, in := range ins {
			_ = d.Stop(ctx, in, 2*time.Second)
		}
	}
	if cl.t.Failed() {
		cl.t.Logf("logs:\n%s", cl.logs())
	}
}

func (cl *cluster) logs() string {
	if cl.srv == nil {
		return ""
	}
	return cl.srv.Logs()
}

// baseSpec is the app without strategy: the sample app from the cutover binary, two
// instances with fast health checks.
func (cl *cluster) baseSpec() string {
	return fmt.Sprintf(`app: web
routes: [{listen: %q}]
run:
  process:
    command: [%q, sample-app]
  instances: 2
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 10s}
`, cl.listen, exe)
}

// slowCanary makes every phase last long enough to be killed in: two canary steps judged on
// errors, a slow hook when green is healthy and one at full traffic.
const slowCanary = `strategy:
  canary:
    steps:
      - {weight: 10, pause: 1500ms}
      - {weight: 50, pause: 1500ms}
hooks:
  - {name: slow-check, at: green_healthy, command: {argv: [sleep, "1"]}}
  - {name: slow-notify, at: after_full_traffic, command: {argv: [sleep, "1"]}}
analysis:
  interval: 500ms
  window: 2s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 2}}]
keep_warm: 2s
drain_timeout: 1s
deadlines: {deployment: 60s}
`

func (cl *cluster) applySlow() { cl.applyYAML(cl.baseSpec() + slowCanary) }

func (cl *cluster) applyYAML(y string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.c.Apply(ctx, "web", []byte(y)); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *cluster) deploy(version string, set map[string]string) api.Deployment {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := cl.c.Deploy(ctx, "web", api.DeployRequest{Version: version, Set: set})
	if err != nil {
		cl.t.Fatal(err)
	}
	return d
}

// waitFor polls the deployment until cond holds, for at most timeout.
func (cl *cluster) waitFor(id, what string, timeout time.Duration, cond func(api.Deployment) bool) api.Deployment {
	cl.t.Helper()
	return cl.srv.WaitFor(id, what, timeout, cond)
}

func (cl *cluster) waitTerminal(id string) api.Deployment {
	return cl.waitFor(id, "terminal", 90*time.Second, func(d api.Deployment) bool { return d.Terminal })
}

// instancePIDs are the PIDs of the instances of version that the process driver records.
func (cl *cluster) instancePIDs(version string) []int {
	cl.t.Helper()
	files, _ := filepath.Glob(filepath.Join(cl.dir, "instances", "instances", "*.json"))
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var rec struct {
			Release string `json:"release"`
			Handle  struct {
				PID int `json:"pid"`
			} `json:"handle"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			cl.t.Fatalf("instance record %s: %v", f, err)
		}
		if rec.Release == version && rec.Handle.PID > 0 {
			pids = append(pids, rec.Handle.PID)
		}
	}
	return pids
}

// usage is what a process holds: open descriptors and resident memory.
type usage struct {
	fds   int
	rssKB int
}

func usageOf(pid int) usage {
	var u usage
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	u.fds = len(ents)
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			u.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return u
}

// metric reads one unlabelled gauge from the server's /metrics (which includes the router's).
func (cl *cluster) metric(name string) float64 {
	cl.t.Helper()
	resp, err := cl.metrics.Get("http://cutover/metrics")
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				cl.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	cl.t.Fatalf("metric %s not served", name)
	return 0
}

func (cl *cluster) routerPID() int {
	cl.t.Helper()
	st, err := cl.rc.Ping(context.Background())
	if err != nil {
		cl.t.Fatal(err)
	}
	return st.PID
}

// markedProcesses counts live processes (group leaders) that the process driver of this
// cluster started, recorded or not: a leak that no record shows is counted too.
func (cl *cluster) markedProcesses() int {
	mark := []byte(process.EnvStateDir + "=" + filepath.Join(cl.dir, "instances") + "\x00")
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !strings.Contains("\x00"+string(env), "\x00"+string(mark)) {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}
