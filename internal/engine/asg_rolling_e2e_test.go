package engine

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/awsasg"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// asgShape is one Auto Scaling group as moto holds it.
type asgShape struct {
	template, version string
	instances         []string
}

func (w *ecsWorld) asgShapes() map[string]asgShape {
	w.t.Helper()
	out, err := autoscaling.NewFromConfig(w.m.Config()).DescribeAutoScalingGroups(awstest.Ctx(w.t), &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	got := map[string]asgShape{}
	for _, g := range out.AutoScalingGroups {
		var s asgShape
		if g.LaunchTemplate != nil {
			s.template = aws.ToString(g.LaunchTemplate.LaunchTemplateName)
		}
		for _, t := range g.Tags {
			if aws.ToString(t.Key) == awsasg.TagVersion {
				s.version = aws.ToString(t.Value)
			}
		}
		for _, in := range g.Instances {
			s.instances = append(s.instances, aws.ToString(in.InstanceId))
		}
		sort.Strings(s.instances)
		got[aws.ToString(g.AutoScalingGroupName)] = s
	}
	return got
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestE2EASGRollingReplacesTheTemplateInPlace: strategy.rolling with run.asg moves v1's one
// group to v2's launch template, one instance at a time: afterwards the same group (and no
// other) runs only new instances from web-v2's template, tagged v2; v1's template is gone,
// and the listener never moved.
func TestE2EASGRollingReplacesTheTemplateInPlace(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec(knownAMI, "strategy: {rolling: {batch: 1}}\n")); err != nil {
		t.Fatal(err)
	}
	w.firstASG()
	before := w.asgShapes()["web-v1"]
	if before.template != "web-v1" || len(before.instances) != 2 {
		t.Fatalf("v1's group: %+v", before)
	}
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
	ev := w.events(s.ID)
	if !strings.Contains(ev, "green at 100% verified: ALB listener :80 weights web-blue=0 web-green=100") {
		t.Errorf("the listener was not held on the group's one target group:\n%s", ev)
	}
	gs := w.asgShapes()
	after, ok := gs["web-v1"]
	if len(gs) != 1 || !ok || after.template != "web-v2" || after.version != "v2" || len(after.instances) != 2 || overlap(after.instances, before.instances) {
		t.Fatalf("after the rolling update: %+v, want only group web-v1 on template web-v2, tagged v2, with 2 new instances (before: %v)", gs, before.instances)
	}
	if l := w.listener(); l["web-green"] != 100 || l["web-blue"] != 0 {
		t.Errorf("the listener moved: %v", l)
	}
}

// TestE2EASGRollingFailureKeepsTheOldTemplate: a rolling update to an AMI EC2 does not have
// fails with EC2's reason; the group still runs the old template's instances.
func TestE2EASGRollingFailureKeepsTheOldTemplate(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec("$CUTOVER_VERSION", "strategy: {rolling: {batch: 2}}\n")); err != nil {
		t.Fatal(err)
	}
	if s := w.r.deploy(knownAMI, nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("%s: %s: %s", knownAMI, s.Phase, s.Reason)
	}
	name := "web-" + knownAMI
	before := w.asgShapes()
	s := w.r.deploy("ami-0123456789abcdef0", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "ami-0123456789abcdef0") || !strings.Contains(s.Reason, "runs "+knownAMI+" again") {
		t.Fatalf("an unknown AMI: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
	t.Log(s.Reason)
	if after := w.asgShapes(); len(after) != 1 || after[name].template != name || strings.Join(after[name].instances, ",") != strings.Join(before[name].instances, ",") {
		t.Errorf("the group after the failed update: %+v, before %+v", after, before)
	}
}

// TestE2EASGRollingRollbackReplacesBack: v2 takes v1's group over, then its
// after_full_traffic hook fails: the rollback replaces the group's instances again, from
// v1's launch template, and the group is tagged v1.
func TestE2EASGRollingRollbackReplacesBack(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.asgSpec(knownAMI, "strategy: {rolling: {batch: 1}}\nhooks: [{name: smoke, at: after_full_traffic, command: {argv: [sh, -c, 'test \"$CUTOVER_GREEN_VERSION\" != v2']}}]\n")); err != nil {
		t.Fatal(err)
	}
	w.firstASG()
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseRolledBack {
		t.Fatalf("v2 with a failing hook: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
	t.Log(s.Reason)
	eventually(t, 20*time.Second, "group web-v1 back on v1's template", func() bool {
		g := w.asgShapes()
		return len(g) == 1 && g["web-v1"].template == "web-v1" && g["web-v1"].version == "v1" && len(g["web-v1"].instances) == 2
	})
	if l := w.listener(); l["web-green"] != 100 {
		t.Errorf("the listener moved: %v", l)
	}
}
