package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/spec"
)

// targetGroupARN is the ARN of the target group named name (web-blue, web-green).
func (w *ecsWorld) targetGroupARN(name string) string {
	w.t.Helper()
	out, err := w.elb.DescribeTargetGroups(awstest.Ctx(w.t), &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil || len(out.TargetGroups) != 1 {
		w.t.Fatalf("target group %s: %v", name, err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

// testListener is the name of the target group the test listener (:8080) forwards to.
func (w *ecsWorld) testListener() string {
	w.t.Helper()
	ctx := awstest.Ctx(w.t)
	ls, err := w.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(w.lb)})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == 8080 {
			arn := aws.ToString(l.DefaultActions[0].TargetGroupArn)
			for _, name := range []string{"web-blue", "web-green"} {
				if w.targetGroupARN(name) == arn {
					return name
				}
			}
			return "unknown " + arn
		}
	}
	return "no test listener"
}

// report puts one minute of a target group's ALB metrics into CloudWatch, as the load
// balancer would: requests and target 5xx answers.
func (w *ecsWorld) report(tg string, reqs, errs float64) {
	w.t.Helper()
	dims := []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String(awscw.Dimension(tg))},
		{Name: aws.String("LoadBalancer"), Value: aws.String(awscw.Dimension(w.lb))}}
	at := time.Now().Add(-10 * time.Second)
	if _, err := w.cw.PutMetricData(awstest.Ctx(w.t), &cw.PutMetricDataInput{Namespace: aws.String(awscw.Namespace), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String(awscw.MetricReqs), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(reqs), Unit: cwtypes.StandardUnitCount},
		{MetricName: aws.String(awscw.Metric5xx), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(errs), Unit: cwtypes.StandardUnitCount},
	}}); err != nil {
		w.t.Fatal(err)
	}
}

// TestE2EECSCloudWatchCheckJudgesGreensTargetGroup: a cloudwatch check reads green's own
// target group. Without data it is inconclusive and the step waits; 100 requests without a
// 5xx pass it and v2 completes; v3 (in the other target group) reporting 30% 5xx is rolled
// back, the evidence naming the numbers.
func TestE2EECSCloudWatchCheckJudgesGreensTargetGroup(t *testing.T) {
	w := newECSWorld(t)
	a := w.spec(`strategy:
  canary:
    steps: [{weight: 10, pause: 300ms}]
analysis:
  interval: 200ms
  min_requests: 10
  checks: [{name: alb-5xx, cloudwatch: {max_error_rate: 1, lag: 1s}}]
`)
	hour := spec.Duration(time.Hour)
	a.KeepWarm = &hour
	if err := w.r.eng.Apply(a); err != nil {
		t.Fatal(err)
	}
	w.first()
	s, err := w.r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.r, s.ID, func(s deploy.State) bool {
		return strings.Contains(strings.Join(s.Evidence, "\n"), "alb-5xx: inconclusive: cloudwatch RequestCount of web v2")
	})
	s, _ = w.r.eng.Deployment(s.ID)
	if s.Phase != deploy.PhaseShifting || !strings.Contains(strings.Join(s.Evidence, "\n"), "no data") {
		t.Fatalf("without metrics: %s, evidence %q", s.Phase, s.Evidence)
	}
	w.report(w.targetGroupARN("web-blue"), 100, 0) // v2 is in web-blue
	if s = w.r.wait(s.ID); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2 with clean metrics: %s: %s", s.Phase, s.Reason)
	}
	if ev := strings.Join(s.Evidence, "\n"); !strings.Contains(ev, "alb-5xx: green target 5xx rate 0% (0 of 100, CloudWatch") {
		t.Errorf("v2's evidence lacks the passing check:\n%s", ev)
	}
	// v3 goes into web-green, where v1 is still kept warm: v1 is retired to make room (the
	// listener sends it nothing; v2 is what a rollback needs now).
	if ts := w.taskSets(); len(ts) != 2 || ts["v1"] == "" {
		t.Fatalf("v1 is not kept warm: %v", ts)
	}
	w.report(w.targetGroupARN("web-green"), 100, 30)
	s = w.r.deploy("v3", nil)
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason+strings.Join(s.Evidence, "\n"), "green target 5xx rate 30% (30 of 100, CloudWatch") {
		t.Fatalf("v3 reporting 30%% 5xx: %s: %s %q", s.Phase, s.Reason, s.Evidence)
	}
	if l := w.listener(); l["web-blue"] != 100 || l["web-green"] != 0 {
		t.Errorf("listener after v3's rollback: %v, want all on v2's web-blue", l)
	}
	eventually(t, 10*time.Second, "only v2's task set to be left", func() bool {
		ts := w.taskSets()
		return len(ts) == 1 && strings.HasPrefix(ts["v2"], "PRIMARY@")
	})
}

// TestE2EECSTestListenerFollowsGreen: while v2 deploys the test listener forwards to v2's
// target group (web-blue) and hooks get its URL as $CUTOVER_TEST_URL; once the deployment
// is aborted it forwards to v1's (web-green) again.
func TestE2EECSTestListenerFollowsGreen(t *testing.T) {
	w := newECSWorld(t)
	seen := filepath.Join(t.TempDir(), "test-url")
	s := w.heldAtTenPercent(fmt.Sprintf("hooks: [{name: record, at: green_healthy, command: {argv: [sh, -c, 'echo \"$CUTOVER_TEST_URL\" > %s']}}]\n", seen))
	if got := w.testListener(); got != "web-blue" {
		t.Fatalf("during v2's deployment the test listener forwards to %s, want v2's web-blue", got)
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("the hook did not run: %v", err)
	}
	lbs, err := w.elb.DescribeLoadBalancers(awstest.Ctx(t), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{w.lb}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://" + aws.ToString(lbs.LoadBalancers[0].DNSName) + ":8080"; strings.TrimSpace(string(b)) != want {
		t.Fatalf("CUTOVER_TEST_URL = %q, want %q", b, want)
	}
	if !strings.Contains(deploy.Why(s, time.Now()), "traffic: ALB listener :80 weights web-blue=10 web-green=90 read back at") {
		t.Errorf("why lacks the load balancer's evidence:\n%s", deploy.Why(s, time.Now()))
	}
	if err := w.r.eng.Command("web", deploy.CmdAbort); err != nil {
		t.Fatal(err)
	}
	w.r.wait(s.ID)
	if got := w.testListener(); got != "web-green" {
		t.Fatalf("after the abort the test listener forwards to %s, want v1's web-green", got)
	}
}
