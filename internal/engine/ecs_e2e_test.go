package engine

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsapp"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/spec"
)

// ecsWorld is a real moto_server with a load balancer, a cluster and an alarm, and a
// control plane whose web app is an ECS service behind that load balancer.
type ecsWorld struct {
	t       *testing.T
	m       *awstest.Moto
	alb     awstest.ALB
	elb     *elb.Client
	ecs     *ecs.Client
	cw      *cw.Client
	lb, vpc string
	subnets []string
	r       *rig
	// groups wraps the ECS driver, for the one test that needs a status moto never gives.
	groups func(provider.GroupDriver) provider.GroupDriver
}

func newECSWorld(t *testing.T) *ecsWorld {
	m := awstest.Start(t)
	awstest.Env(t)
	alb := m.LoadBalancer(t)
	w := &ecsWorld{t: t, m: m, alb: alb, elb: alb.ELB, ecs: ecs.NewFromConfig(m.Config()), cw: m.CloudWatch(), lb: alb.ARN, vpc: alb.VPC, subnets: alb.Subnets}
	ctx := awstest.Ctx(t)
	if _, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cutover")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cw.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"), Namespace: aws.String(awscw.Namespace),
		MetricName: aws.String(awscw.Metric5xx), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	w.r = newRig(t)
	w.r.close()
	w.r.alarms = func(ctx context.Context, al spec.Alarms, hc *http.Client) (provider.AlarmSource, error) {
		return awscw.NewAlarms(ctx, al.Region, al.Endpoint, hc)
	}
	w.r.cloud = func(ctx context.Context, a *spec.App, hc *http.Client) (CloudApp, error) {
		aa, err := awsapp.Open(ctx, a, hc)
		if err != nil {
			return CloudApp{}, err
		}
		c := CloudApp{Traffic: aa.Traffic, Groups: aa.Groups, Signals: aa.Signals}
		if w.groups != nil {
			c.Groups = w.groups(aa.Groups)
		}
		return c, nil
	}
	w.r.open()
	return w
}

// spec is the app: two tasks per release, ports 80 (production) and 8080 (test).
func (w *ecsWorld) spec(extra string) *spec.App {
	return w.r.parse(fmt.Sprintf(`app: web
run:
  ecs: {cluster: cutover, image: "registry.example.com/web:$CUTOVER_VERSION", container_port: 8000, subnets: [%s], security_groups: [sg-cutover],
        execution_role: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"}
  instances: 2
traffic:
  alb: {load_balancer: %q, vpc: %s, port: 80, test_port: 8080, settle: 100ms, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
`, strings.Join(w.subnets, ", "), w.lb, w.vpc, w.m.URL) + extra)
}

// listener is what the production listener forwards, by target group name.
func (w *ecsWorld) listener() map[string]int32 { return w.alb.Weights(w.t, 80) }

// taskSets lists the service's live task sets: version -> status.
func (w *ecsWorld) taskSets() map[string]string {
	w.t.Helper()
	out, err := w.ecs.DescribeTaskSets(awstest.Ctx(w.t), &ecs.DescribeTaskSetsInput{Cluster: aws.String("cutover"), Service: aws.String("web")})
	if err != nil {
		w.t.Fatal(err)
	}
	got := map[string]string{}
	for _, ts := range out.TaskSets {
		if s := aws.ToString(ts.Status); s == "ACTIVE" || s == "PRIMARY" {
			got[aws.ToString(ts.ExternalId)] = s + "@" + aws.ToString(ts.TaskSetArn)
		}
	}
	return got
}

func (w *ecsWorld) events(id string) string {
	w.t.Helper()
	evs, err := w.r.eng.Events(id)
	if err != nil {
		w.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// first deploys v1: the first release takes everything at once, verified on the listener.
func (w *ecsWorld) first() {
	w.t.Helper()
	s := w.r.deploy("v1", nil)
	if s.Phase != deploy.PhaseSucceeded {
		w.t.Fatalf("v1: %s: %s", s.Phase, s.Reason)
	}
	if ev := w.events(s.ID); !strings.Contains(ev, "green at 100% verified: ALB listener :80 weights web-blue=0 web-green=100 read back") {
		w.t.Fatalf("v1's events lack the read-back:\n%s", ev)
	}
	if ts := w.taskSets(); !strings.HasPrefix(ts["v1"], "PRIMARY@") {
		w.t.Fatalf("v1's task set is not primary: %v", ts)
	}
	ctx := awstest.Ctx(w.t)
	sets, err := w.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("cutover"), Service: aws.String("web")})
	if err != nil || len(sets.TaskSets) != 1 {
		w.t.Fatalf("v1's task set: %v", err)
	}
	td, err := w.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: sets.TaskSets[0].TaskDefinition})
	if err != nil {
		w.t.Fatal(err)
	}
	if got := aws.ToString(td.TaskDefinition.ExecutionRoleArn); got != "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" {
		w.t.Fatalf("v1's task definition runs with execution role %q", got)
	}
	if got := aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image); got != "registry.example.com/web:v1" {
		w.t.Fatalf("v1's image: %q", got)
	}
}

