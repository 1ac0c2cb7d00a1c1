package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// TestStatusShowsTheLoadBalancersEvidence: an app behind a load balancer has no router
// signals; status prints what the load balancer was read back holding instead.
func TestStatusShowsTheLoadBalancersEvidence(t *testing.T) {
	d := &api.Deployment{ID: "web-2", App: "web", Phase: "shifting", Green: "v2", Blue: "v1", Weight: 10, Step: 1, Steps: 2,
		Reason: "green at 10% verified", Traffic: "ALB listener :80 weights web-blue=10 web-green=90 read back at 12:01:03"}
	out := (&view{app: "web", blue: "v1", deployment: d}).render(time.Now())
	if !strings.Contains(out, "traffic:  ALB listener :80 weights web-blue=10 web-green=90 read back at 12:01:03\n") {
		t.Fatalf("status lacks the load balancer's evidence:\n%s", out)
	}
	d.Traffic = ""
	if out := (&view{app: "web", blue: "v1", deployment: d}).render(time.Now()); strings.Contains(out, "traffic:") {
		t.Fatalf("status of a local app prints a traffic line:\n%s", out)
	}
}

// TestValidateExplain: validate --explain describes a field without a server (no socket
// here), and an unknown field exits 1 saying where to look.
func TestValidateExplain(t *testing.T) {
	var out, errb strings.Builder
	code := Main(context.Background(), []string{"--socket", "/nonexistent/cutover.sock", "validate", "--explain", "run.ecs.execution_role"}, &out, &errb)
	if code != ExitOK || !strings.HasPrefix(out.String(), "run.ecs.execution_role (string, default: none") || !strings.Contains(out.String(), "executionRoleArn") {
		t.Fatalf("explain run.ecs.execution_role: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	code = Main(context.Background(), []string{"validate", "--explain", "run.ecs.nope"}, &out, &errb)
	if code != ExitError || !strings.Contains(errb.String(), "--explain run.ecs` lists the fields of run.ecs") {
		t.Fatalf("explain an unknown field: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if code := Main(context.Background(), []string{"validate", "--explain", "app", "-f", "x.yaml"}, &out, &errb); code != ExitError {
		t.Fatalf("validate with both -f and --explain: exit %d", code)
	}
}
