package awsasg

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// AMIs moto 5.2.1 knows (an Amazon Linux and an Ubuntu image of its default set).
const (
	amiV1 = "ami-760aaa0f"
	amiV2 = "ami-1e749f67"
)

// rig is moto with the default VPC's subnets and security group and two instance target
// groups, web-blue and web-green, standing in for the ALB provider's.
type rig struct {
	m       *awstest.Moto
	asg     *autoscaling.Client
	ec2     *awsec2.Client
	elb     *elb.Client
	subnets []string
	sg      string
	tg      map[provider.Slot]string
}

func newRig(t *testing.T) *rig {
	m := awstest.Start(t)
	return &rig{m: m, asg: autoscaling.NewFromConfig(m.Config()), ec2: awsec2.New(m.Config(), nil), elb: elb.NewFromConfig(m.Config())}
}

func (r *rig) fresh(t *testing.T) {
	t.Helper()
	r.m.Reset(t)
	ctx := context.Background()
	var vpc string
	vpc, r.subnets = r.m.DefaultSubnets(t)
	var sgs struct {
		IDs []string `xml:"securityGroupInfo>item>groupId"`
	}
	if err := r.ec2.Do(ctx, "DescribeSecurityGroups", url.Values{"Filter.1.Name": {"group-name"}, "Filter.1.Value.1": {"default"},
		"Filter.2.Name": {"vpc-id"}, "Filter.2.Value.1": {vpc}}, &sgs); err != nil || len(sgs.IDs) == 0 {
		t.Fatalf("the default VPC's security group: %v %v", sgs, err)
	}
	r.sg = sgs.IDs[0]
	r.tg = map[provider.Slot]string{}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		out, err := r.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web-" + string(s)), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8000), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumInstance})
		if err != nil {
			t.Fatal(err)
		}
		r.tg[s] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
}

func (r *rig) config() Config {
	return Config{App: "web", Subnets: r.subnets, SecurityGroups: []string{r.sg}, UserData: "#!/bin/sh\necho $CUTOVER_APP ${CUTOVER_VERSION}\n",
		TargetGroup: func(s provider.Slot) string { return r.tg[s] }}
}

func (r *rig) driver(t *testing.T) *Driver {
	t.Helper()
	return r.driverOver(t, r.asg)
}

func (r *rig) driverOver(t *testing.T, api API) *Driver {
	t.Helper()
	d, err := New(api, r.ec2, r.config())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func release(v string, s provider.Slot, ami string) provider.Release {
	return provider.Release{App: "web", Version: v, Slot: s, Image: ami}
}

// group reads the group called name from moto, nil when there is none.
func (r *rig) group(t *testing.T, name string) *astypes.AutoScalingGroup {
	t.Helper()
	out, err := r.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil
	}
	return &out.AutoScalingGroups[0]
}

func instanceIDs(g *astypes.AutoScalingGroup) []string {
	var ids []string
	for _, in := range g.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	slices.Sort(ids)
	return ids
}

// targets are the instance IDs registered in target group arn.
func (r *rig) targets(t *testing.T, arn string) []string {
	t.Helper()
	out, err := r.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	slices.Sort(ids)
	return ids
}

// TestASGContract: the driver passes the GroupDriver contract against moto, which puts
// every instance InService and Healthy at once, so the suite checks running and healthy
// counts too.
func TestASGContract(t *testing.T) {
	r := newRig(t)
	providertest.RunGroups(t, providertest.GroupHarness{
		New:     func(t *testing.T) provider.GroupDriver { r.fresh(t); return r.driver(t) },
		Release: func(_ *testing.T, v string, s provider.Slot) provider.Release { return release(v, s, amiV1) },
		Reopen:  func(t *testing.T, _ provider.GroupDriver) provider.GroupDriver { return r.driver(t) },
		Counts:  true,
		Healthy: true,
	})
}

