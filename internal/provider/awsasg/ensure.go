package awsasg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
)

// statusDeleting is a group's Status while a forced delete terminates its instances.
const statusDeleting = "Delete in progress"

// describe returns the group called name, nil when there is none (or it is being deleted,
// when live is set).
func (d *Driver) describe(ctx context.Context, name string, live bool) (*types.AutoScalingGroup, error) {
	out, err := d.api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, classify(ctx, "asg "+d.c.App+": DescribeAutoScalingGroups "+name, err, false)
	}
	for i, g := range out.AutoScalingGroups {
		if aws.ToString(g.AutoScalingGroupName) == name && (!live || aws.ToString(g.Status) != statusDeleting) {
			return &out.AutoScalingGroups[i], nil
		}
	}
	return nil, nil
}

func tagMap(g *types.AutoScalingGroup) map[string]string {
	m := map[string]string{}
	for _, t := range g.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// notOwned is the refusal of what, owned by the holder of owner tag o.
func (d *Driver) notOwned(what, o string) error {
	if o == "" {
		o = "nobody (no " + TagOwner + " tag)"
	}
	return fmt.Errorf("asg %s: %s is owned by %s, not %s: %w; deploy another version, delete it, or tag it %s=%s to hand it to cutover",
		d.c.App, what, o, d.c.Owner, provider.ErrNotOwned, TagOwner, d.c.Owner)
}

// owned fails with ErrNotOwned unless g carries our owner tag.
func (d *Driver) owned(g *types.AutoScalingGroup) error {
	if o := tagMap(g)[TagOwner]; o != d.c.Owner {
		return d.notOwned("Auto Scaling group "+aws.ToString(g.AutoScalingGroupName), o)
	}
	return nil
}

// group is the provider's view of g.
func (d *Driver) group(g *types.AutoScalingGroup) provider.Group {
	tags := tagMap(g)
	out := provider.Group{App: d.c.App, Version: tags[TagVersion], Slot: provider.Slot(tags[TagSlot]), Ref: aws.ToString(g.AutoScalingGroupName)}
	tg := d.targetGroup(out.Slot)
	if len(g.TargetGroupARNs) > 0 {
		tg = g.TargetGroupARNs[0]
	}
	out.Backend = provider.Backend{Kind: KindTargetGroup, Ref: tg, Version: out.Version}
	if tg == "" {
		out.Backend = provider.Backend{Kind: KindGroup, Ref: out.Ref, Version: out.Version}
	}
	return out
}

// EnsureRelease finds or makes r's launch template and group, in this order after checking
// that neither exists without cutover's owner tag, and sets the group's desired count.
func (d *Driver) EnsureRelease(ctx context.Context, r provider.Release, count int) (provider.Group, error) {
	if err := d.check(r, count); err != nil {
		return provider.Group{}, err
	}
	name := d.name(r.Version)
	g, err := d.describe(ctx, name, false)
	if err != nil {
		return provider.Group{}, err
	}
	if g != nil {
		return d.adopt(ctx, g, count)
	}
	lt, _, err := d.ensureTemplate(ctx, r)
	if err != nil {
		return provider.Group{}, err
	}
	tg := d.targetGroup(r.Slot)
	in := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		LaunchTemplate:       ltSpec(lt),
		MinSize:              aws.Int32(0), MaxSize: aws.Int32(int32(d.maxSize(count))), DesiredCapacity: aws.Int32(int32(count)),
		VPCZoneIdentifier:      aws.String(strings.Join(d.c.Subnets, ",")),
		HealthCheckGracePeriod: aws.Int32(int32(d.c.HealthCheckGracePeriod.Seconds())),
		HealthCheckType:        aws.String("EC2"),
		Tags:                   d.groupTags(name, map[string]string{TagApp: d.c.App, TagVersion: r.Version, TagSlot: string(r.Slot), TagOwner: d.c.Owner}),
	}
	if tg != "" {
		in.TargetGroupARNs, in.HealthCheckType = []string{tg}, aws.String("ELB")
	}
	if _, err := d.api.CreateAutoScalingGroup(ctx, in); err != nil {
		// A create that failed after creating, or a concurrent one: adopt what is there.
		if g, derr := d.describe(ctx, name, false); derr == nil && g != nil {
			return d.adopt(ctx, g, count)
		}
		return provider.Group{}, classify(ctx, fmt.Sprintf("asg %s: CreateAutoScalingGroup %s at %d", d.c.App, name, count), err, true)
	}
	out := provider.Group{App: d.c.App, Version: r.Version, Slot: r.Slot, Ref: name,
		Backend: provider.Backend{Kind: KindTargetGroup, Ref: tg, Version: r.Version}}
	if tg == "" {
		out.Backend = provider.Backend{Kind: KindGroup, Ref: name, Version: r.Version}
	}
	return out, nil
}

// adopt returns the existing group g, ours, at count.
func (d *Driver) adopt(ctx context.Context, g *types.AutoScalingGroup, count int) (provider.Group, error) {
	if err := d.owned(g); err != nil {
		return provider.Group{}, err
	}
	if aws.ToString(g.Status) == statusDeleting {
		return provider.Group{}, fmt.Errorf("asg %s: group %s is being deleted: %w; deploy it again when it is gone",
			d.c.App, aws.ToString(g.AutoScalingGroupName), provider.ErrThrottled)
	}
	if int(aws.ToInt32(g.DesiredCapacity)) != count {
		if err := d.scale(ctx, g, count); err != nil {
			return provider.Group{}, err
		}
	}
	return d.group(g), nil
}

