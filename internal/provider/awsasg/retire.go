package awsasg

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
)

// Retire scales g to 0 and deletes it with ForceDelete, then deletes its launch templates
// (the one it runs and <app>-<version>, when they are cutover's). A group or template that
// is gone, or a group already being deleted, is retired.
//
// ForceDelete terminates the instances without waiting for the scale-in to finish: a plain
// delete of a group with instances fails (ResourceInUse, ScalingActivityInProgress) until
// they are gone, which takes minutes. It is safe because the engine retires a group only
// after moving its traffic away and waiting out the target group's deregistration delay.
func (d *Driver) Retire(ctx context.Context, g provider.Group) error {
	templates := []string{d.name(g.Version)}
	ag, err := d.describe(ctx, g.Ref, false)
	if err != nil {
		return err
	}
	if ag != nil {
		if err := d.owned(ag); err != nil {
			return err
		}
		if lt := ag.LaunchTemplate; lt != nil && aws.ToString(lt.LaunchTemplateName) != "" && aws.ToString(lt.LaunchTemplateName) != templates[0] {
			templates = append(templates, aws.ToString(lt.LaunchTemplateName))
		}
		if aws.ToString(ag.Status) != statusDeleting {
			if err := d.deleteGroup(ctx, g.Ref, aws.ToInt32(ag.DesiredCapacity) > 0); err != nil {
				return err
			}
		}
	}
	for _, name := range templates {
		if err := d.deleteTemplate(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) deleteGroup(ctx context.Context, name string, scaleIn bool) error {
	if scaleIn {
		_, err := d.api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name),
			DesiredCapacity: aws.Int32(0), HonorCooldown: aws.Bool(false)})
		if err := classify(ctx, "asg "+d.c.App+": SetDesiredCapacity "+name+" to 0", err, true); err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	_, err := d.api.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), ForceDelete: aws.Bool(true)})
	if err := classify(ctx, "asg "+d.c.App+": DeleteAutoScalingGroup "+name, err, true); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	return nil
}

// deleteTemplate deletes the launch template called name when it is cutover's.
func (d *Driver) deleteTemplate(ctx context.Context, name string) error {
	lt, found, err := d.template(ctx, name)
	switch {
	case errors.Is(err, provider.ErrNotOwned):
		return nil // not ours to delete
	case err != nil:
		return err
	case !found:
		return nil
	}
	if err := d.ec2.DeleteLaunchTemplate(ctx, lt.ID); err != nil && !awsec2.NotFound(err) {
		return classify(ctx, fmt.Sprintf("asg %s: ec2 DeleteLaunchTemplate %s (%s)", d.c.App, name, lt.ID), err, true)
	}
	return nil
}
