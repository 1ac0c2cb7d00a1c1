package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestApprovalGateHoldsTheDeploy: with pipeline.approval a built and tested commit waits at
// the gate without a deployment; `pipeline run --wait` of that commit returns the waiting run
// with exit status 5, and `pipeline approve` lets it deploy.
func TestApprovalGateHoldsTheDeploy(t *testing.T) {
	r := newRepo(t)
	s := startServer(t)
	listen := sampletest.FreeAddr(t)
	v1 := r.commit("v1: needs a yes", withFiles(nil))
	f := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(f, []byte(pipelineSpec(t, listen, r.dir, filepath.Join(t.TempDir(), "gate"), "  approval: true\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.must(t, "apply", "-f", f)
	run := s.runOf(t, v1, "waiting for approval", phase("waiting_approval"))
	if stageOf(run, "unit").Status != "passed" || stageOf(run, "approval").Status != "running" || run.Deployment != "" {
		t.Fatalf("the run at the gate: %+v", run)
	}
	if hist, err := s.srv.API.History(context.Background(), "web"); err != nil || len(hist) != 0 {
		t.Fatalf("deployments while the run waits for approval: %+v %v, want none", hist, err)
	}
	out, code := s.cli(t, "pipeline", "run", "web", "--commit", v1, "--wait")
	if code != 5 || !strings.Contains(out, run.ID) || !strings.Contains(out, "waiting_approval") {
		t.Fatalf("pipeline run --wait of the waiting commit: exit %d, want 5 and %s waiting:\n%s", code, run.ID, out)
	}
	s.must(t, "pipeline", "approve", "web")
	run = s.runOf(t, v1, "succeeded", phase("succeeded"))
	if stageOf(run, "approval").Status != "passed" || run.Deployment == "" {
		t.Fatalf("the approved run: %+v", run)
	}
	if _, code := s.cli(t, "pipeline", "approve", "web"); code != 1 {
		t.Errorf("approve with no run at the gate: exit %d, want 1", code)
	}
	d, err := s.srv.API.Deployment(context.Background(), run.Deployment)
	if err != nil || d.Phase != "succeeded" {
		t.Fatalf("the run's deployment: %+v %v", d, err)
	}
}
