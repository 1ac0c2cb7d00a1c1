package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/spec"
)

// knownAMI is an AMI moto 5.2.1 knows.
const knownAMI = "ami-760aaa0f"

// asgSpec is the app as Auto Scaling groups behind the world's load balancer: ami is the
// AMI (or $CUTOVER_VERSION), two instances per release serving on 8000.
func (w *ecsWorld) asgSpec(ami, extra string) *spec.App {
	return w.r.parse(fmt.Sprintf(`app: web
run:
  asg: {ami: %q, port: 8000, user_data: "#!/bin/sh\nexec /opt/web --version $CUTOVER_VERSION\n", subnets: [%s], security_groups: [%s], health_check_grace: 30s}
  instances: 2
traffic:
  alb: {load_balancer: %q, vpc: %s, port: 80, settle: 100ms, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
`, ami, strings.Join(w.subnets, ", "), w.m.DefaultSecurityGroup(w.t, w.vpc), w.lb, w.vpc, w.m.URL) + extra)
}

// asgs lists the app's Auto Scaling groups in moto: name -> desired capacity.
func (w *ecsWorld) asgs() map[string]int32 {
	w.t.Helper()
	out, err := autoscaling.NewFromConfig(w.m.Config()).DescribeAutoScalingGroups(awstest.Ctx(w.t), &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	got := map[string]int32{}
	for _, g := range out.AutoScalingGroups {
		got[aws.ToString(g.AutoScalingGroupName)] = aws.ToInt32(g.DesiredCapacity)
	}
	return got
}

func (w *ecsWorld) firstASG() {
	w.t.Helper()
	s := w.r.deploy("v1", nil)
	if s.Phase != deploy.PhaseSucceeded {
		w.t.Fatalf("v1: %s: %s", s.Phase, s.Reason)
	}
	if g := w.asgs(); g["web-v1"] != 2 {
		w.t.Fatalf("v1's group: %v", g)
	}
	tgs, err := w.elb.DescribeTargetGroups(awstest.Ctx(w.t), &elb.DescribeTargetGroupsInput{Names: []string{"web-green"}})
	if err != nil || tgs.TargetGroups[0].TargetType != elbtypes.TargetTypeEnumInstance {
		w.t.Fatalf("an Auto Scaling group's target group is not of instances: %+v %v", tgs, err)
	}
}

// TestE2EASGCanaryWalksTheALB: v2's group, launched from its own template, joins the
// target group v1's is not in; the canary walks 10% → 50% → 100% on the listener, each
// step verified; v1's group is deleted after keep-warm.
func TestE2EASGCanaryWalksTheALB(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec(knownAMI, canarySteps)); err != nil {
		t.Fatal(err)
	}
	w.firstASG()
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	for _, want := range []string{
		"green at 10% verified: ALB listener :80 weights web-blue=10 web-green=90",
		"green at 50% verified: ALB listener :80 weights web-blue=50 web-green=50",
		"green at 100% verified: ALB listener :80 weights web-blue=100 web-green=0",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	eventually(t, 20*time.Second, "v1's group to be deleted after keep-warm", func() bool {
		g := w.asgs()
		return len(g) == 1 && g["web-v2"] == 2
	})
}

// TestE2EASGBlueGreenSwapsOnce: strategy bluegreen moves everything in one verified write.
func TestE2EASGBlueGreenSwapsOnce(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec(knownAMI, "strategy: {bluegreen: {}}\n")); err != nil {
		t.Fatal(err)
	}
	w.firstASG()
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	if !strings.Contains(ev, "green at 100% verified: ALB listener :80 weights web-blue=100 web-green=0") || strings.Contains(ev, "green at 10%") {
		t.Errorf("a bluegreen swap is one step to 100%%:\n%s", ev)
	}
}

// TestE2EASGFailingLaunchLeavesBlue: an AMI EC2 does not have fails v2 with AWS's reason,
// before any traffic; v1's group and the listener are untouched.
func TestE2EASGFailingLaunchLeavesBlue(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec("$CUTOVER_VERSION", "")); err != nil {
		t.Fatal(err)
	}
	s := w.r.deploy(knownAMI, nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("%s: %s: %s", knownAMI, s.Phase, s.Reason)
	}
	if _, err := w.r.eng.Deploy(context.Background(), "web", "v2", nil); err == nil || !strings.Contains(err.Error(), `version "v2" makes the AMI "v2", not an AMI ID`) {
		t.Fatalf("deploying a version that is no AMI: %v", err)
	}
	s = w.r.deploy("ami-0123456789abcdef0", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "ami-0123456789abcdef0") {
		t.Fatalf("an unknown AMI: %s: %s", s.Phase, s.Reason)
	}
	t.Log(s.Reason)
	if l := w.listener(); l["web-green"] != 100 || l["web-blue"] != 0 {
		t.Errorf("the listener moved: %v", l)
	}
	if g := w.asgs(); len(g) != 1 || g["web-"+knownAMI] != 2 {
		t.Errorf("blue's group after the failed launch: %v", g)
	}
}

// TestE2EASGRestartResumesOnTheSameGroups: a control plane closed and reopened mid-canary
// (its deployments and groups found again) goes on from 10% with the same groups.
func TestE2EASGRestartResumesOnTheSameGroups(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec(knownAMI, "strategy:\n  canary:\n    steps: [{weight: 10, pause: 1h}]\ndeadlines: {deployment: 2h}\n")); err != nil {
		t.Fatal(err)
	}
	w.firstASG()
	s, err := w.r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.r, s.ID, func(s deploy.State) bool { return !s.VerifiedAt.IsZero() && s.VerifiedWeight == 1000 })
	before := w.asgs()
	w.r.close()
	w.r.open()
	if got := w.asgs(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("groups changed across the restart: %v, then %v", before, got)
	}
	if err := w.r.eng.Command("web", deploy.CmdPromote); err != nil {
		t.Fatal(err)
	}
	if s = w.r.wait(s.ID); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("after the restart: %s: %s", s.Phase, s.Reason)
	}
	if l := w.listener(); l["web-blue"] != 100 {
		t.Errorf("listener after success: %v", l)
	}
}
