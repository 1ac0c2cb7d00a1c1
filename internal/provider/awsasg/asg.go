// Package awsasg is provider.GroupDriver over EC2 Auto Scaling groups: each release runs
// as its own group <app>-<version>, launched from its own launch template <app>-<version>
// (the release's AMI, instance type, user data, security groups), registered in its slot's
// ALB target group. This is the "swap Auto Scaling groups" pattern: blue and green are two
// whole groups and the traffic provider moves weight between their target groups.
// ReplaceTemplate is the other pattern, a rolling change of one group's launch template.
//
// Everything it makes carries the tags cutover.app, cutover.version and cutover.owner (and
// the group cutover.slot); it refuses, changing nothing, a group or template of its name
// without the owner tag, and a restarted cutover finds its groups by those tags. Every
// create is find-before-create, because a create can fail after creating.
//
// It must not know deployments, the engine or the traffic provider; the Auto Scaling client
// and the EC2 client (internal/provider/awsec2) come from the caller.
package awsasg

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
)

// Tags cutover puts on the groups and templates it makes.
const (
	TagApp     = "cutover.app"
	TagVersion = "cutover.version"
	TagSlot    = "cutover.slot"
	TagOwner   = "cutover.owner"
)

// KindTargetGroup is the Backend kind of a group registered in a target group.
const KindTargetGroup = "alb-target-group"

// KindGroup is the Backend kind of a group without a target group (Ref is the group's name).
const KindGroup = "asg"

