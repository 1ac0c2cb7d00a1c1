package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// PipelineSummary is what the pipeline demo reports, also as JSON.
type PipelineSummary struct {
	// First is the first commit's run (nothing served before it); Second the commit made
	// while clients were sending requests.
	First  RunPhase `json:"first"`
	Second RunPhase `json:"second"`
	// CommitToProduction is how long the second commit took from `git commit` to serving
	// all traffic, in seconds.
	CommitToProduction float64 `json:"commit_to_production_seconds"`
	LeftoverProcesses  int     `json:"leftover_processes"`
	Seconds            float64 `json:"seconds"`
}

// RunPhase is one pipeline run under load.
type RunPhase struct {
	Run      string            `json:"run"`
	Commit   string            `json:"commit"`
	Outcome  string            `json:"outcome"`
	Reason   string            `json:"reason"`
	Stages   map[string]string `json:"stages"` // stage -> duration
	Requests int               `json:"requests"`
	Failed   int               `json:"failed"`
}

// The demo repository's files: build.sh makes the artifact dist/ (with the commit's
// greeting), test.sh checks it, run.sh starts the app from it.
var demoRepo = map[string]string{
	"build.sh": "set -e\nmkdir -p dist\ncp run.sh test.sh greeting.txt dist/\necho \"built $CUTOVER_VERSION: $(cat greeting.txt)\"\n",
	"test.sh":  "grep -q . greeting.txt && echo \"greeting ok: $(cat greeting.txt)\"\n",
	"run.sh":   "exec \"$@\"\n",
}

