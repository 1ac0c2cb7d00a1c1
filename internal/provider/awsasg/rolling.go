package awsasg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/cutover/cutover/internal/provider"
)

// Roll says how ReplaceTemplate replaces a group's instances.
type Roll struct {
	Batch int // instances terminated at a time; 0 is 1
	// Timeout is how long one batch's replacements may take to be InService and Healthy;
	// 0 is 10 minutes. Past it the change is rolled back.
	Timeout time.Duration
	Poll    time.Duration                                    // between reads of the group; 0 is 10 s
	Sleep   func(ctx context.Context, d time.Duration) error // nil waits on a timer
}

func (r *Roll) defaults() {
	if r.Batch < 1 {
		r.Batch = 1
	}
	if r.Timeout <= 0 {
		r.Timeout = 10 * time.Minute
	}
	if r.Poll <= 0 {
		r.Poll = 10 * time.Second
	}
	if r.Sleep == nil {
		r.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
}

// ReplaceTemplate changes the existing group g in place to r's launch template (made as
// EnsureRelease makes it), the mixed-fleet pattern: it points the group at the new
// template, then terminates the instances it had, roll.Batch at a time without lowering the
// desired count, and waits after each batch until the group again has its desired count
// of InService, Healthy instances. When a batch does not get there within roll.Timeout it
// points the group back at the old template, replaces the instances launched so far the
// same way, deletes r's template if it made it, and returns the failure (a repeated call
// that finds the group on r's template already cannot roll back: it returns it). On success the group's cutover.version tag is
// r.Version, the old template is deleted, and the returned group is g at r.Version.
//
// It tells old instances from new by the instance IDs the group had before the change,
// not by each instance's reported launch template: moto reports every instance on the
// group's current template. So a call interrupted midway and repeated replaces, on AWS,
// the instances still on another template and, on moto, none.
func (d *Driver) ReplaceTemplate(ctx context.Context, g provider.Group, r provider.Release, roll Roll) (provider.Group, error) {
	roll.defaults()
	if r.Slot == "" {
		r.Slot = g.Slot
	}
	if err := d.check(r, 0); err != nil {
		return g, err
	}
	ag, err := d.describe(ctx, g.Ref, true)
	if err != nil {
		return g, err
	}
	if ag == nil {
		return g, fmt.Errorf("asg %s: replace the template of group %s: %w", d.c.App, g.Ref, provider.ErrNotFound)
	}
	if err := d.owned(ag); err != nil {
		return g, err
	}
	to, created, err := d.ensureTemplate(ctx, r)
	if err != nil {
		return g, err
	}
	from := ag.LaunchTemplate
	fresh := from == nil || aws.ToString(from.LaunchTemplateId) != to.ID
	var old []string
	for _, in := range ag.Instances {
		if fresh || in.LaunchTemplate == nil || aws.ToString(in.LaunchTemplate.LaunchTemplateId) != to.ID {
			old = append(old, aws.ToString(in.InstanceId))
		}
	}
	if fresh {
		if err := d.setTemplate(ctx, g.Ref, ltSpec(to)); err != nil {
			return g, err
		}
	}
	if err := d.replace(ctx, g.Ref, old, roll); err != nil {
		if !fresh || from == nil {
			return g, err
		}
		back, err := d.rollBack(ctx, g.Ref, from, old, roll, err)
		if back && created { // nothing runs it now; a template another group may run is kept
			err = errors.Join(err, d.deleteTemplate(ctx, to.Name))
		}
		return g, err
	}
	_, err = d.api.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: d.groupTags(g.Ref, map[string]string{TagVersion: r.Version})})
	if err != nil {
		return g, classify(ctx, fmt.Sprintf("asg %s: CreateOrUpdateTags %s %s=%s", d.c.App, g.Ref, TagVersion, r.Version), err, true)
	}
	if fresh && from != nil && aws.ToString(from.LaunchTemplateName) != "" {
		if err := d.deleteTemplate(ctx, aws.ToString(from.LaunchTemplateName)); err != nil {
			return g, err
		}
	}
	g.Version, g.Backend.Version = r.Version, r.Version
	return g, nil
}

