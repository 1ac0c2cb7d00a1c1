// Command engine measures the deployment engine on this machine, with real processes and the
// real router: engine overhead (deploy to first request on green, minus the app's own start
// and health time), rollback latency (abort, and rollback after success), a bad green's
// blast radius, and deploy to green serving with each runtime driver (process, and docker
// with an image given or built by the deployment; needs a Docker engine unless
// -docker=false). Run from the repository: go run ./bench/engine [-runs 10] [-docker=false] [-drivers-only]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/docker"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

func main() {
	if os.Getenv("CUTOVER_BENCH_APP") != "" { // this binary doubles as the sample app
		os.Exit(sampleapp.Main())
	}
	runs := flag.Int("runs", 10, "deployments per measurement")
	withDocker := flag.Bool("docker", true, "also measure the docker driver (needs a Docker engine: DOCKER_HOST or the local socket)")
	onlyDrivers := flag.Bool("drivers-only", false, "measure only deploy → green serving by runtime driver")
	flag.Parse()
	if err := run(*runs, *withDocker, *onlyDrivers); err != nil {
		fmt.Fprintln(os.Stderr, "bench/engine:", err)
		os.Exit(1)
	}
}

type rig struct {
	dir    string
	router *router.Router
	store  *store.Store
	driver *process.Driver
	eng    *engine.Engine
	url    string
	listen string

	docker    *docker.Driver // nil when the engine does not answer (dockerErr says why)
	dockerErr error
	images    []string // references (with wildcards) of the images to remove at close
}

func newRig() (*rig, error) {
	dir, err := os.MkdirTemp("", "cutover-bench-")
	if err != nil {
		return nil, err
	}
	r := &rig{dir: dir, listen: freeAddr()}
	r.url = "http://" + r.listen
	if r.store, err = store.Open(filepath.Join(dir, "state.db")); err != nil {
		return nil, err
	}
	if r.driver, err = process.New(process.Options{StateDir: filepath.Join(dir, "instances")}); err != nil {
		return nil, err
	}
	drivers := map[string]runtime.Driver{process.Name: r.driver}
	if d, err := docker.New(docker.Options{Owner: "bench-" + filepath.Base(dir)}); err != nil {
		r.dockerErr = err
	} else if r.dockerErr = d.Ping(context.Background()); r.dockerErr == nil {
		r.docker = d
		drivers[docker.Name] = d
	}
	r.router = router.New(router.Options{SampleInterval: 100 * time.Millisecond, DrainTimeout: time.Second})
	r.eng, err = engine.New(context.Background(), engine.Options{Router: r.router, Drivers: drivers, Store: r.store,
		Tick: 10 * time.Millisecond, JanitorInterval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	return r, err
}

func (r *rig) close() {
	r.eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = r.router.Close(ctx)
	ins, _ := r.driver.List(ctx)
	for _, in := range ins {
		_ = r.driver.Stop(ctx, in, time.Second)
	}
	if r.docker != nil {
		ins, _ := r.docker.List(ctx)
		for _, in := range ins {
			_ = r.docker.Stop(ctx, in, time.Second)
		}
		removeImages(ctx, r.images)
		_ = r.docker.Close()
	}
	_ = r.store.Close()
	_ = os.RemoveAll(r.dir)
}

func (r *rig) apply(strategy, analysis string) error { return r.applyRun("", strategy, analysis) }

// applyRun applies the bench app with runtime as its run's runtime line ("" runs this binary
// as the sample app, a process).
func (r *rig) applyRun(runtime, strategy, analysis string) error {
	if runtime == "" {
		exe, _ := os.Executable()
		runtime = fmt.Sprintf(`process: {command: [%q], env: {CUTOVER_BENCH_APP: "1"}}`, exe)
	}
	y := fmt.Sprintf(`app: bench
routes: [{listen: %s}]
run:
  %s
  instances: 1
  stop_grace: 2s
health: {path: /healthz, interval: 50ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 10s}
keep_warm: 10m
drain_timeout: 1s
%s
%s`, r.listen, runtime, strategy, analysis)
	a, err := spec.Parse(strings.NewReader(y))
	if err != nil {
		return err
	}
	return r.eng.Apply(a)
}

func (r *rig) deployWait(version string, set map[string]string) (deploy.State, error) {
	s, err := r.eng.Deploy(context.Background(), "bench", version, set)
	if err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.eng.Wait(ctx, "bench"); err != nil {
		return s, err
	}
	return r.eng.Deployment(s.ID)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func versionOf(url string) string {
	resp, err := client.Get(url + "/")
	if err != nil {
		return ""
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Version")
}

// appStartTime is the app's own start and health time: exec to the first 200 on /healthz,
// polled every millisecond, without cutover in between.
func appStartTime() (time.Duration, error) {
	exe, _ := os.Executable()
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "CUTOVER_BENCH_APP=1", "PORT="+port, "CUTOVER_VERSION=probe")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	for time.Since(start) < 10*time.Second {
		if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("sample app never became healthy")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
