package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// env is a server in-process over a temporary data dir, and the CLI pointed at its socket.
type env struct {
	t      *testing.T
	dir    string
	socket string
	route  string
	listen string // the TCP API
}

func newEnv(t *testing.T) *env { return newEnvWith(t, daemon.Config{}) }

// newEnvWith is newEnv with cfg's logger; the data dir, socket and TCP API are the env's.
func newEnvWith(t *testing.T, cfg daemon.Config) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), route: sampletest.FreeAddr(t), listen: sampletest.FreeAddr(t)}
	cfg.DataDir, cfg.Listen = e.dir, e.listen
	e.socket = daemon.DefaultSocket(e.dir)
	t.Cleanup(func() { // last: nothing left running
		d, err := process.New(process.Options{StateDir: filepath.Join(e.dir, "instances")})
		if err != nil {
			t.Error(err)
			return
		}
		ins, _ := d.List(context.Background())
		for _, in := range ins {
			_ = d.Stop(context.Background(), in, time.Second)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _, _ := e.run("status"); code == 0 {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs the CLI and returns its exit code, stdout and stderr.
func (e *env) run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"--socket", e.socket}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// must runs the CLI and fails the test unless it exits with want.
func (e *env) must(want int, args ...string) string {
	e.t.Helper()
	code, out, errs := e.run(args...)
	if code != want {
		e.t.Fatalf("cutover %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// writeSpec writes the test app's spec with extra YAML and returns its path.
func (e *env) writeSpec(name, extra string) string {
	e.t.Helper()
	text := sampletest.Spec(e.t, e.route, sampletest.Options{StartupGrace: "2s", KeepWarm: "1s"}, `analysis:
  interval: 300ms
  window: 1s
  min_requests: 5
  checks:
    - name: errors
      error_rate: {max: 5}
`+extra)
	path := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// load sends a small steady load to the app's route until the test ends.
func (e *env) load() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: 2 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if resp, err := c.Get("http://" + e.route + "/"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	e.t.Cleanup(func() { close(stop); wg.Wait() })
}

func canary(pause string) string {
	return fmt.Sprintf(`strategy:
  canary:
    steps:
      - {weight: 10, %s}
      - {weight: 50, pause: 300ms}
`, pause)
}

// TestDeployOutcomes drives one app through every outcome of deploy --wait, then checks
// status, history and why against golden files.
func TestDeployOutcomes(t *testing.T) {
	e := newEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("app: web\nroutes: []\nhealth: {interval: -1s}\n"), 0o600)
	code, _, errs := e.run("apply", "-f", bad)
	if code != ExitError || !regexp.MustCompile(`(?m)^\S+: .+ \(line \d+\)$`).MatchString(errs) {
		t.Fatalf("apply of an invalid spec: exit %d, stderr:\n%s\nwant 1 and problems with paths and lines", code, errs)
	}
	if code, _, _ := e.run("validate", "-f", bad); code != ExitError {
		t.Fatalf("validate of an invalid spec: exit %d, want 1", code)
	}
	// A spec the server refuses whole (413) prints its one problem like any other.
	bomb := filepath.Join(t.TempDir(), "bomb.yaml")
	_ = os.WriteFile(bomb, []byte("app: web\nx: &h {"+"a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n"+
		"y: &y ["+strings.Repeat("*h, ", 99)+"*h]\nz: &z ["+strings.Repeat("*y, ", 99)+"*y]\n"), 0o600)
	for _, verb := range []string{"validate", "apply"} {
		code, _, errs := e.run(verb, "-f", bomb)
		if code != ExitError || !strings.Contains(errs, "once its aliases") || !strings.Contains(errs, "1 problem(s)") {
			t.Fatalf("%s of an alias bomb: exit %d, stderr:\n%s\nwant 1 and the size problem", verb, code, errs)
		}
	}

	spec := e.writeSpec("web.yaml", canary("pause: 300ms"))
	e.must(ExitOK, "validate", "-f", spec)
	e.must(ExitOK, "apply", "-f", spec)
	e.must(ExitOK, "deploy", "web", "--version", "v1", "--wait")
	e.load()
	out := e.must(ExitOK, "deploy", "web", "--version", "v2", "--wait")
	if !strings.Contains(out, "succeeded") {
		t.Errorf("deploy v2 output:\n%s", out)
	}
	e.must(ExitRolledBack, "deploy", "web", "--version", "v3", "--set", "SAMPLE_ERROR_RATE=0.5", "--wait")
	e.must(ExitFailed, "deploy", "web", "--version", "v4", "--set", "SAMPLE_UNHEALTHY=1", "--wait")

	// An approval gate ends the wait at once; abort then ends the deployment.
	e.must(ExitOK, "apply", "-f", e.writeSpec("gate.yaml", canary("approval: true")))
	out = e.must(ExitApproval, "deploy", "web", "--version", "v5", "--wait", "--timeout", "30s")
	if !strings.Contains(out, "waits for approval") {
		t.Errorf("deploy at a gate said:\n%s", out)
	}
	out = e.must(ExitOK, "abort", "web")
	if !strings.Contains(out, "aborted") {
		t.Errorf("abort said %q", out)
	}

	// A long pause: --timeout ends the wait with 6, an abort ends a waiting deploy with 4.
	e.must(ExitOK, "apply", "-f", e.writeSpec("long.yaml", canary("pause: 1m")))
	e.must(ExitTimeout, "deploy", "web", "--version", "v6", "--wait", "--timeout", "1s")
	// On a busy machine v6 may still be testing when the wait times out; the golden
	// history records an abort during the pause.
	waitFor(t, func() bool {
		_, out, _ := e.run("status", "web")
		return strings.Contains(out, "(deploy v6") && strings.Contains(out, "phase:    shifting")
	})
	e.must(ExitOK, "abort", "web")
	done := make(chan int, 1)
	go func() {
		code, _, _ := e.run("deploy", "web", "--version", "v7", "--wait")
		done <- code
	}()
	waitFor(t, func() bool {
		_, out, _ := e.run("status", "web")
		return strings.Contains(out, "(deploy v7") && strings.Contains(out, "phase:    shifting")
	})
	e.must(ExitOK, "abort", "web")
	if code := <-done; code != ExitAborted {
		t.Fatalf("deploy --wait of an aborted deployment: exit %d, want %d", code, ExitAborted)
	}

	golden(t, "status", e.must(ExitOK, "status", "web"))
	golden(t, "history", e.must(ExitOK, "history", "web"))
	golden(t, "why", e.must(ExitOK, "why", "web"))
	golden(t, "apps", e.must(ExitOK, "status"))
	if out := e.must(ExitOK, "history", "web", "-o", "json"); !strings.HasPrefix(out, "[\n  {") {
		t.Errorf("history -o json:\n%s", out)
	}
	if out := e.must(ExitOK, "logs", "web", "--lines", "5"); out == "" {
		t.Error("logs printed nothing")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// volatile are the parts of the output that change from run to run.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`), "DATE TIME"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|s|m)\b`), "DUR"},
	{regexp.MustCompile(`(?m)^(  (blue|green) +v\d+ +).*$`), "${1}SIGNALS"},
	{regexp.MustCompile(`\d+(\.\d+)?%`), "N%"},
	{regexp.MustCompile(`\(\d+ of \d+\)`), "(N of N)"},
	{regexp.MustCompile(`step \d+ \(`), "step N ("},
	{regexp.MustCompile(` {2,}`), "  "}, // column widths follow the values replaced above
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	for _, v := range volatile {
		got = v.re.ReplaceAllString(got, v.with)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

func TestWeightBar(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want string
	}{{0, "[░░░░░░░░░░]"}, {40, "[████░░░░░░]"}, {100, "[██████████]"}, {150, "[██████████]"}} {
		if got := weightBar(tc.pct, 10); got != tc.want {
			t.Errorf("weightBar(%v) = %s, want %s", tc.pct, got, tc.want)
		}
	}
}

func TestNewLinesPrintsOnlyTheNewTail(t *testing.T) {
	seen := map[string][]string{}
	read := func(lines ...string) []string {
		var ls []api.LogLine
		for _, l := range lines {
			ls = append(ls, api.LogLine{Instance: "i", Line: l})
		}
		var out []string
		for _, l := range newLines(seen, ls) {
			out = append(out, l.Line)
		}
		return out
	}
	if got := read("a", "b", "c"); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("first read: %v", got)
	}
	if got := read("b", "c", "d", "e"); strings.Join(got, ",") != "d,e" {
		t.Errorf("second read: %v, want d,e", got)
	}
	if got := read("b", "c", "d", "e"); len(got) != 0 {
		t.Errorf("unchanged read: %v, want nothing", got)
	}
}

// TestStatusWatchPiped: when the output is not a terminal, --watch prints a plain frame each
// time the deployment changes, never cursor movements.
func TestStatusWatchPiped(t *testing.T) {
	e := newEnv(t)
	e.must(ExitOK, "apply", "-f", e.writeSpec("web.yaml", canary("pause: 300ms")))
	e.must(ExitOK, "deploy", "web", "--version", "v1", "--wait")
	e.load() // analysis judges green from traffic
	e.must(ExitOK, "deploy", "web", "--version", "v2")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"--socket", e.socket, "status", "web", "--watch"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("status --watch exited %d: %s", code, errb.String())
	}
	s := out.String()
	if strings.Contains(s, "\x1b[") {
		t.Errorf("piped --watch wrote terminal escapes:\n%q", s)
	}
	if frames := strings.Count(s, "--- "); frames < 3 {
		t.Errorf("piped --watch printed %d frames while v2 moved through its steps, want several:\n%s", frames, s)
	}
	if !strings.Contains(s, "succeeded") {
		t.Errorf("the frames never showed v2's end:\n%s", s)
	}
}

func TestMain(m *testing.M) { sampletest.Main(m) }