// TestASGBlueGreen walks the swap-groups sequence: v1 at 2 in blue's target group, v2 at
// 0 in green's then scaled to 2; each group from its own template and in its own target
// group; v1 retired with its template; a restarted driver finds v2 in green.
func TestASGBlueGreen(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	d := r.driver(t)
	ctx := awstest.Ctx(t)
	blue, err := d.EnsureRelease(ctx, release("v1", provider.Blue, amiV1), 2)
	if err != nil {
		t.Fatal(err)
	}
	green, err := d.EnsureRelease(ctx, release("v2", provider.Green, amiV2), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Group{App: "web", Version: "v2", Slot: provider.Green, Ref: "web-v2",
		Backend: provider.Backend{Kind: KindTargetGroup, Ref: r.tg[provider.Green], Version: "v2"}}
	if blue.Ref != "web-v1" || blue.Backend.Ref != r.tg[provider.Blue] || !equalGroup(green, want) {
		t.Fatalf("groups %+v and %+v, want web-v1 in blue's target group and %+v", blue, green, want)
	}
	if st, err := d.Observe(ctx, green); err != nil || st.Desired != 0 || !st.Stable {
		t.Fatalf("green at 0 observes %+v %v, want desired 0, stable", st, err)
	}
	if err := d.Scale(ctx, green, 2); err != nil {
		t.Fatal(err)
	}
	for _, g := range []provider.Group{blue, green} {
		st, err := d.Observe(ctx, g)
		if err != nil || st.Desired != 2 || st.Running != 2 || st.Healthy != 2 || !st.Stable || len(st.Failures) != 0 {
			t.Fatalf("%s observes %+v %v, want 2 InService and Healthy", g.Ref, st, err)
		}
	}
	g1, g2 := r.group(t, "web-v1"), r.group(t, "web-v2")
	if got := r.targets(t, r.tg[provider.Blue]); !slices.Equal(got, instanceIDs(g1)) {
		t.Fatalf("blue's target group holds %v, want v1's instances %v", got, instanceIDs(g1))
	}
	if got := r.targets(t, r.tg[provider.Green]); !slices.Equal(got, instanceIDs(g2)) {
		t.Fatalf("green's target group holds %v, want v2's instances %v", got, instanceIDs(g2))
	}
	if aws.ToString(g2.HealthCheckType) != "ELB" || aws.ToInt32(g2.HealthCheckGracePeriod) != 60 || aws.ToInt32(g2.MinSize) != 0 || aws.ToInt32(g2.MaxSize) < 2 {
		t.Fatalf("v2's group is %s grace %d min %d max %d", aws.ToString(g2.HealthCheckType), aws.ToInt32(g2.HealthCheckGracePeriod), aws.ToInt32(g2.MinSize), aws.ToInt32(g2.MaxSize))
	}
	var tagged struct {
		IDs []string `xml:"reservationSet>item>instancesSet>item>instanceId"`
	}
	if err := r.ec2.Do(ctx, "DescribeInstances", url.Values{"Filter.1.Name": {"tag:" + TagSlot}, "Filter.1.Value.1": {"green"},
		"Filter.2.Name": {"tag:" + TagVersion}, "Filter.2.Value.1": {"v2"}, "Filter.3.Name": {"instance-state-name"}, "Filter.3.Value.1": {"running"}}, &tagged); err != nil {
		t.Fatal(err)
	}
	if slices.Sort(tagged.IDs); !slices.Equal(tagged.IDs, instanceIDs(g2)) {
		t.Fatalf("instances tagged green v2 are %v, want v2's %v (tags propagate at launch)", tagged.IDs, instanceIDs(g2))
	}
	lt, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v2")
	if err != nil || aws.ToString(g2.LaunchTemplate.LaunchTemplateId) != lt.ID || lt.Tags[TagOwner] != "cutover/web" || lt.Tags[TagVersion] != "v2" {
		t.Fatalf("v2's template %+v %v; the group runs %+v", lt, err, g2.LaunchTemplate)
	}
	var ver struct {
		Image    string `xml:"launchTemplateVersionSet>item>launchTemplateData>imageId"`
		UserData string `xml:"launchTemplateVersionSet>item>launchTemplateData>userData"`
	}
	if err := r.ec2.Do(ctx, "DescribeLaunchTemplateVersions", url.Values{"LaunchTemplateId": {lt.ID}}, &ver); err != nil {
		t.Fatal(err)
	}
	if ud, _ := base64.StdEncoding.DecodeString(ver.UserData); ver.Image != amiV2 || string(ud) != "#!/bin/sh\necho web v2\n" {
		t.Fatalf("v2's template boots %s with user data %q", ver.Image, ud)
	}

	if err := d.Retire(ctx, blue); err != nil {
		t.Fatal(err)
	}
	if g := r.group(t, "web-v1"); g != nil {
		t.Fatalf("after Retire web-v1 is %+v", g)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v1"); !awsec2.NotFound(err) {
		t.Fatalf("after Retire v1's template is %v, want not found", err)
	}
	if _, err := d.Observe(ctx, blue); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Observe of the retired v1 = %v, want ErrNotFound", err)
	}
	gs, err := r.driver(t).List(ctx, "web")
	if err != nil || len(gs) != 1 || !equalGroup(gs[0], want) {
		t.Fatalf("a restarted driver lists %+v %v, want only %+v", gs, err, want)
	}
}

