package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// The sample repository of the pipeline (as in test/pipeline): build.sh copies the app into
// dist/, run.sh starts it (this test binary, which is the sample app when
// sampletest.EnvSwitch is set: the spec sets it), and test.sh is the unit test, which fails
// with status 7 when the commit has a file named broken. It also prints markup, which the
// page must show as text.
var pipelineFiles = map[string]string{
	"build.sh": `#!/bin/sh
set -e
echo "building $CUTOVER_VERSION with token $BUILD_TOKEN"
mkdir -p dist
cp run.sh test.sh dist/
if [ -f broken ]; then touch dist/broken; fi
echo "built"
`,
	"run.sh": `#!/bin/sh
exec "$SAMPLE_EXE"
`,
	"test.sh": `#!/bin/sh
echo "unit tests of $CUTOVER_VERSION in $CUTOVER_ARTIFACT"
echo "<img src=x onerror=window.pwned=1>"
if [ -f broken ]; then echo "FAIL: TestCheckout: want 200, got 500"; exit 7; fi
echo PASS
`,
}

// pipelineSpec is app web served on listen, with a pipeline that polls repoDir, builds with
// build.sh (a masked secret in its environment), tests with test.sh and deploys.
func pipelineSpec(t *testing.T, listen, repoDir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`app: web
routes: [{listen: %q}]
run:
  process:
    command: [sh, ./run.sh]
    env: {SAMPLE_EXE: %q, %s: "1"}
  instances: 1
  stop_grace: 2s
health: {path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, startup_grace: 5s}
keep_warm: 30s
drain_timeout: 1s
deadlines: {deployment: 60s}
pipeline:
  source: {repo: %q, poll: 200ms}
  build:
    command: [sh, ./build.sh]
    artifact: dist
    env: {BUILD_TOKEN: "s3cret-build-token"}
    secret_env: [BUILD_TOKEN]
    timeout: 1m
  tests:
    - {name: unit, command: [sh, ./test.sh], timeout: 30s}
`, listen, exe, sampletest.EnvSwitch, repoDir)
}

// gitRepo is a git repository in a temporary directory, committed to with the git CLI.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not on PATH: install it (apt-get install -y git); scripts/test.sh does")
	}
	r := &gitRepo{t: t, dir: filepath.Join(t.TempDir(), "web")}
	r.git("init", "-q", "-b", "main", r.dir)
	return r
}

