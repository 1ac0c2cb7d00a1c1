package awse2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsalb"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awsecs"
	"github.com/cutover/cutover/internal/provider/awstest"
)

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// world is moto with a load balancer and a cluster; open makes the providers of a cutover
// server over it (again after a restart).
type world struct {
	m       *awstest.Moto
	elb     *elb.Client
	ecs     *ecs.Client
	cw      *cw.Client
	lb, vpc string
	subnets []string
}

func newWorld(t *testing.T) *world {
	m := awstest.Start(t)
	alb := m.LoadBalancer(t)
	w := &world{m: m, elb: alb.ELB, ecs: ecs.NewFromConfig(m.Config()), cw: m.CloudWatch(), lb: alb.ARN, vpc: alb.VPC, subnets: alb.Subnets}
	ctx := context.Background()
	if _, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cutover")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cw.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{AlarmName: aws.String("web-green-5xx"), Namespace: aws.String(awscw.Namespace),
		MetricName: aws.String(awscw.Metric5xx), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) open(t *testing.T) (*awsalb.Provider, *awsecs.Driver) {
	t.Helper()
	alb, err := awsalb.New(w.elb, awsalb.Config{App: "web", LoadBalancerARN: w.lb, VpcID: w.vpc, Port: 80, TestPort: 8080, TargetPort: 8000, Settle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := alb.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := awsecs.New(w.ecs, awsecs.Config{Cluster: "cutover", Service: "web", ContainerPort: 8000, Count: 2, Subnets: w.subnets,
		SecurityGroups: []string{"sg-cutover"}, TargetGroup: alb.TargetGroup})
	if err != nil {
		t.Fatal(err)
	}
	return alb, d
}

func step(t *testing.T, p provider.TrafficProvider, bp int) provider.Observed {
	t.Helper()
	ctx := context.Background()
	wr, err := p.SetWeight(ctx, bp)
	if err != nil {
		t.Fatalf("SetWeight(%d): %v", bp, err)
	}
	o, err := provider.Await(ctx, p, wr, realClock{}, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("verify %d: %v", bp, err)
	}
	return o
}

func ensure(t *testing.T, d *awsecs.Driver, v string, slot provider.Slot) provider.Group {
	t.Helper()
	g, err := d.EnsureRelease(context.Background(), provider.Release{App: "web", Version: v, Slot: slot, Image: "registry.example.com/web:" + v}, 2)
	if err != nil {
		t.Fatalf("EnsureRelease %s: %v", v, err)
	}
	return g
}

// TestCanaryAlarmRollsBackBlueUntouched: v1 serves from blue; v2's task set in green walks
// 10% → 50%, each write read back; web-green-5xx goes to ALARM; the alarm source names it at
// the next poll and the rollback writes 0% first, then verifies; v1's task set is still
// primary at its scale.
func TestCanaryAlarmRollsBackBlueUntouched(t *testing.T) {
	w := newWorld(t)
	alb, d := w.open(t)
	ctx := context.Background()
	blue := ensure(t, d, "v1", provider.Blue)
	if err := d.Promote(ctx, blue); err != nil {
		t.Fatal(err)
	}
	green := ensure(t, d, "v2", provider.Green)
	if err := alb.Bind(ctx, provider.Green, green.Backend); err != nil {
		t.Fatal(err)
	}
	alarms := awscw.Alarms{API: w.cw}
	for _, bp := range []int{1000, 5000} {
		if o := step(t, alb, bp); o.GreenBP != bp {
			t.Fatalf("at %d: %+v", bp, o)
		}
		if f, err := alarms.Firing(ctx, []string{"web-green-5xx"}); err != nil || len(f) != 0 {
			t.Fatalf("alarms before the fault: %+v %v", f, err)
		}
	}
	if _, err := w.cw.SetAlarmState(ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("web-green-5xx"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("Threshold Crossed: 12 > 5")}); err != nil {
		t.Fatal(err)
	}
	f, err := alarms.Firing(ctx, []string{"web-green-5xx"})
	if err != nil || len(f) != 1 || f[0].Reason != "Threshold Crossed: 12 > 5" {
		t.Fatalf("the alarm in ALARM is not reported with its reason: %+v %v", f, err)
	}
	wr, err := provider.RollBack(ctx, alb, realClock{})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := provider.Await(ctx, alb, wr, realClock{}, time.Now().Add(10*time.Second)); err != nil || o.GreenBP != 0 {
		t.Fatalf("after rollback: %+v %v", o, err)
	}
	out, err := w.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("cutover"), Service: aws.String("web"), TaskSets: []string{blue.Ref}})
	if err != nil || len(out.TaskSets) != 1 || aws.ToString(out.TaskSets[0].Status) != "PRIMARY" || out.TaskSets[0].Scale.Value != 100 {
		t.Fatalf("blue's task set after the rollback: %+v %v", out.TaskSets, err)
	}
	if err := d.Retire(ctx, green); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Observe(ctx, green); err == nil {
		t.Fatal("green's task set survived its retirement")
	}
}