func equalGroup(a, b provider.Group) bool {
	return a.App == b.App && a.Version == b.Version && a.Slot == b.Slot && a.Ref == b.Ref &&
		a.Backend.Kind == b.Backend.Kind && a.Backend.Ref == b.Backend.Ref && a.Backend.Version == b.Backend.Version
}

// TestASGUnknownAMIIsInvalid: moto launches instances of an AMI that does not exist and
// records no scaling activity, so the driver checks the AMI with DescribeImages first and
// refuses, naming it and in EC2's words, before it makes anything.
func TestASGUnknownAMIIsInvalid(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	_, err := r.driver(t).EnsureRelease(ctx, release("v9", provider.Green, "ami-0123456789abcdef0"), 2)
	if !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), "ami-0123456789abcdef0") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("EnsureRelease of an unknown AMI = %v, want ErrInvalid naming it", err)
	}
	if g := r.group(t, "web-v9"); g != nil {
		t.Fatalf("a refused release made group %+v", g)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v9"); !awsec2.NotFound(err) {
		t.Fatalf("a refused release made a template: %v", err)
	}
	if _, err := r.driver(t).EnsureRelease(ctx, release("v9", provider.Green, "registry/web:v9"), 2); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("EnsureRelease of a container image = %v, want ErrInvalid", err)
	}
}

// failingLaunches stands in for AWS where moto falls short: the group's instances never
// launch, and DescribeScalingActivities answers what AWS answers then (moto always
// answers no activities).
type failingLaunches struct {
	*autoscaling.Client
}

func (f failingLaunches) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, o ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	out, err := f.Client.DescribeAutoScalingGroups(ctx, in, o...)
	if err == nil {
		for i := range out.AutoScalingGroups {
			out.AutoScalingGroups[i].Instances = nil
		}
	}
	return out, err
}

func (f failingLaunches) DescribeScalingActivities(ctx context.Context, in *autoscaling.DescribeScalingActivitiesInput, o ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	failed := astypes.Activity{StatusCode: astypes.ScalingActivityStatusCodeFailed,
		Description:   aws.String("Launching a new EC2 instance.  Status Reason: The image id '[ami-0123456789abcdef0]' does not exist. Launching EC2 instance failed."),
		StatusMessage: aws.String("The image id '[ami-0123456789abcdef0]' does not exist. Launching EC2 instance failed.")}
	cancelled := astypes.Activity{StatusCode: astypes.ScalingActivityStatusCodeCancelled, Description: aws.String("Launching a new EC2 instance"),
		StatusMessage: aws.String("We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a).")}
	old := astypes.Activity{StatusCode: astypes.ScalingActivityStatusCodeFailed, Description: aws.String("Launching a new EC2 instance"), StatusMessage: aws.String("an old failure")}
	ok := astypes.Activity{StatusCode: astypes.ScalingActivityStatusCodeSuccessful, Description: aws.String("Launching a new EC2 instance: i-0123")}
	return &autoscaling.DescribeScalingActivitiesOutput{Activities: []astypes.Activity{failed, failed, cancelled, failed, ok, old}}, nil
}

// TestASGObserveReportsFailedLaunches: a group short of instances is not stable and
// reports its failed and cancelled launches since the last successful one, in AWS's words,
// each once.
func TestASGObserveReportsFailedLaunches(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	d := r.driverOver(t, failingLaunches{r.asg})
	ctx := awstest.Ctx(t)
	g, err := d.EnsureRelease(ctx, release("v1", provider.Green, amiV1), 2)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Observe(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Launching a new EC2 instance.  Status Reason: The image id '[ami-0123456789abcdef0]' does not exist. Launching EC2 instance failed. (3 times)",
		"Launching a new EC2 instance: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a).",
	}
	if st.Desired != 2 || st.Running != 0 || st.Stable || !slices.Equal(st.Failures, want) {
		t.Fatalf("Observe = %+v, want desired 2, none running, not stable, failures %q", st, want)
	}
}

