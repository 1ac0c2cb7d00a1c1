package pipeline_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestCommitsGoToProduction takes one app through a pipeline's outcomes on one server:
// commit v1 is built, tested and deployed by polling; v2, whose unit test fails, ends the
// run at the test with its output and leaves v1 serving; v3 deploys by canary under load
// with no failed request; of two quick commits after a slow build the first is superseded;
// webhooks with a wrong signature or for another repository change nothing and a signed
// one deploys its commit; a server killed -9 during a build resumes the run after its
// restart; a rollback reuses the previous artifact; old artifacts are pruned.
func TestCommitsGoToProduction(t *testing.T) {
	r := newRepo(t)
	s := startServer(t)
	listen := sampletest.FreeAddr(t)
	gate := filepath.Join(t.TempDir(), "gate")
	apply := func(extra string, poll string) {
		t.Helper()
		text := strings.Replace(pipelineSpec(t, listen, r.dir, gate, extra), "poll: 200ms", "poll: "+poll, 1)
		f := filepath.Join(t.TempDir(), "web.yaml")
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.must(t, "apply", "-f", f)
	}
	serving := func() string {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + listen + "/")
		if err != nil {
			return "error: " + err.Error()
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Version")
	}

	// The event stream carries the runs' notices.
	evCtx, stopEvents := context.WithCancel(context.Background())
	defer stopEvents()
	events, _ := s.srv.API.Events(evCtx, "") // every app: web is not applied yet
	notices := make(chan string, 1024)
	go func() {
		for n := range events {
			select {
			case notices <- n.Deployment + " " + n.Event.Message:
			default:
			}
		}
	}()

	// v1: polled, built, tested, deployed.
	v1 := r.commit("v1: first release", withFiles(nil))
	apply("  retain: 3\n", "200ms")
	run1 := s.runOf(t, v1, "succeeded", phase("succeeded"))
	if run1.Version != v1[:12] || run1.Trigger != "poll" || run1.Commit.Author != "Ada Tester" || run1.Commit.Subject != "v1: first release" {
		t.Fatalf("run of v1: %+v", run1)
	}
	for _, st := range run1.Stages {
		if st.Status != "passed" {
			t.Errorf("stage %s of v1's run is %s, want passed", st.Name, st.Status)
		}
	}
	if got := serving(); got != v1[:12] {
		t.Fatalf("after v1's run the app serves %q, want %s", got, v1[:12])
	}
	logs := s.must(t, "pipeline", "logs", "web", run1.ID, "--stage", "build")
	if !strings.Contains(logs, "building "+v1[:12]+" with token ******") || strings.Contains(logs, "s3cret-build-token") || !strings.Contains(logs, "built") {
		t.Errorf("build log of v1, want the token masked:\n%s", logs)
	}
	eventually(t, func() bool {
		for {
			select {
			case n := <-notices:
				if strings.HasPrefix(n, run1.ID+" pipeline run "+run1.ID+": build passed in ") {
					return true
				}
			default:
				return false
			}
		}
	})
	art := filepath.Join(s.dir, "artifacts", "web", v1[:12])
	if _, err := os.Stat(filepath.Join(art, "run.sh")); err != nil {
		t.Errorf("v1's artifact: %v", err)
	}

	// v2: the unit test fails; traffic is not touched.
	v2 := r.commit("v2: breaks checkout", map[string]string{"broken": "yes\n"})
	run2 := s.runOf(t, v2, "failed", phase("failed"))
	unit := stageOf(run2, "unit")
	if unit.Status != "failed" || unit.Exit == nil || *unit.Exit != 7 || stageOf(run2, "deploy").Status != "skipped" || run2.Deployment != "" {
		t.Fatalf("run of v2: %+v", run2)
	}
	for _, want := range []string{"unit failed: sh exited with status 7", "FAIL: TestCheckout: want 200, got 500", "traffic not touched"} {
		if !strings.Contains(run2.Reason, want) {
			t.Errorf("v2's reason %q does not say %q", run2.Reason, want)
		}
	}
	if got := serving(); got != v1[:12] {
		t.Fatalf("after v2's failed run the app serves %q, want v1 %s", got, v1[:12])
	}
	status, code := s.cli(t, "pipeline", "status", "web")
	if code != 0 || !strings.Contains(status, "phase:    failed") || !strings.Contains(status, "last output of unit:") || !strings.Contains(status, "FAIL: TestCheckout") {
		t.Errorf("pipeline status after v2 (exit %d):\n%s", code, status)
	}

	// v3: a canary under load, not one request failed. The load goes on to the end.
	load := sampletest.StartLoad(t, "http://"+listen+"/", 4)
	load.WaitSent(t, 50, 10*time.Second)
	v3 := r.commit("v3: fixes checkout", map[string]string{"broken": ""})
	s.runOf(t, v3, "succeeded", phase("succeeded"))
	load.WaitSent(t, load.Sent()+50, 10*time.Second)
	if load.Failed() != 0 || load.ByVersion()[v3[:12]] == 0 || load.ByVersion()[v1[:12]] == 0 {
		t.Fatalf("load during v3's canary: %d of %d failed (%v), by version %v", load.Failed(), load.Sent(), load.Errors(), load.ByVersion())
	}

	// A slow build of v4; meanwhile v5 is queued, and v6 supersedes it.
	v4 := r.commit("v4: slow build", map[string]string{"slow": "1\n"})
	s.runOf(t, v4, "building", func(r api.PipelineRun) bool { return stageOf(r, "build").Status == "running" })
	v5 := r.commit("v5: queued", map[string]string{"slow": ""})
	run5 := s.runOf(t, v5, "queued", phase("queued"))
	v6 := r.commit("v6: newest", map[string]string{"README": "v6\n"})
	run6 := s.runOf(t, v6, "queued", phase("queued"))
	run5 = s.runOf(t, v5, "superseded", phase("superseded"))
	if !strings.Contains(run5.Reason, "superseded by "+run6.ID) {
		t.Errorf("v5's reason %q does not name %s", run5.Reason, run6.ID)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.runOf(t, v4, "succeeded", phase("succeeded"))
	s.runOf(t, v6, "succeeded", phase("succeeded"))
	if got := serving(); got != v6[:12] {
		t.Fatalf("after v6's run the app serves %q", got)
	}

	// Webhooks, with polling off.
	apply("  retain: 3\n", "0s")
	v7 := r.commit("v7: pushed", map[string]string{"README": "v7\n"})
	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"repository":{"clone_url":%q},"head_commit":{"id":%q,"message":"v7: pushed","author":{"name":"Ada Tester"}}}`, v7, r.dir, v7)
	if code, msg := s.hook(t, body, "sha256="+strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Fatalf("a webhook with a wrong signature: %d %s, want 401", code, msg)
	}
	other := strings.Replace(body, r.dir, "/srv/git/other", 1)
	if code, msg := s.hook(t, other, sign(other)); code != http.StatusUnprocessableEntity || !strings.Contains(msg, "not for pipeline.source.repo") {
		t.Fatalf("a webhook for another repository: %d %s, want 422", code, msg)
	}
	if code, msg := s.hook(t, "{not json", sign("{not json")); code != http.StatusBadRequest {
		t.Fatalf("a malformed webhook: %d %s, want 400", code, msg)
	}
	if runs, err := s.srv.API.PipelineRuns(context.Background(), "web", 100); err != nil || runs[0].Commit.SHA == v7 || runs[0].Phase == "queued" {
		t.Fatalf("refused webhooks queued a run: %+v %v", runs[0], err)
	}
	if code, msg := s.hook(t, body, sign(body)); code != http.StatusAccepted || !strings.Contains(msg, "queued run") {
		t.Fatalf("a signed webhook: %d %s, want 202 and a run", code, msg)
	}
	run7 := s.runOf(t, v7, "succeeded", phase("succeeded"))
	if run7.Trigger != "webhook" || serving() != v7[:12] {
		t.Fatalf("webhook run: %+v, serving %s", run7, serving())
	}

	// kill -9 during a build: the restarted server resumes the run.
	gate2 := gate + "-2"
	gate = gate2
	apply("  retain: 3\n", "0s")
	v8 := r.commit("v8: slow again", map[string]string{"slow": "1\n"})
	out := s.must(t, "pipeline", "run", "web", "--commit", v8[:9])
	if !strings.Contains(out, "queued") {
		t.Errorf("pipeline run said:\n%s", out)
	}
	run8 := s.runOf(t, v8, "building", func(r api.PipelineRun) bool { return stageOf(r, "build").Status == "running" })
	eventually(t, func() bool {
		log, _ := s.srv.API.PipelineLog(context.Background(), run8.ID, "build")
		return strings.Contains(log, "slow build: waiting")
	})
	s.srv.Kill9()
	s.srv.Start()
	if err := os.WriteFile(gate2, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run8 = s.runOf(t, v8, "succeeded", phase("succeeded"))
	if run8.Resumed < 1 || !strings.Contains(stageOf(run8, "build").Note, "resumed after a server restart") || serving() != v8[:12] {
		t.Fatalf("run of v8 after kill -9: %+v, serving %s", run8, serving())
	}

	// A rollback runs v7's artifact again, as built.
	before, err := os.Stat(filepath.Join(s.dir, "artifacts", "web", v7[:12], ".cutover-artifact"))
	if err != nil {
		t.Fatal(err)
	}
	s.must(t, "rollback", "web")
	eventually(t, func() bool { return serving() == v7[:12] })
	after, err := os.Stat(filepath.Join(s.dir, "artifacts", "web", v7[:12], ".cutover-artifact"))
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("v7's artifact after the rollback: %v %v (was %v)", after, err, before.ModTime())
	}
	// Pruned: v1 and v2 are neither among the newest 3 nor in use.
	for _, gone := range []string{v1, v2} {
		if _, err := os.Stat(filepath.Join(s.dir, "artifacts", "web", gone[:12])); !os.IsNotExist(err) {
			t.Errorf("the artifact of %s is still there (%v); retain is 3", gone[:12], err)
		}
	}
	// The load went on through every run, the kill and the rollback.
	load.End()
	if load.Failed() != 0 {
		t.Errorf("%d of %d requests failed over the test: %v", load.Failed(), load.Sent(), load.Errors())
	}
	hist := s.must(t, "pipeline", "history", "web")
	for _, want := range []string{"superseded", "failed", "webhook", "manual", "v8: slow again"} {
		if !strings.Contains(hist, want) {
			t.Errorf("pipeline history does not show %q:\n%s", want, hist)
		}
	}
}

func sign(body string) string {
	m := hmac.New(sha256.New, []byte("pipeline-webhook-secret-0123"))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// hook posts a GitHub push webhook over the server's socket, with no token.
func (s *server) hook(t *testing.T, body, sig string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(s.dir, api.SocketFile))
	}}}
	req, _ := http.NewRequest("POST", "http://cutover/api/v1/apps/web/pipeline/hooks", bytes.NewReader([]byte(body)))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(wait); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %s", wait)
		}
	}
}