// rollBack points group name back at from and replaces the instances launched since the
// change (those not in old); cause is why. back says the group runs from again.
func (d *Driver) rollBack(ctx context.Context, name string, from *types.LaunchTemplateSpecification, old []string, roll Roll, cause error) (back bool, err error) {
	was := fmt.Sprintf("%s version %s", aws.ToString(from.LaunchTemplateName), aws.ToString(from.Version))
	if err := d.setTemplate(ctx, name, from); err != nil {
		return false, errors.Join(cause, fmt.Errorf("roll %s back to %s: %w", name, was, err))
	}
	ag, err := d.describe(ctx, name, true)
	if err != nil || ag == nil {
		return true, errors.Join(cause, fmt.Errorf("roll %s back to %s: read the group: %v", name, was, err))
	}
	before := map[string]bool{}
	for _, id := range old {
		before[id] = true
	}
	var launched []string // the new template's: not serving, or there would be no roll back
	for _, in := range ag.Instances {
		if id := aws.ToString(in.InstanceId); !before[id] {
			launched = append(launched, id)
		}
	}
	if err := d.replace(ctx, name, launched, roll); err != nil {
		return true, errors.Join(cause, fmt.Errorf("roll %s back to %s: %w", name, was, err))
	}
	return true, fmt.Errorf("%w; rolled %s back to %s", cause, name, was)
}

func (d *Driver) setTemplate(ctx context.Context, name string, lt *types.LaunchTemplateSpecification) error {
	spec := &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplateId, Version: lt.Version}
	_, err := d.api.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), LaunchTemplate: spec})
	return classify(ctx, fmt.Sprintf("asg %s: UpdateAutoScalingGroup %s to launch template %s", d.c.App, name, aws.ToString(lt.LaunchTemplateId)), err, true)
}

// replace terminates ids in group name, roll.Batch at a time, waiting after each batch
// for the group to hold its desired count of InService, Healthy instances that are not
// among those terminated.
func (d *Driver) replace(ctx context.Context, name string, ids []string, roll Roll) error {
	skip := map[string]bool{}
	for i := 0; i < len(ids); i += roll.Batch {
		batch := ids[i:min(i+roll.Batch, len(ids))]
		for _, id := range batch {
			_, err := d.api.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(false)})
			if err := classify(ctx, fmt.Sprintf("asg %s: TerminateInstanceInAutoScalingGroup %s of %s", d.c.App, id, name), err, true); err != nil && !errors.Is(err, provider.ErrNotFound) {
				return err
			}
			skip[id] = true
		}
		if err := d.await(ctx, name, skip, roll, fmt.Sprintf("replacing %d of %d instances", i+len(batch), len(ids))); err != nil {
			return err
		}
	}
	return nil
}

// await polls group name until it holds its desired count of InService, Healthy
// instances outside skip, for at most roll.Timeout.
func (d *Driver) await(ctx context.Context, name string, skip map[string]bool, roll Roll, doing string) error {
	for waited := time.Duration(0); ; waited += roll.Poll {
		ag, err := d.describe(ctx, name, true)
		if err != nil {
			return err
		}
		if ag == nil {
			return fmt.Errorf("asg %s: group %s went away while %s: %w", d.c.App, name, doing, provider.ErrNotFound)
		}
		want := int(aws.ToInt32(ag.DesiredCapacity))
		_, healthy := counts(ag, skip)
		if healthy >= want {
			return nil
		}
		if waited >= roll.Timeout {
			err := fmt.Errorf("asg %s: group %s has %d of %d instances InService and Healthy %s after %s",
				d.c.App, name, healthy, want, doing, roll.Timeout)
			if why, _ := d.failures(ctx, name); len(why) > 0 {
				err = fmt.Errorf("%w; AWS reports: %s", err, strings.Join(why, "; "))
			}
			return err
		}
		if err := roll.Sleep(ctx, roll.Poll); err != nil {
			return fmt.Errorf("asg %s: group %s %s: %w", d.c.App, name, doing, err)
		}
	}
}

// Replace is provider.Replacer: ReplaceTemplate with batch instances at a time, each batch
// given Config.RollTimeout and read every Config.RollPoll.
func (d *Driver) Replace(ctx context.Context, g provider.Group, r provider.Release, batch int) (provider.Group, error) {
	return d.ReplaceTemplate(ctx, g, r, Roll{Batch: batch, Timeout: d.c.RollTimeout, Poll: d.c.RollPoll})
}

var _ provider.Replacer = (*Driver)(nil)
