package aws_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// knownAMI is an AMI moto 5.2.1 knows; every release boots it (the versions are v1, v2).
const knownAMI = "ami-760aaa0f"

// asgSpec is app web as an Auto Scaling group of two instances per release (the known AMI,
// serving on 8000) behind the load balancer's port 80, held an hour at 10%, judged by the
// web-5xx alarm.
func (w *world) asgSpec() string {
	return fmt.Sprintf(`app: web
run:
  asg: {ami: %q, port: 8000, user_data: "#!/bin/sh\nexec /opt/web --version $CUTOVER_VERSION\n", subnets: [%s], security_groups: [%s], health_check_grace: 30s}
  instances: 2
traffic:
  alb: {load_balancer: %q, vpc: %s, port: 80, settle: 100ms, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy:
  canary:
    steps: [{weight: 10, pause: 1h}]
deadlines: {deployment: 2h}
analysis:
  interval: 200ms
  alarms: {names: [web-5xx], endpoint: %q}
`, knownAMI, strings.Join(w.subnets, ", "), w.m.DefaultSecurityGroup(w.t, w.vpc), w.lb, w.vpc, w.m.URL, w.m.URL)
}

// asg is one Auto Scaling group as moto describes it.
type asg struct {
	ARN, Template, Slot, Version string
	Desired                      int32
	Instances                    []string // instance IDs, sorted
	TargetGroups                 []string // ARNs
}

// asgs is every Auto Scaling group in moto, by name.
func (w *world) asgs() map[string]asg {
	w.t.Helper()
	c := autoscaling.NewFromConfig(w.m.Config())
	got := map[string]asg{}
	in := &autoscaling.DescribeAutoScalingGroupsInput{}
	for page := 0; ; page++ {
		out, err := c.DescribeAutoScalingGroups(awstest.Ctx(w.t), in)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, g := range out.AutoScalingGroups {
			a := asg{ARN: aws.ToString(g.AutoScalingGroupARN), Desired: aws.ToInt32(g.DesiredCapacity), TargetGroups: g.TargetGroupARNs}
			if lt := g.LaunchTemplate; lt != nil {
				a.Template = aws.ToString(lt.LaunchTemplateId) + " " + aws.ToString(lt.LaunchTemplateName)
			}
			for _, tag := range g.Tags {
				switch aws.ToString(tag.Key) {
				case "cutover.slot":
					a.Slot = aws.ToString(tag.Value)
				case "cutover.version":
					a.Version = aws.ToString(tag.Value)
				}
			}
			for _, i := range g.Instances {
				a.Instances = append(a.Instances, aws.ToString(i.InstanceId))
			}
			sort.Strings(a.Instances)
			got[aws.ToString(g.AutoScalingGroupName)] = a
		}
		if out.NextToken == nil || page > 100 {
			return got
		}
		in.NextToken = out.NextToken
	}
}

