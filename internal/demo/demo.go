// Package demo runs cutover's two-minute tour on this machine: a sample app deployed as v1,
// then a canary to v2 under constant load with a live view, then a faulty v3 that analysis
// rolls back by itself, and a summary of what every request saw.
//
// It runs a real cutover server (internal/daemon, as `cutover server` does) in a temporary
// directory, serving its API on a unix socket only, and talks to it only through the API
// (internal/api), like a user would: apply the spec, deploy, follow the deployment, read the
// router's signals. At the end it stops the server and every instance it started, and leaves
// nothing running.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/freeport"
	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/runtime/process"
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
	// RouterExe, if set, runs the router as its own process from this binary, as `cutover
	// server` does; the demo stops it at the end. "" runs it inside the demo's server.
	RouterExe string
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

const (
	// serverStart bounds how long the server may take to answer on its socket.
	serverStart = 10 * time.Second
	// serverStop bounds how long the server may take to stop (its router drains for up to 30s).
	serverStop = 40 * time.Second
	// pollEvery is how often a deployment in progress is read.
	pollEvery = 150 * time.Millisecond
)

// env is one demo run: its temporary directory, the server running over it and a client for
// the server's socket.
type env struct {
	dir    string
	token  string // in every instance's environment, to find leftovers
	listen string // the app's route
	socket string
	client *api.Client
	cancel context.CancelFunc // stops the server
	done   chan error         // the server's Run result
	out    io.Writer
}

// Run performs the demo and returns its summary. Whatever happens, it stops the server and
// every process it started before returning.
func Run(ctx context.Context, opts Options) (sum Summary, err error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Step <= 0 {
		opts.Step = 4 * time.Second
	}
	e, err := setUp(ctx, opts.Out, opts.RouterExe)
	if err != nil {
		return sum, err
	}
	defer func() {
		left, terr := e.tearDown()
		sum.LeftoverProcesses = left
		sum.Seconds = time.Since(start).Seconds()
		if err == nil && terr != nil {
			err = terr
		}
	}()
	if _, err := e.client.Apply(ctx, "shop", e.spec(opts)); err != nil {
		return sum, fmt.Errorf("apply the demo's spec: %w", err)
	}
	fmt.Fprintf(e.out, "cutover demo: app \"shop\" on http://%s (server in %s, API on %s)\n\n", e.listen, e.dir, e.socket)
	idle := &load{byPh: map[string]*tally{}} // v1 goes in before any client arrives
	if sum.V1, _, err = e.deploy(ctx, idle, "v1", nil); err != nil {
		return sum, err
	}
	l := startLoad("http://"+e.listen, 8, 4*time.Millisecond)
	defer l.stop()
	var v2 api.Deployment
	if sum.V2, v2, err = e.deploy(ctx, l, "v2", nil); err != nil {
		return sum, err
	}
	sum.Steps = steps(l, v2)
	bad, _, err := e.deploy(ctx, l, "v3", map[string]string{"SAMPLE_ERROR_RATE": "0.2"})
	if err != nil {
		return sum, err
	}
	sum.V3 = BadPhase{Phase: bad, BadResponses: l.bad("v3")}
	return sum, nil
}

// setUp starts a server over a new temporary directory and waits until it answers on its
// socket.
func setUp(ctx context.Context, out io.Writer, routerExe string) (*env, error) {
	dir, err := os.MkdirTemp("", "cutover-demo-")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	e := &env{dir: dir, token: hex.EncodeToString(tok), socket: daemon.DefaultSocket(dir), out: out}
	if e.listen, err = freeport.Addr(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	// The server lives until tearDown, not until ctx ends: it must outlive the deployments
	// it drives, whatever happens to the caller.
	sctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() {
		e.done <- daemon.Run(sctx, daemon.Config{DataDir: dir, Socket: e.socket, Listen: "",
			RouterExe: routerExe, Logger: slog.New(slog.DiscardHandler)})
	}()
	e.client = api.NewUnix(e.socket)
	if err := e.waitServer(ctx); err != nil {
		_, _ = e.tearDown()
		return nil, err
	}
	return e, nil
}

// waitServer polls the socket until the server answers, it ends, or serverStart passes.
func (e *env) waitServer(ctx context.Context) error {
	deadline := time.Now().Add(serverStart)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := e.client.Apps(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case rerr := <-e.done:
			e.done <- rerr // for tearDown
			return fmt.Errorf("the demo's server stopped at start: %v", rerr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the demo's server did not answer on %s within %s: %w", e.socket, serverStart, err)
		}
	}
}

// spec is the demo app's spec, as a user would write it.
func (e *env) spec(opts Options) []byte {
	q := make([]string, len(opts.AppCommand))
	for i, a := range opts.AppCommand {
		q[i] = fmt.Sprintf("%q", a)
	}
	return []byte(fmt.Sprintf(`app: shop
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
`, e.listen, strings.Join(q, ", "), e.token, extraEnv(opts.AppEnv), opts.Step, opts.Step))
}

// deploy runs one deployment to its end through the API, showing the live view, and
// returns what the clients saw and the deployment as it ended, with its events.
func (e *env) deploy(ctx context.Context, l *load, version string, set map[string]string) (Phase, api.Deployment, error) {
	fmt.Fprintf(e.out, "== deploy %s\n", version)
	l.setPhase(version)
	start := time.Now()
	d, err := e.client.Deploy(ctx, "shop", api.DeployRequest{Version: version, Set: set})
	if err != nil {
		return Phase{}, d, fmt.Errorf("deploy %s: %w", version, err)
	}
	final, err := e.watch(ctx, d.ID)
	if err != nil {
		return Phase{}, final, fmt.Errorf("follow the deployment of %s: %w", version, err)
	}
	sent, failed := l.count(version)
	fmt.Fprintf(e.out, "   %s: %s\n\n", final.Phase, final.Reason)
	return Phase{Outcome: final.Phase, Reason: final.Reason, Requests: sent, Failed: failed,
		Seconds: time.Since(start).Seconds()}, final, nil
}

// tearDown stops the server, then every instance the demo started (the server leaves
// instances running by design, for its next start to re-adopt), counts processes that carry
// the demo's token and still run, and removes the directory.
func (e *env) tearDown() (left int, err error) {
	e.cancel()
	select {
	case rerr := <-e.done:
		if rerr != nil {
			err = fmt.Errorf("the demo's server: %w", rerr)
		}
	case <-time.After(serverStop):
		err = fmt.Errorf("the demo's server did not stop within %s", serverStop)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), serverStop)
	if rerr := routerctl.Stop(rctx, e.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("stop the demo's router: %w", rerr))
	}
	rcancel()
	driver, derr := process.New(process.Options{StateDir: filepath.Join(e.dir, "instances")})
	if derr != nil {
		err = errors.Join(err, derr)
	} else {
		ins, _ := driver.List(context.Background())
		for _, in := range ins {
			if serr := driver.Stop(context.Background(), in, 2*time.Second); serr != nil {
				err = errors.Join(err, fmt.Errorf("stop instance %s: %w", in.ID, serr))
			}
		}
	}
	left = countToken(e.token)
	_ = os.RemoveAll(e.dir)
	return left, err
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