// RunPipeline is `cutover demo pipeline`: a git repository made on this machine, a server
// whose app has a pipeline over it, a first commit built, tested and deployed, then a second
// commit taken to production by canary while clients send requests, and how long that took.
func RunPipeline(ctx context.Context, opts Options) (sum PipelineSummary, err error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if _, err := exec.LookPath("git"); err != nil {
		return sum, fmt.Errorf("the pipeline demo commits to a git repository: install git (apt-get install git)")
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
	repo := filepath.Join(e.dir, "repo")
	g := gitIn(repo)
	if err := os.MkdirAll(repo, 0o700); err != nil {
		return sum, err
	}
	if _, err := g("init", "-q", "-b", "main"); err != nil {
		return sum, err
	}
	first, err := commitFiles(g, repo, "Say hello", withGreeting("hello"))
	if err != nil {
		return sum, err
	}
	if _, err := e.client.Apply(ctx, "shop", e.pipelineSpec(opts, repo)); err != nil {
		return sum, fmt.Errorf("apply the demo's spec: %w", err)
	}
	fmt.Fprintf(e.out, "cutover demo pipeline: app \"shop\" on http://%s, built from the git repository %s\n\n", e.listen, repo)
	fmt.Fprintf(e.out, "== commit %s \"Say hello\"\n", first[:12])
	idle := &load{byPh: map[string]*tally{}}
	if sum.First, err = e.followRun(ctx, idle, first); err != nil {
		return sum, err
	}
	l := startLoad("http://"+e.listen, 8, 4*time.Millisecond)
	defer l.stop()
	l.setPhase("warm")
	time.Sleep(500 * time.Millisecond) // clients are on v1 before the commit: a visible baseline
	at := time.Now()
	second, err := commitFiles(g, repo, "Say hello, world", withGreeting("hello, world"))
	if err != nil {
		return sum, err
	}
	fmt.Fprintf(e.out, "== commit %s \"Say hello, world\" (8 clients sending requests)\n", second[:12])
	if sum.Second, err = e.followRun(ctx, l, second); err != nil {
		return sum, err
	}
	sum.CommitToProduction = time.Since(at).Seconds()
	return sum, nil
}

func withGreeting(g string) map[string]string {
	out := map[string]string{"greeting.txt": g + "\n"}
	for k, v := range demoRepo {
		out[k] = v
	}
	return out
}

// followRun waits for the run of sha to end, printing its stages as they pass.
func (e *env) followRun(ctx context.Context, l *load, sha string) (RunPhase, error) {
	l.setPhase(sha)
	shown := map[string]bool{}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		runs, err := e.client.PipelineRuns(ctx, "shop", 10)
		if err != nil {
			return RunPhase{}, fmt.Errorf("read the pipeline runs: %w", err)
		}
		for _, r := range runs {
			if r.Commit.SHA != sha {
				continue
			}
			for _, s := range r.Stages {
				if !shown[s.Name] && (s.Status == "passed" || s.Status == "failed") {
					shown[s.Name] = true
					fmt.Fprintf(e.out, "   %-8s %-6s %6s  %s\n", s.Name, s.Status, s.Duration, s.Note)
				}
			}
			if r.Phase == "succeeded" || r.Phase == "failed" || r.Phase == "superseded" {
				sent, failed := l.count(sha)
				fmt.Fprintf(e.out, "   %s: %s\n\n", r.Phase, r.Reason)
				return toRunPhase(r, sent, failed), nil
			}
		}
		if time.Now().After(deadline) {
			return RunPhase{}, fmt.Errorf("the run of %s did not end within 2m", sha[:12])
		}
		select {
		case <-ctx.Done():
			return RunPhase{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func toRunPhase(r api.PipelineRun, sent, failed int) RunPhase {
	p := RunPhase{Run: r.ID, Commit: r.Commit.Short, Outcome: r.Phase, Reason: r.Reason, Stages: map[string]string{}, Requests: sent, Failed: failed}
	for _, s := range r.Stages {
		p.Stages[s.Name] = s.Duration
	}
	return p
}

// pipelineSpec is the demo app with a pipeline over repo.
func (e *env) pipelineSpec(opts Options, repo string) []byte {
	q := make([]string, len(opts.AppCommand))
	for i, a := range opts.AppCommand {
		q[i] = fmt.Sprintf("%q", a)
	}
	return []byte(fmt.Sprintf(`app: shop
routes: [{listen: %q}]
run:
  process:
    command: [sh, ./run.sh, %s]
    env: {CUTOVER_DEMO_TOKEN: %q%s}
  instances: 2
  stop_grace: 2s
health: {path: /healthz, interval: 200ms, timeout: 1s, healthy_threshold: 1, startup_grace: 20s}
strategy:
  canary:
    steps:
      - {weight: 25, pause: %s}
analysis:
  interval: 1s
  window: 3s
  min_requests: 20
  checks: [{name: errors, error_rate: {max: 2}}]
keep_warm: 1m
drain_timeout: 2s
deadlines: {deployment: 90s}
pipeline:
  source: {repo: %q, poll: 250ms}
  build: {command: [sh, ./build.sh], artifact: dist}
  tests: [{name: unit, command: [sh, ./test.sh]}]
`, e.listen, strings.Join(q, ", "), e.token, extraEnv(opts.AppEnv), opts.Step, repo))
}

// gitIn runs git in dir as the demo's author.
func gitIn(dir string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=cutover demo", "GIT_AUTHOR_EMAIL=demo@cutover.invalid",
			"GIT_COMMITTER_NAME=cutover demo", "GIT_COMMITTER_EMAIL=demo@cutover.invalid", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return strings.TrimSpace(string(out)), nil
	}
}

func commitFiles(g func(...string) (string, error), dir, msg string, files map[string]string) (string, error) {
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
			return "", err
		}
	}
	if _, err := g("add", "-A"); err != nil {
		return "", err
	}
	if _, err := g("commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	return g("rev-parse", "HEAD")
}

// Print writes the summary for a person.
func (s PipelineSummary) Print(w io.Writer) {
	fmt.Fprintf(w, "== summary (%.0f s)\n", s.Seconds)
	for _, r := range []struct {
		name string
		p    RunPhase
	}{{"first commit", s.First}, {"second commit", s.Second}} {
		fmt.Fprintf(w, "  %-13s %s %-9s %6d requests, %4d failed; stages %s\n", r.name, r.p.Commit, r.p.Outcome, r.p.Requests, r.p.Failed, stageTimes(r.p.Stages))
	}
	fmt.Fprintf(w, "  commit to production: %.1f s\n", s.CommitToProduction)
	fmt.Fprintf(w, "  leftover processes: %d\n", s.LeftoverProcesses)
}

func stageTimes(m map[string]string) string {
	var parts []string
	for _, n := range []string{"source", "build", "unit", "deploy"} {
		parts = append(parts, n+" "+m[n])
	}
	return strings.Join(parts, ", ")
}
