// Package demo runs cutover's two-minute tour on this machine: a sample app deployed as v1,
// then a canary to v2 under constant load with a live view, then a faulty v3 that analysis
// rolls back by itself, and a summary of what every request saw. It starts everything it needs
// in a temporary directory and leaves nothing running.
//
// For now it drives the engine in-process; once the server and API exist it will drive them.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// Options configure a demo run.
type Options struct {
	// AppCommand runs the sample app, e.g. [cutover, "sample-app"].
	AppCommand []string
	// Out receives the live view; nil for none.
	Out io.Writer
	// AppEnv is extra environment for the app's instances.
	AppEnv map[string]string
	// Step is how long each canary step bakes; default 4s.
	Step time.Duration
}

// Summary is what the demo reports, also as JSON.
type Summary struct {
	V1                Phase     `json:"v1"`
	V2                Phase     `json:"v2"`
	V3                BadPhase  `json:"v3"`
	LeftoverProcesses int       `json:"leftover_processes"`
	Seconds           float64   `json:"seconds"`
	Steps             []StepObs `json:"v2_steps"`
}

// Phase is one deployment under load.
type Phase struct {
	Outcome  string  `json:"outcome"`
	Reason   string  `json:"reason"`
	Requests int     `json:"requests"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"seconds"`
}

// BadPhase is the faulty release: how many requests green answered badly before rollback.
type BadPhase struct {
	Phase
	BadResponses int `json:"bad_responses"`
}

// StepObs is the split the clients observed while a canary step held.
type StepObs struct {
	Weight       float64 `json:"weight"`
	Requests     int     `json:"requests"`
	GreenPercent float64 `json:"green_percent"`
}

type env struct {
	dir    string
	token  string
	listen string
	store  *store.Store
	driver *process.Driver
	router *router.Router
	eng    *engine.Engine
	out    io.Writer
}

// Run performs the demo and returns its summary. Whatever happens, it stops every process it
// started before returning.
func Run(ctx context.Context, opts Options) (sum Summary, err error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Step <= 0 {
		opts.Step = 4 * time.Second
	}
	e, err := setUp(opts.Out)
	if err != nil {
		return sum, err
	}
	defer func() {
		sum.LeftoverProcesses = e.tearDown()
		sum.Seconds = time.Since(start).Seconds()
	}()
	if err := e.eng.Apply(e.spec(opts)); err != nil {
		return sum, err
	}
	fmt.Fprintf(e.out, "cutover demo: app \"shop\" on http://%s (data in %s)\n\n", e.listen, e.dir)
	idle := &load{byPh: map[string]*tally{}} // v1 goes in before any client arrives
	if sum.V1, err = e.deploy(ctx, idle, "v1", nil); err != nil {
		return sum, err
	}
	l := startLoad("http://"+e.listen, 8, 4*time.Millisecond)
	defer l.stop()
	sum.V2, err = e.deploy(ctx, l, "v2", nil)
	if err != nil {
		return sum, err
	}
	sum.Steps = e.steps(l, "v2")
	bad, err := e.deploy(ctx, l, "v3", map[string]string{"SAMPLE_ERROR_RATE": "0.2"})
	if err != nil {
		return sum, err
	}
	sum.V3 = BadPhase{Phase: bad, BadResponses: l.bad("v3")}
	return sum, nil
}

func setUp(out io.Writer) (*env, error) {
	dir, err := os.MkdirTemp("", "cutover-demo-")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	e := &env{dir: dir, token: hex.EncodeToString(tok), out: out}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.listen = ln.Addr().String()
	ln.Close()
	if e.store, err = store.Open(filepath.Join(dir, "state.db")); err != nil {
		return nil, err
	}
	if e.driver, err = process.New(process.Options{StateDir: filepath.Join(dir, "instances")}); err != nil {
		return nil, err
	}
	e.router = router.New(router.Options{SampleInterval: 250 * time.Millisecond, DrainTimeout: 2 * time.Second})
	e.eng, err = engine.New(context.Background(), engine.Options{Router: e.router, Driver: e.driver, Store: e.store,
		Tick: 20 * time.Millisecond, JanitorInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	return e, err
}

func (e *env) spec(opts Options) *spec.App {
	q := make([]string, len(opts.AppCommand))
	for i, a := range opts.AppCommand {
		q[i] = fmt.Sprintf("%q", a)
	}
	y := fmt.Sprintf(`app: shop
routes: [{listen: %q}]
run:
  process:
    command: [%s]
    env: {CUTOVER_DEMO_TOKEN: %q%s}
  instances: 2
  stop_grace: 2s
health: {path: /healthz, interval: 200ms, timeout: 1s, healthy_threshold: 1, startup_grace: 20s}
strategy:
  canary:
    steps:
      - {weight: 10, pause: %s}
      - {weight: 50, pause: %s}
analysis:
  interval: 1s
  window: 3s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 2}}]
keep_warm: 1m
drain_timeout: 2s
deadlines: {deployment: 90s}
`, e.listen, strings.Join(q, ", "), e.token, extraEnv(opts.AppEnv), opts.Step, opts.Step)
	a, err := spec.Parse(strings.NewReader(y))
	if err != nil {
		panic(err) // the demo's own spec: a mistake here is a bug
	}
	return a
}

// deploy runs one deployment to its end, showing the live view.
func (e *env) deploy(ctx context.Context, l *load, version string, set map[string]string) (Phase, error) {
	fmt.Fprintf(e.out, "== deploy %s\n", version)
	l.setPhase(version)
	start := time.Now()
	s, err := e.eng.Deploy(ctx, "shop", version, set)
	if err != nil {
		return Phase{}, err
	}
	e.watch(ctx, s.ID)
	final, err := e.eng.Deployment(s.ID)
	if err != nil {
		return Phase{}, err
	}
	sent, failed := l.count(version)
	fmt.Fprintf(e.out, "   %s: %s\n\n", final.Phase, final.Reason)
	return Phase{Outcome: string(final.Phase), Reason: final.Reason, Requests: sent, Failed: failed,
		Seconds: time.Since(start).Seconds()}, nil
}

// tearDown stops everything and counts processes that carry the demo's token and still run.
func (e *env) tearDown() int {
	if e.eng != nil {
		e.eng.Close()
	}
	if e.router != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = e.router.Close(ctx)
		cancel()
	}
	if e.driver != nil {
		ins, _ := e.driver.List(context.Background())
		for _, in := range ins {
			_ = e.driver.Stop(context.Background(), in, 2*time.Second)
		}
	}
	if e.store != nil {
		_ = e.store.Close()
	}
	left := countToken(e.token)
	_ = os.RemoveAll(e.dir)
	return left
}

// countToken counts live processes whose environment carries the demo's token.
func countToken(token string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "CUTOVER_DEMO_TOKEN="+token) {
			stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
			if !strings.Contains(string(stat), ") Z ") { // a zombie is gone, only not yet reaped
				n++
			}
		}
	}
	return n
}

func extraEnv(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, ", %s: %q", k, v)
	}
	return b.String()
}