// heldAtTenPercent applies the app with one 10% step held for an hour (and extra), deploys
// v1, then v2, and returns v2's deployment once 10% is verified on the listener.
func (w *ecsWorld) heldAtTenPercent(extra string) deploy.State {
	w.t.Helper()
	if err := w.r.eng.Apply(w.spec("strategy:\n  canary:\n    steps: [{weight: 10, pause: 1h}]\ndeadlines: {deployment: 2h}\n" + extra)); err != nil {
		w.t.Fatal(err)
	}
	w.first()
	s, err := w.r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	waitFor(w.t, w.r, s.ID, func(s deploy.State) bool { return !s.VerifiedAt.IsZero() && s.VerifiedWeight == 1000 })
	s, _ = w.r.eng.Deployment(s.ID)
	return s
}

const canarySteps = `strategy:
  canary:
    steps:
      - {weight: 10, pause: 300ms}
      - {weight: 50, pause: 300ms}
`

// TestE2EECSCanaryWalksTheALB: v2 goes into the target group v1 is not in, and walks 10% →
// 50% → 100% on the listener; each step is verified by a read-back before it counts; at the
// end v2's task set is primary and v1's is deleted after keep-warm.
func TestE2EECSCanaryWalksTheALB(t *testing.T) {
	w := newECSWorld(t)
	if err := w.r.eng.Apply(w.spec(canarySteps)); err != nil {
		t.Fatal(err)
	}
	w.first()
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	for _, want := range []string{
		"green at 10% verified: ALB listener :80 weights web-blue=10 web-green=90", // v2 in web-blue
		"green at 50% verified: ALB listener :80 weights web-blue=50 web-green=50",
		"green at 100% verified: ALB listener :80 weights web-blue=100 web-green=0",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if l := w.listener(); l["web-blue"] != 100 || l["web-green"] != 0 {
		t.Errorf("listener after success: %v", l)
	}
	eventually(t, 20*time.Second, "v1's task set to be deleted after keep-warm", func() bool {
		ts := w.taskSets()
		return len(ts) == 1 && strings.HasPrefix(ts["v2"], "PRIMARY@")
	})
}

// TestE2EECSAlarmRollsBackToBlue: an alarm in ALARM mid-canary rolls back within one
// analysis interval: the listener is written back to blue first and verified after; v1's
// task set stays primary, v2's is deleted.
// (The read-back after the rollback is logged: a finished deployment takes no more events.)
func TestE2EECSAlarmRollsBackToBlue(t *testing.T) {
	w := newECSWorld(t)
	s := w.heldAtTenPercent(fmt.Sprintf("analysis:\n  interval: 200ms\n  alarms: {names: [web-5xx], endpoint: %q}\n", w.m.URL))
	v1 := w.taskSets()["v1"]
	if _, err := w.cw.SetAlarmState(awstest.Ctx(t), &cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("Threshold Crossed: 12 > 5")}); err != nil {
		t.Fatal(err)
	}
	s = w.r.wait(s.ID)
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, "alarm web-5xx is in ALARM: Threshold Crossed: 12 > 5") {
		t.Fatalf("%s: %s", s.Phase, s.Reason)
	}
	if l := w.listener(); l["web-green"] != 100 || l["web-blue"] != 0 {
		t.Errorf("listener after the rollback: %v, want all on v1's web-green", l)
	}
	eventually(t, 10*time.Second, "v2's task set to be deleted, v1's untouched", func() bool {
		ts := w.taskSets()
		return len(ts) == 1 && ts["v1"] == v1
	})
}

// stuck reports green's task set as never steady, with ECS's reason: moto always reports
// STEADY_STATE, so this status is injected over the real driver's calls.
type stuck struct {
	provider.GroupDriver
	version string
}

func (s stuck) Promote(ctx context.Context, g provider.Group) error {
	return s.GroupDriver.(provider.Promoter).Promote(ctx, g)
}

func (s stuck) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	st, err := s.GroupDriver.Observe(ctx, g)
	if err == nil && g.Version == s.version {
		st.Stable, st.Running = false, 0
		st.Failures = []string{"task stopped: CannotPullContainerError: pull image manifest has been retried 5 time(s)"}
	}
	return st, err
}