// TestRestartMidCanaryResumesOnTheSameObjects: a new server (new providers over the same
// account, as after kill -9) adopts the same listener, target groups and task sets, sees the
// weight it wrote, and finishes the canary: 100%, green primary, blue retired.
func TestRestartMidCanaryResumesOnTheSameObjects(t *testing.T) {
	w := newWorld(t)
	alb, d := w.open(t)
	ctx := context.Background()
	blue := ensure(t, d, "v1", provider.Blue)
	green := ensure(t, d, "v2", provider.Green)
	step(t, alb, 1000)

	alb2, d2 := w.open(t) // the restarted server
	if alb2.TargetGroup(provider.Green) != alb.TargetGroup(provider.Green) || alb2.TargetGroup(provider.Blue) != alb.TargetGroup(provider.Blue) {
		t.Fatal("the restarted server made new target groups")
	}
	o, err := alb2.Observe(ctx)
	if err != nil || o.GreenBP != 1000 || o.Drift != "" || !o.Converged {
		t.Fatalf("the restarted server observes %+v %v, want 10%% written and converged", o, err)
	}
	gs, err := d2.List(ctx, "web")
	if err != nil || len(gs) != 2 || gs[0].Ref != blue.Ref || gs[1].Ref != green.Ref {
		t.Fatalf("the restarted server lists %+v %v, want the same two task sets", gs, err)
	}
	again := ensure(t, d2, "v2", provider.Green)
	if again.Ref != green.Ref {
		t.Fatalf("EnsureRelease after restart made a new task set %s, had %s", again.Ref, green.Ref)
	}
	step(t, alb2, 5000)
	step(t, alb2, 10000)
	if err := d2.Promote(ctx, green); err != nil {
		t.Fatal(err)
	}
	if err := d2.Retire(ctx, gs[0]); err != nil {
		t.Fatal(err)
	}
	left, err := d2.List(ctx, "web")
	if err != nil || len(left) != 1 || left[0].Version != "v2" {
		t.Fatalf("after promotion and retirement: %+v %v", left, err)
	}
}

// TestDriftIsReportedNotOverwritten: someone edits the listener mid-canary; the next
// verification fails with drift and the listener keeps what they wrote.
func TestDriftIsReportedNotOverwritten(t *testing.T) {
	w := newWorld(t)
	alb, d := w.open(t)
	ctx := context.Background()
	ensure(t, d, "v1", provider.Blue)
	ensure(t, d, "v2", provider.Green)
	wr, err := alb.SetWeight(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := w.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(w.lb)})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == 80 {
			act := l.DefaultActions
			act[0].ForwardConfig.TargetGroups[0].Weight = aws.Int32(50)
			act[0].ForwardConfig.TargetGroups[1].Weight = aws.Int32(50)
			if _, err := w.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: act}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err = provider.Await(ctx, alb, wr, realClock{}, time.Now().Add(time.Second))
	if err == nil {
		t.Fatal("a drifted listener verified")
	}
	if o, _ := alb.Observe(ctx); o.GreenBP != 5000 || o.Drift == "" {
		t.Fatalf("after drift the listener holds %+v, want their 50/50 kept and reported", o)
	}
	t.Log(err)
}
