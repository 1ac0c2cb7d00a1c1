package docker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/api"
)

// TestPipelineBuildsAnImagePerCommit: a pipeline over a git repository with a Dockerfile
// builds, on the real engine, the image APP:SHORTSHA of each commit in its build stage
// (the build command puts the binary into the checkout, the Dockerfile packages it),
// tests it, and deploys it; each next commit gets its own image, and with retain 2 the
// first commit's image is removed once a third is built and nothing runs it.
func TestPipelineBuildsAnImagePerCommit(t *testing.T) {
	cl := newCluster(t)
	repo := filepath.Join(t.TempDir(), "web")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada Tester", "GIT_AUTHOR_EMAIL=ada@example.test",
			"GIT_COMMITTER_NAME=Ada Tester", "GIT_COMMITTER_EMAIL=ada@example.test", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(msg string, files map[string]string) string {
		t.Helper()
		for p, c := range files {
			if err := os.WriteFile(filepath.Join(repo, p), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git("add", "-A")
		git("commit", "-q", "-m", msg)
		return git("rev-parse", "HEAD")
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	v1 := commit("v1", map[string]string{
		"Dockerfile": goodDockerfile,
		"build.sh":   "set -e\ncp \"$CUTOVER_BIN\" ./cutover\necho \"binary in place for $CUTOVER_VERSION\"\n",
	})
	cl.apply(fmt.Sprintf(`app: %s
routes: [{listen: %q}]
run:
  docker: {port: 8080, memory: 64m}
  instances: 1
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 20s}
strategy: {bluegreen: {}}
keep_warm: 1s
drain_timeout: 1s
deadlines: {deployment: 120s}
pipeline:
  source: {repo: %q, poll: 200ms}
  retain: 2
  build: {command: [sh, ./build.sh], dockerfile: Dockerfile, env: {CUTOVER_BIN: %q}, timeout: 2m}
  tests:
    - {name: image, command: [sh, -c, 'test "$CUTOVER_IMAGE" = "$CUTOVER_APP:$CUTOVER_VERSION"']}
`, cl.app, cl.listen, repo, exe))

	waitRun := func(sha string) api.PipelineRun {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			runs, err := cl.c.PipelineRuns(context.Background(), cl.app, 10)
			if err == nil {
				for _, r := range runs {
					if r.Commit.SHA == sha && (r.Phase == "succeeded" || r.Phase == "failed") {
						return r
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the run of %s did not end within 3m: %+v %v", sha[:12], runs, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	images := func() []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		imgs, err := cl.engine.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", cl.app)})
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, img := range imgs.Items {
			tags = append(tags, img.RepoTags...)
		}
		return tags
	}

	r1 := waitRun(v1)
	if r1.Phase != "succeeded" || !strings.Contains(stageOf(r1, "build").Note, "built image "+cl.app+":"+v1[:12]) {
		t.Fatalf("run of v1: %s %s, build %+v", r1.Phase, r1.Reason, stageOf(r1, "build"))
	}
	if got := cl.servedBy(); got != v1[:12] {
		t.Fatalf("after v1's run the app serves %q, want %s", got, v1[:12])
	}
	v2 := commit("v2", map[string]string{"README": "v2\n"})
	if r2 := waitRun(v2); r2.Phase != "succeeded" {
		t.Fatalf("run of v2: %s %s", r2.Phase, r2.Reason)
	}
	if got := cl.servedBy(); got != v2[:12] {
		t.Fatalf("after v2's run the app serves %q, want %s", got, v2[:12])
	}
	if tags := strings.Join(images(), " "); !strings.Contains(tags, cl.app+":"+v1[:12]) || !strings.Contains(tags, cl.app+":"+v2[:12]) {
		t.Fatalf("after two commits the engine's images of %s are %s, want both", cl.app, tags)
	}
	cl.waitOnly(v2[:12], 1) // v1, kept warm for 1s, is retired: nothing runs its image
	v3 := commit("v3", map[string]string{"README": "v3\n"})
	if r3 := waitRun(v3); r3.Phase != "succeeded" {
		t.Fatalf("run of v3: %s %s", r3.Phase, r3.Reason)
	}
	tags := strings.Join(images(), " ")
	if strings.Contains(tags, cl.app+":"+v1[:12]) || !strings.Contains(tags, cl.app+":"+v2[:12]) || !strings.Contains(tags, cl.app+":"+v3[:12]) {
		t.Fatalf("after three commits with retain 2 the engine's images of %s are %s, want v2's and v3's only", cl.app, tags)
	}
}

func stageOf(r api.PipelineRun, name string) api.PipelineStage {
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	return api.PipelineStage{}
}