func (r *gitRepo) git(args ...string) string {
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

// commit writes files (path -> content) and commits them, returning the SHA.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(r.dir, p), []byte(c), 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// waitRun polls the app's runs until the run of commit sha satisfies ok.
func (s *server) waitRun(sha, what string, timeout time.Duration, ok func(api.PipelineRun) bool) api.PipelineRun {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last api.PipelineRun
	for {
		runs, err := s.client.PipelineRuns(context.Background(), "web", 10)
		for _, r := range runs {
			if r.Commit.SHA == sha {
				last = r
				if ok(r) {
					return r
				}
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the run of %s was not %s within %s; last: %+v (err %v)", sha[:12], what, timeout, last, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPipelineRunsOnTheAppsPage: a real repository's first commit is built, tested and
// deployed by the server's pipeline; the app's page shows the run with every stage passed.
// A second commit fails its unit test: the page shows it arrive and fail without a reload,
// with the test's box red and its exit status, the reason below the row, and the whole log
// (as text) a click away; the build's log shows the secret masked.
func TestPipelineRunsOnTheAppsPage(t *testing.T) {
	br := startBrowser(t) // first: without Chromium there is nothing to test
	s := startServer(t)
	ctx := context.Background()
	repo := newGitRepo(t)
	v1 := repo.commit("v1: first release", pipelineFiles)
	if _, err := s.client.Apply(ctx, "web", []byte(pipelineSpec(t, s.route, repo.dir))); err != nil {
		t.Fatalf("apply: %v", err)
	}
	run1 := s.waitRun(v1, "succeeded", time.Minute, func(r api.PipelineRun) bool { return r.EndedAt != nil })
	if run1.Phase != "succeeded" {
		t.Fatalf("the run of v1: %s: %s", run1.Phase, run1.Reason)
	}
	start := time.Now()

	tab := br.tab(1280, 900)
	do(t, tab, "open the app's page", 20*time.Second, chromedp.Navigate(s.url+"/#/apps/web"), chromedp.WaitVisible(chromedp.CSS("#token")))
	login(t, tab, s.admin)
	row1 := `.run[data-run="` + run1.ID + `"]`
	const runs = `document.querySelectorAll('#pipeline .run').length`
	const page = `document.querySelector('#view').innerText`
	waitJS(t, tab, "the pipeline section shows v1's run", `!document.querySelector('#pipeline').hidden && `+runs+` === 1 && !!document.querySelector('`+row1+` .badge[data-phase="succeeded"]')`,
		page, 10*time.Second)

	// v2 fails its unit test; the page follows without a reload.
	v2 := repo.commit("v2: breaks checkout", map[string]string{"broken": "yes\n"})
	run2 := s.waitRun(v2, "ended", time.Minute, func(r api.PipelineRun) bool { return r.EndedAt != nil })
	if run2.Phase != "failed" {
		t.Fatalf("the run of v2: %s: %s", run2.Phase, run2.Reason)
	}
	row2 := `.run[data-run="` + run2.ID + `"]`
	waitJS(t, tab, "the pipeline section shows two runs, v2's failed on top",
		runs+` === 2 && document.querySelector('#pipeline .run').dataset.run === '`+run2.ID+`' && !!document.querySelector('`+row2+` .badge[data-phase="failed"]')`,
		page, 10*time.Second)

	type stageBox struct {
		Name, Status, Class, Text, Background, Tag string
	}
	boxes := func(row string) []stageBox {
		return eval[[]stageBox](t, tab, "read the stage boxes of "+row, `[...document.querySelectorAll('`+row+` .stage')].map((b) => ({
			Name: b.dataset.stage, Status: b.dataset.status, Class: b.className, Text: b.innerText.replace(/\s+/g, ' '),
			Background: getComputedStyle(b).backgroundColor, Tag: b.tagName }))`)
	}
	got1 := boxes(row1)
	if len(got1) != 4 {
		t.Fatalf("v1's run shows %d stage boxes, want 4 (source, build, unit, deploy): %+v", len(got1), got1)
	}
	for i, want := range []string{"source", "build", "unit", "deploy"} {
		b := got1[i]
		if b.Name != want || b.Status != "passed" || !strings.Contains(b.Class, "stage-passed") || !strings.Contains(b.Text, want) {
			t.Errorf("v1's box %d: %+v, want %s passed", i, b, want)
		}
		d := run1.Stages[i].Duration
		if d == "0s" {
			d = "<10ms" // the server rounds to 10ms
		}
		if d == "" || !strings.Contains(b.Text, d) {
			t.Errorf("v1's box %s says %q, want its duration %q", want, b.Text, d)
		}
	}
	got2 := boxes(row2)
	if len(got2) != 4 {
		t.Fatalf("v2's run shows %d stage boxes, want 4: %+v", len(got2), got2)
	}
	unit := got2[2]
	if unit.Name != "unit" || unit.Status != "failed" || !strings.Contains(unit.Class, "stage-failed") || !strings.Contains(unit.Text, "exit 7") || unit.Tag != "BUTTON" {
		t.Errorf("v2's unit box: %+v, want a failed button that says exit 7", unit)
	}
	if unit.Background != "rgb(253, 230, 227)" || unit.Background == got1[2].Background { // --bad-soft
		t.Errorf("v2's failed unit box is drawn in %s (a passed one in %s), want red (rgb(253, 230, 227))", unit.Background, got1[2].Background)
	}
	if got2[0].Status != "passed" || got2[1].Status != "passed" || got2[3].Status != "skipped" || !strings.Contains(got2[3].Class, "stage-skipped") {
		t.Errorf("v2's boxes: %+v, want source and build passed, deploy skipped", got2)
	}
	if !strings.Contains(eval[string](t, tab, "read v2's row", `document.querySelector('`+row2+` .run-commit').innerText`), run2.Commit.Short+" v2: breaks checkout by Ada Tester") {
		t.Errorf("v2's row shows %q, want its short SHA, subject and author", eval[string](t, tab, "read v2's row", `document.querySelector('`+row2+`').innerText`))
	}
	if text := eval[string](t, tab, "read the runs", `document.querySelector('#pipeline').innerText`); strings.Contains(text, "null") || strings.Contains(text, "undefined") {
		t.Errorf("the pipeline section shows a missing value:\n%s", text)
	}
	reason := eval[string](t, tab, "read v2's reason", `(() => { const p = document.querySelector('`+row2+` .run-reason'); return p && !p.hidden ? p.textContent : 'hidden'; })()`)
	if !strings.Contains(reason, "unit failed") || !strings.Contains(reason, "traffic not touched") {
		t.Errorf("below v2's row the reason is %q, want what failed", reason)
	}

	// The unit box opens its whole log below the row, as text.
	log2 := `#log-` + run2.ID
	do(t, tab, "click v2's unit box", 10*time.Second, chromedp.Click(chromedp.CSS(row2+` button.stage[data-stage="unit"]`)), chromedp.WaitVisible(chromedp.CSS(log2+" pre")))
	waitJS(t, tab, "the unit log shows the failed test", `document.querySelector('`+log2+` pre').textContent.includes('FAIL: TestCheckout: want 200, got 500')`,
		`document.querySelector('`+log2+`').innerText`, 10*time.Second)
	if !eval[bool](t, tab, "read the unit log", `document.querySelector('`+log2+` pre').textContent.includes('<img src=x onerror=window.pwned=1>')`) ||
		eval[bool](t, tab, "look for markup from the log", `!!document.querySelector('#pipeline img') || window.pwned === 1`) {
		t.Error("the test's output was not shown as text in the log panel")
	}
	if e := eval[string](t, tab, "read the box's state", `document.querySelector('`+row2+` button.stage[data-stage="unit"]').getAttribute('aria-expanded')`); e != "true" {
		t.Errorf("the open box's aria-expanded is %q", e)
	}
	screenshot(t, tab, "pipeline")

	// Another box: v1's build log replaces it, with the secret masked.
	log1 := `#log-` + run1.ID
	do(t, tab, "click v1's build box", 10*time.Second, chromedp.Click(chromedp.CSS(row1+` button.stage[data-stage="build"]`)), chromedp.WaitVisible(chromedp.CSS(log1+" pre")))
	waitJS(t, tab, "the build log shows the masked token", `document.querySelector('`+log1+` pre').textContent.includes('with token ******') && document.querySelector('`+log2+`').hidden`,
		`document.querySelector('`+log1+`').innerText`, 10*time.Second)
	if eval[bool](t, tab, "look for the secret", `document.body.textContent.includes('s3cret-build-token')`) {
		t.Error("the page shows the build's secret")
	}
	do(t, tab, "click v1's build box again", 10*time.Second, chromedp.Click(chromedp.CSS(row1+` button.stage[data-stage="build"]`)), chromedp.WaitNotVisible(chromedp.CSS(log1)))

	// A phone: the runs fit the width.
	do(t, tab, "become a phone", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	waitJS(t, tab, "the phone shows both runs", runs+` === 2`, page, 5*time.Second)
	if w := eval[int](t, tab, "measure the page", `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("on a 390px phone the app's page is %dpx wider than the screen", w)
	}
	t.Logf("browser part took %s", time.Since(start).Round(100*time.Millisecond))
}