// TestE2EECSUnhealthyTaskSetFailsBlueUntouched: green never becomes steady; the deployment
// fails at the start-up grace with ECS's reason, no weight moved, v2's task set deleted.
func TestE2EECSUnhealthyTaskSetFailsBlueUntouched(t *testing.T) {
	w := newECSWorld(t)
	w.r.close()
	w.groups = func(d provider.GroupDriver) provider.GroupDriver { return stuck{d, "v2"} }
	w.r.open()
	if err := w.r.eng.Apply(w.spec(canarySteps)); err != nil {
		t.Fatal(err)
	}
	w.first()
	v1 := w.taskSets()["v1"]
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "CannotPullContainerError") || !strings.Contains(s.Reason, "blue untouched") {
		t.Fatalf("%s: %s", s.Phase, s.Reason)
	}
	if l := w.listener(); l["web-green"] != 100 || l["web-blue"] != 0 {
		t.Errorf("listener: %v, want all on v1", l)
	}
	eventually(t, 10*time.Second, "v2's task set to be deleted, v1's untouched", func() bool {
		ts := w.taskSets()
		return len(ts) == 1 && ts["v1"] == v1
	})
}

// TestE2EECSRestartResumesOnTheSameObjects: the control plane stops mid-canary (its state
// saved, as a kill leaves it); a new one adopts the same listener, target groups and task
// sets, and the promoted deployment finishes on them.
func TestE2EECSRestartResumesOnTheSameObjects(t *testing.T) {
	w := newECSWorld(t)
	s := w.heldAtTenPercent("")
	before := w.taskSets()
	w.r.close()
	w.r.open()
	if got := w.taskSets(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("task sets after the restart %v, before %v", got, before)
	}
	if l := w.listener(); len(l) != 2 || l["web-blue"] != 10 {
		t.Fatalf("the restart moved traffic or made new target groups: %v", l)
	}
	if err := w.r.eng.Command("web", deploy.CmdPromote); err != nil {
		t.Fatal(err)
	}
	if s = w.r.wait(s.ID); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("%s: %s", s.Phase, s.Reason)
	}
	if got := w.taskSets(); got["v2"] != strings.Replace(before["v2"], "ACTIVE@", "PRIMARY@", 1) {
		t.Fatalf("v2's task set after the resumed deployment: %v, before %v", got, before)
	}
}

// TestE2EECSDriftIsReportedNotOverwritten: someone sets the listener to 50/50 mid-canary;
// the deployment pauses saying so and leaves their weights; resume writes cutover's again.
func TestE2EECSDriftIsReportedNotOverwritten(t *testing.T) {
	w := newECSWorld(t)
	s := w.heldAtTenPercent("")
	ctx := awstest.Ctx(t)
	ls, err := w.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(w.lb)})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == 80 {
			act := l.DefaultActions
			for i := range act[0].ForwardConfig.TargetGroups {
				act[0].ForwardConfig.TargetGroups[i].Weight = aws.Int32(50)
			}
			if _, err := w.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: act}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, w.r, s.ID, func(s deploy.State) bool { return s.Paused && s.Drift != "" })
	s, _ = w.r.eng.Deployment(s.ID)
	if !strings.Contains(s.Reason, "someone else changed it") || !strings.Contains(s.Reason, "paused without overwriting it") {
		t.Fatalf("drift reason: %s", s.Reason)
	}
	if l := w.listener(); l["web-blue"] != 50 || l["web-green"] != 50 {
		t.Fatalf("the drifted listener was overwritten: %v", l)
	}
	if err := w.r.eng.Command("web", deploy.CmdResume); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "resume to write 10% again", func() bool {
		l := w.listener()
		return l["web-blue"] == 10 && l["web-green"] == 90
	})
	waitFor(t, w.r, s.ID, func(s deploy.State) bool { return s.Drift == "" && !s.Paused })
	if err := w.r.eng.Command("web", deploy.CmdAbort); err != nil {
		t.Fatal(err)
	}
	w.r.wait(s.ID)
}

// TestE2EECSApplyRefusesWhatItDoesNotOwn: a listener on port 80 made by someone else is
// refused at apply, naming it, and nothing is created; an unknown load balancer likewise.
func TestE2EECSApplyRefusesWhatItDoesNotOwn(t *testing.T) {
	w := newECSWorld(t)
	ctx := awstest.Ctx(t)
	tg, err := w.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("theirs"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(w.vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.lb), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}}); err != nil {
		t.Fatal(err)
	}
	err = w.r.eng.Apply(w.spec(""))
	if err == nil || !strings.Contains(err.Error(), "listener :80") || !strings.Contains(err.Error(), "not owned by cutover") {
		t.Fatalf("apply over someone else's listener: %v", err)
	}
	tgs, _ := w.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if len(tgs.TargetGroups) != 1 {
		t.Errorf("a refused apply left target groups: %d", len(tgs.TargetGroups))
	}
	if _, err := w.r.eng.App("web"); err == nil {
		t.Error("a refused apply stored the app")
	}
	bad := w.spec("")
	bad.Traffic.ALB.LoadBalancer = strings.Replace(w.lb, "cutover-web", "nope", 1)
	if err := w.r.eng.Apply(bad); err == nil || !strings.Contains(err.Error(), "apply web") {
		t.Fatalf("apply on a load balancer that does not exist: %v", err)
	} else {
		t.Log(err)
	}
}
