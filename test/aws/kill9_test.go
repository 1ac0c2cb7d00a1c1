package aws_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

const (
	atTen   = "ALB listener :80 weights web-blue=10 web-green=90"
	atFull1 = "ALB listener :80 weights web-blue=0 web-green=100" // v1, in web-green
	atFull2 = "ALB listener :80 weights web-blue=100 web-green=0" // v2, in web-blue
	wait    = 60 * time.Second
)

// TestKill9ServerMidCanaryResumesOnTheSameTaskSets: a `cutover server` process drives an
// ECS service behind an ALB in moto; v2's canary is verified at 10% on the listener and held
// there; the server is killed with SIGKILL. The listener keeps 10% meanwhile. A server
// restarted on the same data dir resumes the same deployment at 10% on the same task sets and
// target groups (it creates none), says why with the listener's read-back, and, promoted,
// finishes it: v2's task set primary with all traffic, v1's deleted after keep-warm.
func TestKill9ServerMidCanaryResumesOnTheSameTaskSets(t *testing.T) {
	began := time.Now()
	w := newWorld(t) // first: without moto_server there is nothing to test
	awstest.Env(t)
	t.Logf("moto_server up with the load balancer, cluster and alarm after %s", time.Since(began).Round(time.Millisecond))
	exe := sampletest.Cutover(t)
	t.Logf("cutover binary ready after %s", time.Since(began).Round(time.Millisecond))
	dir := t.TempDir()
	srv := sampletest.StartServer(t, exe, dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", srv.Logs())
		}
		srv.Close()
	})

	specFile := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(specFile, []byte(w.spec()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("cutover validate: %s", strings.TrimSpace(cli(t, exe, dir, "validate", "-f", specFile)))
	cli(t, exe, dir, "apply", "-f", specFile)

	// v1, the first release: all traffic at once, verified on the listener.
	v1 := deploy(t, srv, "v1")
	d := srv.WaitFor(v1.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 100% verified: "+atFull1+" read back") {
		t.Fatalf("v1's events lack the listener's read-back %q:\n%s", atFull1, ev)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 0 || l["web-green"] != 100 {
		t.Fatalf("listener after v1: %v", l)
	}
	t.Logf("v1 succeeded after %s", time.Since(began).Round(time.Millisecond))

	// v2's canary, verified at 10% and held (the step pauses for an hour).
	v2 := deploy(t, srv, "v2")
	d = srv.WaitFor(v2.ID, "verified at 10%", wait, func(d api.Deployment) bool {
		return d.Terminal || strings.Contains(d.Traffic, atTen+" read back")
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 {
		t.Fatalf("v2 before the kill: %s at %g%% step %d: %s\n%s", d.Phase, d.Weight, d.Step, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 10% verified: "+atTen+" read back") {
		t.Fatalf("v2's events lack the 10%% read-back:\n%s", ev)
	}
	sets := w.taskSets()
	if len(sets) != 2 || sets["v1"].Status != "PRIMARY" || sets["v2"].Status != "ACTIVE" {
		t.Fatalf("task sets at 10%%: %+v", sets)
	}
	groups := targetGroups(t, w)
	if sets["v1"].TargetGroup != groups["web-green"] || sets["v2"].TargetGroup != groups["web-blue"] {
		t.Fatalf("task sets %+v are not in the target groups %v (v1 in web-green, v2 in web-blue)", sets, groups)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 || l["web-green"] != 90 {
		t.Fatalf("listener at 10%%: %v", l)
	}
	t.Logf("v2 held at 10%% after %s: %s", time.Since(began).Round(time.Millisecond), d.Traffic)

	// kill -9: the server dies without a word; the load balancer and the tasks are the
	// cloud's, and nothing touches them.
	pid := srv.PID()
	srv.Kill9()
	t.Logf("killed cutover server pid %d with SIGKILL", pid)
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 || l["web-green"] != 90 {
		t.Fatalf("listener after the kill: %v, want it as the server left it (web-blue=10 web-green=90)", l)
	}
	if got := w.taskSets(); fmt.Sprint(got) != fmt.Sprint(sets) {
		t.Fatalf("task sets after the kill %+v, before %+v", got, sets)
	}

	// The restart adopts what is there: same deployment, same task sets, same groups.
	srv.Start()
	d = srv.WaitFor(v2.ID, "read after the restart", wait, func(api.Deployment) bool { return true })
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Green != "v2" || d.Blue != "v1" {
		t.Fatalf("v2 after the restart: %s at %g%% step %d (green %s, blue %s): %s\n%s",
			d.Phase, d.Weight, d.Step, d.Green, d.Blue, d.Reason, eventsOf(d))
	}
	if !strings.Contains(d.Traffic, atTen+" read back") {
		t.Errorf("v2's traffic evidence after the restart: %q, want the listener's read-back %q", d.Traffic, atTen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hist, err := srv.API.History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Errorf("history after the restart has %d deployments, want 2 (v1's and v2's): %+v", len(hist), hist)
	}
	// The restarted server resumes driving the deployment (it says so in its log); for a
	// few analysis intervals after, it holds 10% and makes nothing new.
	eventually(t, wait, "the restarted server to log that it resumes "+v2.ID, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "server-1.log"))
		return strings.Contains(string(b), "resuming deployment") && strings.Contains(string(b), v2.ID)
	})
	holds(t, 2*time.Second, "v2 held at 10% on the same task sets after the restart", func() string {
		d := srv.WaitFor(v2.ID, "read", wait, func(api.Deployment) bool { return true })
		if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
			return fmt.Sprintf("v2 is %s at %g%%: %s", d.Phase, d.Weight, d.Reason)
		}
		if got := w.taskSets(); fmt.Sprint(got) != fmt.Sprint(sets) {
			return fmt.Sprintf("task sets %+v, before the kill %+v", got, sets)
		}
		return ""
	})
	if got := w.taskSets(); fmt.Sprint(got) != fmt.Sprint(sets) {
		t.Fatalf("task sets after the restart %+v, before %+v (a new task set or a changed one)", got, sets)
	}
	if got := targetGroups(t, w); fmt.Sprint(got) != fmt.Sprint(groups) {
		t.Fatalf("target groups after the restart %v, before %v", got, groups)
	}
	if n := len(w.targetGroupsByARN()); n != 2 {
		t.Fatalf("moto holds %d target groups after the restart, want 2", n)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 || l["web-green"] != 90 {
		t.Fatalf("listener after the restart: %v", l)
	}
	why := cli(t, exe, dir, "why", "web")
	if !strings.Contains(why, atTen) || !strings.HasPrefix(why, v2.ID+" is shifting") {
		t.Errorf("`cutover why web` after the restart does not show the load balancer's evidence %q:\n%s", atTen, why)
	}
	t.Logf("cutover why web:\n%s", why)

	// Promote: the step ends, v2 takes everything on the same task set.
	cli(t, exe, dir, "promote", "web")
	d = srv.WaitFor(v2.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("v2 after promote: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 100% verified: "+atFull2+" read back") {
		t.Errorf("v2's events lack the read-back at 100%% %q:\n%s", atFull2, ev)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 100 || l["web-green"] != 0 {
		t.Errorf("listener after v2 succeeded: %v, want web-blue=100 web-green=0", l)
	}
	eventually(t, wait, "v2's task set to be the primary and v1's deleted after keep-warm", func() bool {
		ts := live(w.taskSets())
		return len(ts) == 1 && ts["v2"].Status == "PRIMARY" && ts["v2"].ARN == sets["v2"].ARN
	})
	if got := targetGroups(t, w); fmt.Sprint(got) != fmt.Sprint(groups) {
		t.Errorf("target groups at the end %v, at 10%% %v", got, groups)
	}
	t.Logf("whole scenario took %s", time.Since(began).Round(time.Millisecond))
}

func deploy(t *testing.T, srv *sampletest.Server, version string) api.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := srv.API.Deploy(ctx, "web", api.DeployRequest{Version: version})
	if err != nil {
		t.Fatalf("deploy %s: %v", version, err)
	}
	return d
}

// targetGroups are cutover's two target groups: name -> ARN.
func targetGroups(t *testing.T, w *world) map[string]string {
	t.Helper()
	out, err := w.elb.DescribeTargetGroups(awstest.Ctx(t), &elb.DescribeTargetGroupsInput{Names: []string{"web-blue", "web-green"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.TargetGroups {
		got[aws.ToString(tg.TargetGroupName)] = aws.ToString(tg.TargetGroupArn)
	}
	if len(got) != 2 {
		t.Fatalf("target groups web-blue and web-green: %v", got)
	}
	return got
}
