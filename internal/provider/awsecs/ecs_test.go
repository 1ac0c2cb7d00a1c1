package awsecs

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// rig is moto with a cluster and two target groups.
type rig struct {
	m       *awstest.Moto
	ecs     *ecs.Client
	subnets []string
	tg      map[provider.Slot]string
}

func newRig(t *testing.T) *rig {
	m := awstest.Start(t)
	return &rig{m: m, ecs: ecs.NewFromConfig(m.Config())}
}

func (r *rig) fresh(t *testing.T) {
	t.Helper()
	r.m.Reset(t)
	ctx := context.Background()
	var vpc string
	vpc, r.subnets = r.m.DefaultSubnets(t)
	if _, err := r.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cutover")}); err != nil {
		t.Fatal(err)
	}
	lb := elb.NewFromConfig(r.m.Config())
	r.tg = map[provider.Slot]string{}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		out, err := lb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web-" + string(s)), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8000), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		r.tg[s] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
}

func (r *rig) driver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(r.ecs, Config{Cluster: "cutover", Service: "web", ContainerPort: 8000, Count: 2, Subnets: r.subnets,
		SecurityGroups: []string{"sg-cutover"}, TargetGroup: func(s provider.Slot) string { return r.tg[s] }})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestECSContract: the ECS driver passes the GroupDriver contract against moto (moto counts
// no running tasks, so the suite checks desired counts only).
func TestECSContract(t *testing.T) {
	r := newRig(t)
	providertest.RunGroups(t, providertest.GroupHarness{
		New: func(t *testing.T) provider.GroupDriver { r.fresh(t); return r.driver(t) },
		Release: func(_ *testing.T, v string, s provider.Slot) provider.Release {
			return provider.Release{App: "web", Version: v, Slot: s, Image: "registry.example.com/web:" + v}
		},
		Reopen: func(t *testing.T, _ provider.GroupDriver) provider.GroupDriver { return r.driver(t) },
	})
}

// TestECSTaskSetsPerReleaseInTheirSlot: each release gets its own task definition revision
// and task set in its slot's target group; promotion makes green primary.
func TestECSTaskSetsPerReleaseInTheirSlot(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	d := r.driver(t)
	ctx := awstest.Ctx(t)
	blue, err := d.EnsureRelease(ctx, provider.Release{App: "web", Version: "v1", Slot: provider.Blue, Image: "web:v1"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	green, err := d.EnsureRelease(ctx, provider.Release{App: "web", Version: "v2", Slot: provider.Green, Image: "web:v2"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if blue.Backend.Ref != r.tg[provider.Blue] || green.Backend.Ref != r.tg[provider.Green] || blue.Ref == green.Ref {
		t.Fatalf("task sets %+v and %+v are not in their slots' target groups %v", blue, green, r.tg)
	}
	if err := d.Promote(ctx, green); err != nil {
		t.Fatal(err)
	}
	out, err := r.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("cutover"), Service: aws.String("web"), TaskSets: []string{green.Ref, blue.Ref}})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	tds := map[string]bool{}
	for _, ts := range out.TaskSets {
		status[aws.ToString(ts.ExternalId)] = aws.ToString(ts.Status)
		tds[aws.ToString(ts.TaskDefinition)] = true
	}
	if status["v2"] != "PRIMARY" || status["v1"] != "ACTIVE" || len(tds) != 2 {
		t.Fatalf("after promotion task sets are %v on task definitions %v, want v2 PRIMARY, v1 ACTIVE, two revisions", status, tds)
	}
	gs, err := r.driver(t).List(ctx, "web")
	if err != nil || len(gs) != 2 || gs[0].Slot != provider.Blue || gs[1].Slot != provider.Green {
		t.Fatalf("a restarted driver lists %+v %v, want v1 blue and v2 green", gs, err)
	}
}

// TestECSRefusesNonExternalService and bad configs change nothing.
func TestECSRefusesNonExternalService(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	if _, err := r.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("cutover"), ServiceName: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	_, err := r.driver(t).EnsureRelease(ctx, provider.Release{App: "web", Version: "v1", Slot: provider.Blue, Image: "web:v1"}, 1)
	if !errors.Is(err, provider.ErrNotOwned) {
		t.Fatalf("EnsureRelease on a rolling-update service = %v, want ErrNotOwned", err)
	}
	if _, err := New(r.ecs, Config{Cluster: "c", Service: "s", Count: 1, ContainerPort: 80}); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("New without subnets = %v, want ErrInvalid", err)
	}
}
