package awsasg

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// fast polls without waiting: moto launches replacements within the terminate call.
func fast(batch int) Roll {
	return Roll{Batch: batch, Poll: time.Second, Timeout: 3 * time.Second, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
}

// TestReplaceTemplateRollsInBatches: a group of 3 on v1's template moves to v2's, two
// instances at a time; every instance is then new, the group is tagged v2 and v1's
// template is gone.
func TestReplaceTemplateRollsInBatches(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	d := r.driver(t)
	ctx := awstest.Ctx(t)
	g, err := d.EnsureRelease(ctx, release("v1", provider.Blue, amiV1), 3)
	if err != nil {
		t.Fatal(err)
	}
	before := instanceIDs(r.group(t, "web-v1"))
	g2, err := d.ReplaceTemplate(ctx, g, release("v2", "", amiV2), fast(2))
	if err != nil {
		t.Fatal(err)
	}
	if g2.Ref != "web-v1" || g2.Version != "v2" || g2.Slot != provider.Blue || g2.Backend.Version != "v2" || g2.Backend.Ref != r.tg[provider.Blue] {
		t.Fatalf("ReplaceTemplate returned %+v", g2)
	}
	ag := r.group(t, "web-v1")
	after := instanceIDs(ag)
	if len(after) != 3 || slices.ContainsFunc(after, func(id string) bool { return slices.Contains(before, id) }) {
		t.Fatalf("instances %v after the roll, want 3 new ones (before %v)", after, before)
	}
	if n := aws.ToString(ag.LaunchTemplate.LaunchTemplateName); n != "web-v2" || tagMap(ag)[TagVersion] != "v2" {
		t.Fatalf("the group runs %s tagged %v, want web-v2 and v2", n, tagMap(ag))
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v1"); !awsec2.NotFound(err) {
		t.Fatalf("v1's template after the roll: %v, want not found", err)
	}
	if gs, err := r.driver(t).List(ctx, "web"); err != nil || len(gs) != 1 || gs[0].Ref != "web-v1" || gs[0].Version != "v2" {
		t.Fatalf("List after the roll = %+v %v, want web-v1 at v2", gs, err)
	}
	if err := d.Retire(ctx, g2); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v2"); !awsec2.NotFound(err) || r.group(t, "web-v1") != nil {
		t.Fatalf("after Retire of the rolled group its template is %v and the group %+v", err, r.group(t, "web-v1"))
	}
}

// sickTemplate stands in for a release whose instances never pass health checks, which
// moto cannot show (it holds every instance Healthy): instances that appear while the
// group runs the template named sick are reported Unhealthy.
type sickTemplate struct {
	*autoscaling.Client
	sick string

	mu    sync.Mutex
	seen  map[string]bool
	known bool
	bad   map[string]bool
}

func (s *sickTemplate) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, o ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	out, err := s.Client.DescribeAutoScalingGroups(ctx, in, o...)
	if err != nil {
		return out, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range out.AutoScalingGroups {
		onSick := g.LaunchTemplate != nil && aws.ToString(g.LaunchTemplate.LaunchTemplateName) == s.sick
		for i := range g.Instances {
			id := aws.ToString(g.Instances[i].InstanceId)
			if !s.seen[id] && s.known && onSick {
				s.bad[id] = true
			}
			s.seen[id] = true
			if s.bad[id] {
				g.Instances[i].HealthStatus = aws.String("Unhealthy")
			}
		}
	}
	s.known = true
	return out, nil
}

// TestReplaceTemplateRollsBack: when the new template's instances do not become healthy
// the group goes back to its template, the unhealthy instances are replaced from it, and
// the template made for the roll is deleted.
func TestReplaceTemplateRollsBack(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	api := &sickTemplate{Client: r.asg, sick: "web-v3", seen: map[string]bool{}, bad: map[string]bool{}}
	d := r.driverOver(t, api)
	ctx := awstest.Ctx(t)
	g, err := d.EnsureRelease(ctx, release("v1", provider.Blue, amiV1), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Observe(ctx, g); err != nil { // the sick wrapper learns the healthy instances
		t.Fatal(err)
	}
	_, err = d.ReplaceTemplate(ctx, g, release("v3", provider.Blue, amiV2), fast(1))
	if err == nil || !strings.Contains(err.Error(), "rolled web-v1 back to web-v1") || !strings.Contains(err.Error(), "1 of 2 instances InService and Healthy") {
		t.Fatalf("ReplaceTemplate to a sick template = %v, want a roll back after 1 of 2 healthy", err)
	}
	t.Logf("ReplaceTemplate: %v", err)
	ag := r.group(t, "web-v1")
	if n := aws.ToString(ag.LaunchTemplate.LaunchTemplateName); n != "web-v1" || tagMap(ag)[TagVersion] != "v1" {
		t.Fatalf("after the roll back the group runs %s tagged %v, want web-v1 and v1", n, tagMap(ag))
	}
	st, err := d.Observe(ctx, g)
	if err != nil || st.Desired != 2 || st.Healthy != 2 || !st.Stable {
		t.Fatalf("after the roll back the group observes %+v %v, want 2 healthy", st, err)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v3"); !awsec2.NotFound(err) {
		t.Fatalf("the roll's template after the roll back: %v, want deleted", err)
	}
	if _, err := r.ec2.DescribeLaunchTemplate(ctx, "web-v1"); err != nil {
		t.Fatalf("v1's template after the roll back: %v", err)
	}
}
