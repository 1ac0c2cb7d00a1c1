package pipeline_test

import (
	"context"
	"errors"
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

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

const wait = 90 * time.Second

// repo is a git repository the test commits to.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not on PATH: install it (apt-get install -y git); scripts/test.sh does")
	}
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "web")}
	r.git("init", "-q", "-b", "main", r.dir)
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	if args[0] != "init" {
		cmd.Dir = r.dir
	}
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada Tester", "GIT_AUTHOR_EMAIL=ada@example.test",
		"GIT_COMMITTER_NAME=Ada Tester", "GIT_COMMITTER_EMAIL=ada@example.test", "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (path -> content; "" deletes) and commits them, returning the SHA.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for p, c := range files {
		full := filepath.Join(r.dir, p)
		if c == "" {
			_ = os.Remove(full)
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// The files every commit of the sample repository has: build.sh makes dist/ (waiting for
// the gate file when the commit has a file named slow), run.sh starts the sample app with
// the commit's app.env, test.sh is the unit test (it fails when the commit has a file
// named broken).
var appFiles = map[string]string{
	"build.sh": `#!/bin/sh
set -e
echo "building $CUTOVER_VERSION with token $BUILD_TOKEN"
if [ -f slow ]; then
  echo "slow build: waiting for $GATE"
  while [ ! -f "$GATE" ]; do sleep 0.05; done
fi
mkdir -p dist
cp run.sh test.sh dist/
[ -f app.env ] && cp app.env dist/ || touch dist/app.env
[ -f broken ] && touch dist/broken
echo "built"
`,
	"run.sh": `#!/bin/sh
. ./app.env
exec "$SAMPLE_EXE" sample-app
`,
	"test.sh": `#!/bin/sh
echo "unit tests of $CUTOVER_VERSION in $CUTOVER_ARTIFACT"
if [ -f broken ]; then echo "FAIL: TestCheckout: want 200, got 500"; exit 7; fi
echo PASS
`,
}

func withFiles(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range appFiles {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// pipelineSpec is app web with a pipeline over repo: built by build.sh, tested by test.sh,
// deployed by canary 50% then 100%.
func pipelineSpec(t *testing.T, listen, repoDir, gate, extra string) string {
	exe := sampletest.Cutover(t)
	return fmt.Sprintf(`app: web
routes: [{listen: %q}]
run:
  process:
    command: [sh, ./run.sh]
    env: {SAMPLE_EXE: %q}
  instances: 1
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 5s}
keep_warm: 30s
drain_timeout: 1s
deadlines: {deployment: 60s}
strategy:
  canary:
    steps:
      - {weight: 50, pause: 1s}
analysis:
  interval: 250ms
  checks:
    - name: errors
      error_rate: {max: 5}
pipeline:
  source: {repo: %q, poll: 200ms}
  webhook: {secret: "pipeline-webhook-secret-0123"}
  build:
    command: [sh, ./build.sh]
    artifact: dist
    env: {GATE: %q, BUILD_TOKEN: "s3cret-build-token"}
    secret_env: [BUILD_TOKEN]
    timeout: 1m
  tests:
    - {name: unit, command: [sh, ./test.sh], timeout: 30s}
%s`, listen, exe, repoDir, gate, extra)
}

type server struct {
	exe, dir string
	srv      *sampletest.Server
}

func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{exe: sampletest.Cutover(t), dir: t.TempDir()}
	s.srv = sampletest.StartServer(t, s.exe, s.dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", s.srv.Logs())
		}
		s.srv.Close()
		stopInstances(s.dir)
	})
	return s
}

// stopInstances stops what the process driver started for the server over dir.
func stopInstances(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if d, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")}); err == nil {
		ins, _ := d.List(ctx)
		for _, in := range ins {
			_ = d.Stop(ctx, in, 2*time.Second)
		}
	}
}

// cli runs the cutover CLI against the server and returns its output and exit status.
func (s *server) cli(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.exe, append(args, "--socket", filepath.Join(s.dir, api.SocketFile))...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("cutover %s: %v\n%s", strings.Join(args, " "), err, out)
	return "", -1
}

func (s *server) must(t *testing.T, args ...string) string {
	t.Helper()
	out, code := s.cli(t, args...)
	if code != 0 {
		t.Fatalf("cutover %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// runOf waits for the run of commit sha to satisfy cond.
func (s *server) runOf(t *testing.T, sha, what string, cond func(api.PipelineRun) bool) api.PipelineRun {
	t.Helper()
	deadline := time.Now().Add(wait)
	var last api.PipelineRun
	for {
		runs, err := s.srv.API.PipelineRuns(context.Background(), "web", 100)
		if err == nil {
			for _, r := range runs {
				if r.Commit.SHA == sha {
					last = r
					if cond(r) {
						return r
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run of %s: not %s within %s; last: %+v (err %v)", sha[:12], what, wait, last, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func phase(p string) func(api.PipelineRun) bool {
	return func(r api.PipelineRun) bool { return r.Phase == p }
}

func stageOf(r api.PipelineRun, name string) api.PipelineStage {
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	return api.PipelineStage{}
}
