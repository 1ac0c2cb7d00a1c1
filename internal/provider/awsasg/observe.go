package awsasg

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/cutover/cutover/internal/provider"
)

// maxFailures bounds the reasons Observe reports.
const maxFailures = 5

// counts returns g's InService instances and, of those, the Healthy ones, skipping the
// instances in skip.
func counts(g *types.AutoScalingGroup, skip map[string]bool) (running, healthy int) {
	for _, in := range g.Instances {
		if skip[aws.ToString(in.InstanceId)] || in.LifecycleState != types.LifecycleStateInService {
			continue
		}
		running++
		if aws.ToString(in.HealthStatus) == "Healthy" {
			healthy++
		}
	}
	return running, healthy
}

// Observe reports g's desired count, its InService instances (Running) and those of them
// the group holds Healthy (with target groups, the ALB's health check decides, after the
// grace period). It is Stable when Healthy equals Desired. When it is not, Failures are
// the group's failed and cancelled scaling activities since its last successful launch,
// in AWS's words. A group that is gone, or being deleted, is ErrNotFound.
func (d *Driver) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	ag, err := d.describe(ctx, g.Ref, true)
	if err != nil {
		return provider.GroupStatus{}, err
	}
	if ag == nil {
		return provider.GroupStatus{}, fmt.Errorf("asg %s: group %s (%s): %w", d.c.App, g.Ref, g.Version, provider.ErrNotFound)
	}
	st := provider.GroupStatus{Desired: int(aws.ToInt32(ag.DesiredCapacity))}
	st.Running, st.Healthy = counts(ag, nil)
	st.Stable = st.Healthy == st.Desired
	if !st.Stable {
		if st.Failures, err = d.failures(ctx, g.Ref); err != nil {
			return st, err
		}
	}
	return st, nil
}

// failures returns why the group's recent scaling activities failed, newest first, up to
// the newest successful launch; a reason repeated (AWS retries a failing launch every few
// seconds) is reported once with its count.
func (d *Driver) failures(ctx context.Context, name string) ([]string, error) {
	out, err := d.api.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(name), MaxRecords: aws.Int32(50)})
	if err != nil {
		return nil, classify(ctx, "asg "+d.c.App+": DescribeScalingActivities "+name, err, false)
	}
	var reasons []string
	seen := map[string]int{}
	for _, a := range out.Activities {
		desc := aws.ToString(a.Description)
		if a.StatusCode == types.ScalingActivityStatusCodeSuccessful && strings.HasPrefix(desc, "Launching") {
			break
		}
		if a.StatusCode != types.ScalingActivityStatusCodeFailed && a.StatusCode != types.ScalingActivityStatusCodeCancelled {
			continue
		}
		r := reason(desc, aws.ToString(a.StatusMessage), string(a.StatusCode))
		if seen[r] == 0 {
			reasons = append(reasons, r)
		}
		seen[r]++
	}
	for i, r := range reasons {
		if n := seen[r]; n > 1 {
			reasons[i] = fmt.Sprintf("%s (%d times)", r, n)
		}
	}
	return reasons[:min(len(reasons), maxFailures)], nil
}

// reason joins an activity's description and status message, which AWS often repeats.
func reason(desc, msg, code string) string {
	desc, msg = strings.TrimSpace(desc), strings.TrimSpace(msg)
	switch {
	case msg == "" && desc == "":
		return "a scaling activity " + code
	case msg == "" || strings.Contains(desc, msg):
		return desc
	case desc == "":
		return msg
	}
	return desc + ": " + msg
}

// List returns app's groups, found by the tag cutover.app and carrying cutover's owner
// tag, with Version and Slot from their tags; groups being deleted are left out.
func (d *Driver) List(ctx context.Context, app string) ([]provider.Group, error) {
	in := &autoscaling.DescribeAutoScalingGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:" + TagApp), Values: []string{app}}}}
	var gs []provider.Group
	for p := autoscaling.NewDescribeAutoScalingGroupsPaginator(d.api, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(ctx, "asg "+app+": DescribeAutoScalingGroups tagged "+TagApp+"="+app, err, false)
		}
		for i := range out.AutoScalingGroups {
			ag := &out.AutoScalingGroups[i]
			tags := tagMap(ag)
			if tags[TagApp] != app || tags[TagOwner] != d.c.Owner || aws.ToString(ag.Status) == statusDeleting {
				continue
			}
			gs = append(gs, d.group(ag))
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Ref < gs[j].Ref })
	return gs, nil
}