func (d *Driver) groupTags(name string, tags map[string]string) []types.Tag {
	var out []types.Tag
	for _, k := range []string{TagApp, TagVersion, TagSlot, TagOwner} {
		if v, ok := tags[k]; ok {
			out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(true),
				ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group")})
		}
	}
	return out
}

func ltSpec(lt awsec2.LaunchTemplate) *types.LaunchTemplateSpecification {
	v := "$Default"
	if lt.DefaultVersion > 0 {
		v = strconv.FormatInt(lt.DefaultVersion, 10)
	}
	return &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt.ID), Version: aws.String(v)}
}

// template returns the launch template called name, found false when there is none; it
// fails with ErrNotOwned when it is not ours.
func (d *Driver) template(ctx context.Context, name string) (lt awsec2.LaunchTemplate, found bool, err error) {
	lt, err = d.ec2.DescribeLaunchTemplate(ctx, name)
	switch {
	case awsec2.NotFound(err):
		return lt, false, nil
	case err != nil:
		return lt, false, classify(ctx, "asg "+d.c.App+": ec2 DescribeLaunchTemplates "+name, err, false)
	case lt.Tags[TagOwner] != d.c.Owner:
		return lt, true, d.notOwned("launch template "+name+" ("+lt.ID+")", lt.Tags[TagOwner])
	}
	return lt, true, nil
}

// ensureTemplate finds or makes r's launch template, checking r's AMI before it makes
// one; created says it made it.
func (d *Driver) ensureTemplate(ctx context.Context, r provider.Release) (lt awsec2.LaunchTemplate, created bool, err error) {
	name := d.name(r.Version)
	if lt, found, err := d.template(ctx, name); found || err != nil {
		return lt, false, err
	}
	ami := d.ami(r)
	im, err := d.ec2.DescribeImage(ctx, ami)
	var ae *awsec2.APIError
	switch {
	case awsec2.NotFound(err) && errors.As(err, &ae):
		return lt, false, fmt.Errorf("asg %s: release %s boots AMI %s, which does not exist or this account cannot launch (EC2 says %q): %w; deploy an AMI ID of this region that the account owns or is shared",
			d.c.App, r.Version, ami, ae.Message, provider.ErrInvalid)
	case err != nil:
		return lt, false, classify(ctx, "asg "+d.c.App+": ec2 DescribeImages "+ami, err, false)
	case im.State != "" && im.State != "available":
		return lt, false, fmt.Errorf("asg %s: release %s boots AMI %s, which is %s, not available: %w; wait for it or deploy another", d.c.App, r.Version, ami, im.State, provider.ErrInvalid)
	}
	in := awsec2.CreateLaunchTemplateInput{Name: name, Description: "cutover " + d.c.App + " " + r.Version, ClientToken: token(name),
		Data: awsec2.LaunchTemplateData{ImageID: ami, InstanceType: d.c.InstanceType, UserData: d.userData(r), SecurityGroups: d.c.SecurityGroups, InstanceProfile: d.c.InstanceProfile, IMDSv2: true},
		Tags: map[string]string{TagApp: d.c.App, TagVersion: r.Version, TagOwner: d.c.Owner}}
	if lt, err = d.ec2.CreateLaunchTemplate(ctx, in); err != nil {
		if lt, found, ferr := d.template(ctx, name); found || ferr != nil {
			return lt, found && ferr == nil, ferr // made by an earlier attempt, or someone else's
		}
		return lt, false, classify(ctx, "asg "+d.c.App+": ec2 CreateLaunchTemplate "+name, err, true)
	}
	return lt, true, nil
}

// token is an EC2 client token (at most 64 ASCII characters) for making name.
func token(name string) string {
	s := sha256.Sum256([]byte(name))
	return "cutover-" + hex.EncodeToString(s[:16])
}

// Scale sets g's desired count, raising its MaxSize first when count is above it.
func (d *Driver) Scale(ctx context.Context, g provider.Group, count int) error {
	if count < 0 {
		return fmt.Errorf("asg %s: scale %s to %d: %w", d.c.App, g.Ref, count, provider.ErrInvalid)
	}
	ag, err := d.describe(ctx, g.Ref, true)
	if err != nil {
		return err
	}
	if ag == nil {
		return fmt.Errorf("asg %s: scale group %s (%s): %w", d.c.App, g.Ref, g.Version, provider.ErrNotFound)
	}
	if err := d.owned(ag); err != nil {
		return err
	}
	return d.scale(ctx, ag, count)
}

func (d *Driver) scale(ctx context.Context, g *types.AutoScalingGroup, count int) error {
	name := aws.ToString(g.AutoScalingGroupName)
	if int32(count) > aws.ToInt32(g.MaxSize) {
		_, err := d.api.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), MaxSize: aws.Int32(int32(d.maxSize(count)))})
		if err != nil {
			return classify(ctx, fmt.Sprintf("asg %s: UpdateAutoScalingGroup %s to MaxSize %d", d.c.App, name, d.maxSize(count)), err, true)
		}
	}
	_, err := d.api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name),
		DesiredCapacity: aws.Int32(int32(count)), HonorCooldown: aws.Bool(false)})
	if err != nil {
		return classify(ctx, fmt.Sprintf("asg %s: SetDesiredCapacity %s to %d", d.c.App, name, count), err, true)
	}
	return nil
}