// TestKill9ServerMidCanaryResumesOnTheSameGroups: a `cutover server` process runs each
// release as its own Auto Scaling group behind an ALB in moto; v2's canary is verified at
// 10% on the listener and held there; the server is killed with SIGKILL. The listener and
// the groups stay as they are meanwhile. A server restarted on the same data dir resumes the
// same deployment at 10% on the same groups (the same ARNs, templates and instances; it
// creates none), says why with the listener's read-back, and, promoted, finishes it: v2's
// group with all traffic, v1's deleted after keep-warm.
func TestKill9ServerMidCanaryResumesOnTheSameGroups(t *testing.T) {
	began := time.Now()
	w := newWorld(t) // first: without moto_server there is nothing to test
	awstest.Env(t)
	t.Logf("moto_server up with the load balancer and alarm after %s", time.Since(began).Round(time.Millisecond))
	r := startApplied(t, w.asgSpec())
	t.Logf("cutover server up, spec applied, after %s", time.Since(began).Round(time.Millisecond))
	groups := targetGroups(t, w)

	// v1, the first release: its group in web-green, all traffic at once.
	v1 := r.deploy(t, "v1", nil)
	d := r.srv.WaitFor(v1.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 100% verified: "+atFull1+" read back") {
		t.Fatalf("v1's events lack the listener's read-back %q:\n%s", atFull1, ev)
	}
	if g := w.asgs(); len(g) != 1 || g["web-v1"].Desired != 2 || g["web-v1"].Slot != "green" {
		t.Fatalf("groups after v1: %+v, want web-v1 of 2 in slot green", g)
	}
	t.Logf("v1 succeeded after %s", time.Since(began).Round(time.Millisecond))

	// v2's canary, verified at 10% and held (the step pauses for an hour).
	v2 := r.deploy(t, "v2", nil)
	d = r.srv.WaitFor(v2.ID, "verified at 10%", wait, func(d api.Deployment) bool {
		return d.Terminal || strings.Contains(d.Traffic, atTen+" read back")
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 {
		t.Fatalf("v2 before the kill: %s at %g%% step %d: %s\n%s", d.Phase, d.Weight, d.Step, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 10% verified: "+atTen+" read back") {
		t.Fatalf("v2's events lack the 10%% read-back:\n%s", ev)
	}
	before := w.asgs()
	v1g, v2g := before["web-v1"], before["web-v2"]
	if len(before) != 2 || v1g.Slot != "green" || v2g.Slot != "blue" || v1g.Desired != 2 || v2g.Desired != 2 ||
		len(v1g.Instances) != 2 || len(v2g.Instances) != 2 || v1g.Template == "" || v2g.Template == "" || v1g.Template == v2g.Template {
		t.Fatalf("groups at 10%%: %+v, want web-v1 (green) and web-v2 (blue), 2 instances each, each from its own template", before)
	}
	if fmt.Sprint(v1g.TargetGroups) != fmt.Sprint([]string{groups["web-green"]}) || fmt.Sprint(v2g.TargetGroups) != fmt.Sprint([]string{groups["web-blue"]}) {
		t.Fatalf("groups %+v are not in the target groups %v (web-v1 in web-green, web-v2 in web-blue)", before, groups)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 || l["web-green"] != 90 {
		t.Fatalf("listener at 10%%: %v", l)
	}
	t.Logf("v2 held at 10%% after %s: %s; groups %+v", time.Since(began).Round(time.Millisecond), d.Traffic, before)

	// kill -9: the server dies without a word; the load balancer and the groups are the
	// cloud's, and nothing touches them.
	pid := r.srv.PID()
	r.srv.Kill9()
	t.Logf("killed cutover server pid %d with SIGKILL", pid)
	holds(t, time.Second, "the listener and the groups while the server is down", func() string {
		if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 || l["web-green"] != 90 {
			return fmt.Sprintf("listener %v, want it as the server left it (web-blue=10 web-green=90)", l)
		}
		if got := w.asgs(); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Sprintf("groups %+v, before the kill %+v", got, before)
		}
		return ""
	})

	// The restart adopts what is there: same deployment, same groups, same target groups.
	r.srv.Start()
	d = r.read(t, v2.ID)
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Green != "v2" || d.Blue != "v1" {
		t.Fatalf("v2 after the restart: %s at %g%% step %d (green %s, blue %s): %s\n%s",
			d.Phase, d.Weight, d.Step, d.Green, d.Blue, d.Reason, eventsOf(d))
	}
	if !strings.Contains(d.Traffic, atTen+" read back") {
		t.Errorf("v2's traffic evidence after the restart: %q, want the listener's read-back %q", d.Traffic, atTen)
	}
	if n := r.historyLen(t); n != 2 {
		t.Errorf("history after the restart has %d deployments, want 2 (v1's and v2's)", n)
	}
	r.waitResumed(t, 1, v2.ID)
	holds(t, 2*time.Second, "v2 held at 10% on the same groups after the restart", func() string {
		d := r.read(t, v2.ID)
		if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
			return fmt.Sprintf("v2 is %s at %g%%: %s", d.Phase, d.Weight, d.Reason)
		}
		if got := w.asgs(); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Sprintf("groups %+v, before the kill %+v", got, before)
		}
		return ""
	})
	if got := w.asgs(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("groups after the restart %+v, before %+v (a new group or a changed one)", got, before)
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
	r.whyShows(t, v2.ID, atTen)

	// Promote: the step ends, v2's group takes everything; v1's goes after keep-warm.
	d = r.promoteToEnd(t, v2.ID, "green at 100% verified: "+atFull2+" read back")
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 100 || l["web-green"] != 0 {
		t.Errorf("listener after v2 succeeded: %v, want web-blue=100 web-green=0", l)
	}
	eventually(t, wait, "v1's group to be deleted after keep-warm, v2's the same", func() bool {
		g := w.asgs()
		return len(g) == 1 && fmt.Sprint(g["web-v2"]) == fmt.Sprint(v2g)
	})
	t.Logf("whole scenario took %s", time.Since(began).Round(time.Millisecond))
}