// API is the part of the Auto Scaling client the driver uses; *autoscaling.Client is one.
type API interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	CreateAutoScalingGroup(context.Context, *autoscaling.CreateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error)
	UpdateAutoScalingGroup(context.Context, *autoscaling.UpdateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	SetDesiredCapacity(context.Context, *autoscaling.SetDesiredCapacityInput, ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	DeleteAutoScalingGroup(context.Context, *autoscaling.DeleteAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.DeleteAutoScalingGroupOutput, error)
	DescribeScalingActivities(context.Context, *autoscaling.DescribeScalingActivitiesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
	TerminateInstanceInAutoScalingGroup(context.Context, *autoscaling.TerminateInstanceInAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
	CreateOrUpdateTags(context.Context, *autoscaling.CreateOrUpdateTagsInput, ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
}

// EC2 is the part of EC2 the driver uses; *awsec2.Client is one.
type EC2 interface {
	CreateLaunchTemplate(context.Context, awsec2.CreateLaunchTemplateInput) (awsec2.LaunchTemplate, error)
	DescribeLaunchTemplate(ctx context.Context, name string) (awsec2.LaunchTemplate, error)
	DeleteLaunchTemplate(ctx context.Context, id string) error
	DescribeImage(ctx context.Context, id string) (awsec2.Image, error)
}

var (
	_ API = (*autoscaling.Client)(nil)
	_ EC2 = (*awsec2.Client)(nil)
)

// Config is one app's groups.
type Config struct {
	App   string
	Owner string // the owner tag's value; empty is "cutover/<app>", as the ALB provider's
	// AMI returns the AMI ID release r boots; nil takes r.Image. The result is checked
	// with DescribeImages before a template is made of it.
	AMI          func(r provider.Release) string
	InstanceType string // empty is t3.micro
	// UserData is the instances' user data as text; $CUTOVER_APP and $CUTOVER_VERSION
	// (also as ${...}) are replaced per release. The driver base64-encodes it.
	UserData       string
	SecurityGroups []string
	// InstanceProfile is the instances' IAM instance profile (an ARN or a name); "" for
	// none. cutover's role then needs iam:PassRole on its role.
	InstanceProfile string
	Subnets         []string // the group's VPCZoneIdentifier; required
	// HealthCheckGracePeriod is how long a new instance may fail health checks before the
	// group replaces it; zero is 60 s.
	HealthCheckGracePeriod time.Duration
	// TargetGroup returns slot's target group ARN (the ALB provider's); a group then uses
	// the target group's health check (HealthCheckType ELB). Nil, or "", for none.
	TargetGroup func(slot provider.Slot) string
	// MaxSize is every group's MaxSize; zero is max(2*count, 1) at creation. Scale raises
	// it when asked for more.
	MaxSize int
	// RollTimeout is how long one batch of Replace may take to be InService and Healthy
	// (zero is 10 minutes), and RollPoll how often the group is read meanwhile (zero is 10 s).
	RollTimeout, RollPoll time.Duration
}

// Driver is the Auto Scaling group driver of one app.
type Driver struct {
	api API
	ec2 EC2
	c   Config
}

var _ provider.GroupDriver = (*Driver)(nil)

// nameRE is what a launch template name may be (3 to 128 of these); groups use the same.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// New returns the driver of c over api and ec2; it checks c and calls nothing.
func New(api API, ec2 EC2, c Config) (*Driver, error) {
	switch {
	case c.App == "" || !nameRE.MatchString(c.App+"-v"):
		return nil, fmt.Errorf("asg: app name %q must be letters, digits and ().-/_ : %w", c.App, provider.ErrInvalid)
	case len(c.Subnets) == 0:
		return nil, fmt.Errorf("asg %s: subnets are required (the groups' VPCZoneIdentifier): %w", c.App, provider.ErrInvalid)
	case c.MaxSize < 0:
		return nil, fmt.Errorf("asg %s: max size %d is negative: %w", c.App, c.MaxSize, provider.ErrInvalid)
	case c.HealthCheckGracePeriod < 0:
		return nil, fmt.Errorf("asg %s: health check grace %s is negative: %w", c.App, c.HealthCheckGracePeriod, provider.ErrInvalid)
	}
	for _, s := range c.Subnets {
		if strings.Contains(s, ",") || s == "" {
			return nil, fmt.Errorf("asg %s: subnet %q is not a subnet ID: %w", c.App, s, provider.ErrInvalid)
		}
	}
	if c.Owner == "" {
		c.Owner = "cutover/" + c.App
	}
	if c.InstanceType == "" {
		c.InstanceType = "t3.micro"
	}
	if c.HealthCheckGracePeriod == 0 {
		c.HealthCheckGracePeriod = 60 * time.Second
	}
	return &Driver{api: api, ec2: ec2, c: c}, nil
}

// name is the group's and the launch template's name of version.
func (d *Driver) name(version string) string { return d.c.App + "-" + version }

// targetGroup is slot's target group ARN, "" for none.
func (d *Driver) targetGroup(slot provider.Slot) string {
	if d.c.TargetGroup == nil {
		return ""
	}
	return d.c.TargetGroup(slot)
}

// maxSize is the MaxSize a group of count instances gets.
func (d *Driver) maxSize(count int) int {
	if d.c.MaxSize > 0 {
		return max(d.c.MaxSize, count)
	}
	return max(2*count, 1)
}

// userData is c.UserData for r.
func (d *Driver) userData(r provider.Release) string {
	return strings.NewReplacer("${CUTOVER_VERSION}", r.Version, "$CUTOVER_VERSION", r.Version,
		"${CUTOVER_APP}", r.App, "$CUTOVER_APP", r.App).Replace(d.c.UserData)
}

// ami is the AMI r boots.
func (d *Driver) ami(r provider.Release) string {
	if d.c.AMI != nil {
		return d.c.AMI(r)
	}
	return r.Image
}

// check says what is wrong with r at count, nil when the driver can run it.
func (d *Driver) check(r provider.Release, count int) error {
	switch {
	case r.App != d.c.App:
		return fmt.Errorf("asg %s: release of app %q: %w", d.c.App, r.App, provider.ErrInvalid)
	case !r.Slot.Valid() || count < 0:
		return fmt.Errorf("asg %s: release %s in slot %q at %d instances: %w", d.c.App, r.Version, r.Slot, count, provider.ErrInvalid)
	case r.Version == "" || !nameRE.MatchString(d.name(r.Version)):
		return fmt.Errorf("asg %s: version %q makes the name %q; group and launch template names are 3 to 128 letters, digits and ().-/_: %w",
			d.c.App, r.Version, d.name(r.Version), provider.ErrInvalid)
	case !strings.HasPrefix(d.ami(r), "ami-"):
		return fmt.Errorf("asg %s: release %s boots %q, not an AMI ID like ami-0a1b2c3d4e5f67890: %w", d.c.App, r.Version, d.ami(r), provider.ErrInvalid)
	}
	return nil
}