// TestASGRefusesWhatIsNotOwned: a group or a template of a release's name without
// cutover's owner tag is refused with ErrNotOwned, and nothing is made or changed.
func TestASGRefusesWhatIsNotOwned(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	d := r.driver(t)
	theirs, err := r.ec2.CreateLaunchTemplate(ctx, awsec2.CreateLaunchTemplateInput{Name: "someone-else",
		Data: awsec2.LaunchTemplateData{ImageID: amiV1, InstanceType: "t3.micro", SecurityGroups: []string{r.sg}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-v1"),
		LaunchTemplate: ltSpec(theirs), MinSize: aws.Int32(0), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(1),
		VPCZoneIdentifier: aws.String(strings.Join(r.subnets, ",")),
		Tags:              []astypes.Tag{{Key: aws.String(TagApp), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	_, err = d.EnsureRelease(ctx, release("v1", provider.Blue, amiV1), 2)
	if !errors.Is(err, provider.ErrNotOwned) || !strings.Contains(err.Error(), "web-v1") {
		t.Fatalf("EnsureRelease over a foreign group = %v, want ErrNotOwned naming it", err)
	}
	foreign := provider.Group{App: "web", Version: "v1", Slot: provider.Blue, Ref: "web-v1"}
	if err := d.Scale(ctx, foreign, 3); !errors.Is(err, provider.ErrNotOwned) {
		t.Fatalf("Scale of a foreign group = %v, want ErrNotOwned", err)
	}
	if err := d.Retire(ctx, foreign); !errors.Is(err, provider.ErrNotOwned) {
		t.Fatalf("Retire of a foreign group = %v, want ErrNotOwned", err)
	}
	if g := r.group(t, "web-v1"); g == nil || aws.ToInt32(g.DesiredCapacity) != 1 || aws.ToString(g.LaunchTemplate.LaunchTemplateName) != "someone-else" {
		t.Fatalf("the foreign group was changed: %+v", g)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v1"); !awsec2.NotFound(err) {
		t.Fatalf("a refused release made a template: %v", err)
	}
	if gs, err := d.List(ctx, "web"); err != nil || len(gs) != 0 {
		t.Fatalf("List has %+v %v, want none of a foreign group", gs, err)
	}

	if _, err := r.ec2.CreateLaunchTemplate(ctx, awsec2.CreateLaunchTemplateInput{Name: "web-v2", Data: awsec2.LaunchTemplateData{ImageID: amiV1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.EnsureRelease(ctx, release("v2", provider.Green, amiV1), 1); !errors.Is(err, provider.ErrNotOwned) || !strings.Contains(err.Error(), "launch template web-v2") {
		t.Fatalf("EnsureRelease over a foreign template = %v, want ErrNotOwned naming it", err)
	}
	if g := r.group(t, "web-v2"); g != nil {
		t.Fatalf("a refused release made group %+v", g)
	}
}

// TestNewChecksConfig: a config the driver cannot run is refused before any call.
func TestNewChecksConfig(t *testing.T) {
	for _, c := range []Config{{}, {App: "web"}, {App: "web app", Subnets: []string{"subnet-1"}}, {App: "web", Subnets: []string{"subnet-1,subnet-2"}},
		{App: "web", Subnets: []string{"subnet-1"}, MaxSize: -1}} {
		if _, err := New(nil, nil, c); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	d, err := New(nil, nil, Config{App: "web", Subnets: []string{"subnet-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ count, max, want int }{{2, 0, 4}, {0, 0, 1}, {3, 5, 5}, {6, 5, 6}} {
		d.c.MaxSize = c.max
		if got := d.maxSize(c.count); got != c.want {
			t.Errorf("maxSize(%d) with MaxSize %d = %d, want %d", c.count, c.max, got, c.want)
		}
	}
	if err := d.check(release("1.0+b", provider.Blue, amiV1), 1); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("a version with + = %v, want ErrInvalid", err)
	}
}
